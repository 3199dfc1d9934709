"""A person's conversations in the web app: which ones they may open, the list of their earlier
chats, and each turn recorded so that a reload, another tab or another replica draws it again.

The server side of the Chat page's "New chat", list of earlier chats and ``?c=<id>`` address,
kept apart from Streamlit (nothing here imports it) like :mod:`lamworks.ui.services`:

- :func:`open_conversation`: the turns of a conversation the person owns; another person's is
  refused as if empty and audited (``session.refused``, as the HTTP API does);
- :func:`earlier_conversations`: their chats active within the retention period, newest first,
  each with a short title and its last activity in the institution's time zone;
- :func:`record_turn`: one turn appended to the transcript, older turns deleted after
  ``[limits] conversation_days``.

The transcript lives in the session store (:class:`~lamworks.sessions.SessionStore`), the
runtime's database: SQLite or PostgreSQL, shared by every replica. It may hold personal data, so
nothing here logs a request, an answer or a title.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lamworks.access import role_of
from lamworks.errors import LamworksError

if TYPE_CHECKING:
    from lamworks import Turn
    from lamworks.runtime import Runtime

__all__ = [
    "EarlierChat",
    "TITLE_CHARS",
    "earlier_conversations",
    "is_conversation_id",
    "new_conversation_id",
    "open_conversation",
    "record_turn",
    "retention_seconds",
    "short_title",
]

log = logging.getLogger("lamworks.ui")

TITLE_CHARS = 40
"""The most characters of a first request a list of chats shows as its title."""

_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # the HTTP API's session ids


@dataclass(frozen=True)
class EarlierChat:
    """One line of the list of earlier chats."""

    id: str
    """The conversation (session) id, as in ``?c=<id>``."""
    title: str
    """Its first request, shortened to :data:`TITLE_CHARS`."""
    last_activity: datetime
    """When its last turn was recorded, in the institution's time zone."""

    @property
    def when(self) -> str:
        """The last activity as people read it, with the zone named: "Thu 3 Dec, 14:05 CST"."""
        t = self.last_activity
        return f"{t:%a} {t.day} {t:%b}, {t:%H:%M %Z}"


def new_conversation_id() -> str:
    """A fresh conversation id for a browser tab (random: one person cannot guess another's)."""
    return f"web-{uuid.uuid4().hex[:12]}"


def is_conversation_id(text: str) -> bool:
    """Whether ``text`` has the shape of a conversation id (what an address may carry)."""
    return bool(_ID.match(text))


def retention_seconds(rt: Runtime) -> float:
    """``[limits] conversation_days`` in seconds: how long a recorded turn is kept."""
    return rt.config.limits.conversation_days * 86_400


def short_title(text: str, limit: int = TITLE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters with "…"."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line or "(no request)"
    cut = line[:limit - 1].rsplit(" ", 1)[0] if " " in line[:limit - 1] else line[:limit - 1]
    return cut.rstrip(" ,.;:") + "…"


def open_conversation(rt: Runtime, user: str, conversation_id: str) -> list[Turn] | None:
    """The recorded turns of ``conversation_id`` for ``user`` (empty for a new or unknown
    one), or ``None`` when it is not theirs to open: another user's conversation or a malformed
    id. A refusal is an audit row (``session.refused``, ``via: web``) before it is shown, with the
    id and never the conversation's content."""
    if not is_conversation_id(conversation_id):
        _audit_refusal(rt, user, conversation_id[:128], "not a conversation id")
        return None
    owner = rt.sessions.owner(conversation_id)
    if owner is not None and owner != user:
        _audit_refusal(rt, user, conversation_id, "another user's conversation")
        return None
    return rt.sessions.transcript(conversation_id, user, since=time.time() - retention_seconds(rt))


def _audit_refusal(rt: Runtime, user: str, conversation_id: str, reason: str) -> None:
    rt.audit.append(actor=user, role=role_of(rt, user), session_id=conversation_id,
                    event="session.refused", outcome="denied",
                    detail={"via": "web", "reason": reason})


def earlier_conversations(rt: Runtime, user: str, *, limit: int = 30) -> list[EarlierChat]:
    """``user``'s conversations with a turn in the retention period, most recently active
    first (at most ``limit``), titled by their first request."""
    zone = ZoneInfo(rt.config.institution.timezone)
    since = time.time() - retention_seconds(rt)
    return [EarlierChat(id=c.id, title=short_title(c.title),
                        last_activity=datetime.fromtimestamp(c.updated, zone))
            for c in rt.sessions.conversations(user, since=since, limit=limit)]


def record_turn(rt: Runtime, user: str, turn: Turn) -> bool:
    """Append ``turn`` to its conversation's transcript (and delete turns older than the
    retention period); False, with a warning that names the conversation but none of its
    words, when it could not be stored (the person still sees it in this tab)."""
    try:
        rt.sessions.record_turn(turn.session_id, user, turn, keep_seconds=retention_seconds(rt))
    except LamworksError as exc:  # a busy or unreachable store; another user's conversation
        log.warning("turn of conversation %s not recorded: %s", turn.session_id,
                    type(exc).__name__)
        return False
    return True
