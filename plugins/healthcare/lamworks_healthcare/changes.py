"""A planned FHIR change: the transaction entries a write tool will commit, and its preview.

Write tools work in two phases so a person can approve exactly what will be written:
``prepare`` (read the store, decide, build :class:`Change`) and :func:`commit` (one
all-or-nothing transaction). The ``preview_fhir_change`` policy runs ``prepare`` before the
step and puts :meth:`Change.preview` into its confirmation; the tool runs ``prepare`` again and
commits, so a slot taken in between fails cleanly instead of half-booking.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lamworks import ActionContext, ActionResult, Ref, ToolError

from .errors import FHIRStoreError, InvalidResource, ResourceNotFound, ServerError, VersionConflict
from .store import BundleEntry, FHIRStore

__all__ = ["Change", "commit", "fhir_errors", "new_id", "store_of"]

_SKIP = frozenset({"meta", "text"})


@dataclass
class Change:
    """What a write tool is about to do, before it does it."""

    action: str
    """One line for people: "Book Dr. Lena Lee on Tue 01 Dec 2026 14:00"."""
    entries: list[BundleEntry]
    before: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Current versions of the resources the entries update, keyed ``Type/id``."""
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)

    def preview(self) -> str:
        """The FHIR change in words: each entry, and for updates which elements change."""
        lines = [self.action, "FHIR change (one all-or-nothing transaction):"]
        for entry in self.entries:
            old = self.before.get(entry.url)
            condition = f" [If-Match W/\"{entry.if_match}\"]" if entry.if_match else ""
            if entry.if_none_exist:
                condition = f" [If-None-Exist {entry.if_none_exist}]"
            if entry.resource is None:
                lines.append(f"- {entry.method} {entry.url}{condition}")
                continue
            verb = "update" if old else "create"
            lines.append(f"- {entry.method} {entry.url} ({verb}){condition}: "
                         + _describe(entry.resource, old))
        return "\n".join(lines)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(new: dict[str, Any], old: dict[str, Any] | None) -> str:
    if old is None:
        keys = [k for k in new if k not in _SKIP and k not in ("resourceType", "id")]
        return "; ".join(f"{k}={_short(new[k])}" for k in keys)
    changed = [k for k in sorted(set(new) | set(old)) if k not in _SKIP
               and new.get(k) != old.get(k)]
    if not changed:
        return "no element changes"
    return "; ".join(f"{k}: {_short(old.get(k, '(none)'))} -> {_short(new.get(k, '(none)'))}"
                     for k in changed)


def store_of(ctx: ActionContext, tool: str) -> FHIRStore:
    store = ctx.services.get("fhir")
    if store is None:
        raise ToolError(tool, "The clinic's records are not available right now.")
    return store  # type: ignore[no-any-return]


@contextmanager
def fhir_errors(tool: str, *, conflict: str | None = None) -> Iterator[None]:
    """Turn store errors into ToolErrors with messages for end users."""
    try:
        yield
    except VersionConflict:
        raise ToolError(tool, conflict or "The record was changed by someone else meanwhile; "
                                          "nothing was changed. Please try again.") from None
    except ResourceNotFound as exc:
        raise ToolError(tool, f"A record this needs was not found ({exc}).") from None
    except InvalidResource as exc:
        raise ToolError(tool, f"The change was not valid FHIR, so nothing was written: {exc}"
                        ) from None
    except ServerError as exc:
        raise ToolError(tool, str(exc)) from None
    except FHIRStoreError as exc:
        raise ToolError(tool, f"The clinic's records could not be updated: {exc}") from None


def new_id(prefix: str, ctx: ActionContext) -> str:
    """A resource id derived from the step's idempotency key: a retry writes the same id."""
    seed = ctx.idempotency_key or f"{ctx.session_id}:{ctx.step_id}:{id(ctx)}"
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:20]}"


def commit(ctx: ActionContext, tool: str, change: Change, *,
           conflict: str | None = None) -> ActionResult:
    """Write the change in one transaction; on any error nothing is written."""
    store = store_of(ctx, tool)
    with fhir_errors(tool, conflict=conflict):
        written = store.transaction(change.entries)
    from .name_index import note_written

    note_written(store, change.entries, written)
    data = dict(change.data)
    data.setdefault("written", [f"{r['resourceType']}/{r['id']}" for r in written if r])
    return ActionResult(summary=change.summary, data=data, refs=change.refs)


Preparer = Callable[..., Change]
