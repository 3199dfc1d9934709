"""A test hook: kill this process with SIGKILL at a named point of an action.

The crash harness (``bench/crash.py``, ``tests/test_crash.py``) starts a runtime process with
``LAMWORKS_CRASH_AT=<point>:<n>``; the *n*-th time that process reaches ``<point>`` it sends
itself SIGKILL — no ``finally``, no ``atexit``, no flush: what a power cut or the OOM killer
does — and the harness checks what a restart makes of the data folder. Without the variable
(every real deployment) :func:`crash_point` is one comparison with ``None``.

The points, in the order one action reaches them:

``before_journal``, ``after_journal``
    around the executor's ``pending`` journal row;
``mid_transaction``
    inside a store's write transaction, after its first write and before its commit (the
    embedded FHIR store, the education store);
``after_commit``
    just after such a commit;
``before_complete``
    in the executor, after the tool returned and before the journal row is completed;
``before_audit``, ``after_audit``
    around the step's audit row.

A plugin's store calls :func:`crash_point` at its own transaction points, as the built-in ones
do; nothing else should.
"""

from __future__ import annotations

import os
import signal

__all__ = ["POINTS", "crash_point"]

POINTS = ("before_journal", "after_journal", "mid_transaction", "after_commit",
          "before_complete", "before_audit", "after_audit")


def _target() -> tuple[str, int] | None:
    raw = os.environ.get("LAMWORKS_CRASH_AT", "").strip()
    if not raw:
        return None
    point, _, count = raw.partition(":")
    if point not in POINTS:
        raise ValueError(f"LAMWORKS_CRASH_AT: unknown point {point!r} (known: "
                         f"{', '.join(POINTS)})")
    return point, int(count or "1")


_TARGET = _target()
_SEEN: dict[str, int] = {}


def crash_point(name: str) -> None:
    """SIGKILL this process if ``LAMWORKS_CRASH_AT`` names this point and this is its n-th
    visit; otherwise do nothing."""
    if _TARGET is None or _TARGET[0] != name:
        return
    _SEEN[name] = _SEEN.get(name, 0) + 1
    if _SEEN[name] >= _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
