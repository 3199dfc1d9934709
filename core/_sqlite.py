"""One way to open the runtime's SQLite files: WAL, ``synchronous=FULL``, a busy timeout.

``synchronous=FULL`` in WAL mode fsyncs the log at every commit, so a committed row survives a
power cut or a SIGKILL; that is what the journal's "written before the side effect" relies on.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["connect"]


def connect(path: Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """Open (creating folders as needed) a SQLite file for the runtime's stores."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
