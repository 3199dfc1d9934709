"""A sample plugin for planner tests: contacts and meetings in a real SQLite file.

``schedule_meeting`` needs a ``Contact`` reference that ``add_contact`` and ``find_contact``
produce, so "add Ana Ruiz and schedule a meeting with her on Friday" becomes a two-step plan.
``add_contact`` stamps the step's idempotency key on its row and can undo it by that key
(``compensate=``), so such a plan is all-or-nothing: no confirmation is asked for that.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, time
from typing import Annotated, Literal

from pydantic import Field

from lamworks import ActionContext, ActionResult, Change, Ref, Tool, hookimpl, ref, tool


def _db(ctx: ActionContext) -> sqlite3.Connection:
    conn = sqlite3.connect(ctx.data_dir / "agenda.db", isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY, name TEXT, "
                 "email TEXT, key TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS meetings (id INTEGER PRIMARY KEY, contact INTEGER, "
                 "day TEXT, part TEXT, at TEXT, topic TEXT)")
    return conn


def remove_contact(ctx: ActionContext, change: Change | None, key: str) -> ActionResult:
    """Undo ``add_contact`` (a later step of its plan could not run): its row goes."""
    removed = _db(ctx).execute("DELETE FROM contacts WHERE key = ?", (key,)).rowcount
    return ActionResult(summary=f"Removed {removed} contact(s).")


@tool(risk="write", produces="Contact", compensate=remove_contact, examples=[
    "add a new contact", "create a contact for Maria Lopez", "save Tom Baker as a contact",
    "put Jane Doe in my address book"])
def add_contact(ctx: ActionContext, full_name: str, email: str = "") -> ActionResult:
    """Add a person to the address book.

    Args:
        full_name: The person's full name.
        email: Their e-mail address, if known.
    """
    conn = _db(ctx)
    cursor = conn.execute("INSERT INTO contacts (name, email, key) VALUES (?, ?, ?)",
                          (full_name, email, ctx.idempotency_key))
    contact = str(cursor.lastrowid)
    return ActionResult(summary=f"Added {full_name}.", data={"id": contact, "name": full_name},
                        refs=[Ref(type="Contact", id=contact, display=full_name)])


@tool(produces="Contact", examples=[
    "find the contact Maria Lopez", "look up Tom Baker in my contacts",
    "search my address book for Jane"])
def find_contact(ctx: ActionContext, full_name: str) -> ActionResult:
    """Find a person in the address book.

    Args:
        full_name: The person's full name.
    """
    row = _db(ctx).execute("SELECT id, name FROM contacts WHERE name = ?",
                           (full_name,)).fetchone()
    if row is None:
        return ActionResult(summary=f"No contact named {full_name}.")
    return ActionResult(summary=f"Found {row[1]}.", data={"id": str(row[0])},
                        refs=[Ref(type="Contact", id=str(row[0]), display=row[1])])


@tool(risk="write", consumes=["Contact"], produces="Meeting", examples=[
    "schedule a meeting with Maria next Monday", "set up a meeting with Tom on Friday morning",
    "book a catch-up with Jane tomorrow afternoon", "meet with her on Thursday"])
def schedule_meeting(
    ctx: ActionContext,
    contact_id: Annotated[str, ref("Contact", "the person to meet")],
    day: date,
    part_of_day: Literal["morning", "afternoon", "evening"] = "morning",
    start: time | None = None,
    attendees: Annotated[int, Field(ge=1, le=20)] = 2,
    topic: str = "",
) -> ActionResult:
    """Schedule a meeting with a contact.

    Args:
        day: The day of the meeting.
        part_of_day: Morning, afternoon or evening.
        start: The start time, if one was given.
        attendees: How many people will attend.
        topic: What the meeting is about.
    """
    cursor = _db(ctx).execute(
        "INSERT INTO meetings (contact, day, part, at, topic) VALUES (?, ?, ?, ?, ?)",
        (contact_id, day.isoformat(), part_of_day, start.isoformat() if start else None, topic))
    meeting = str(cursor.lastrowid)
    return ActionResult(summary=f"Meeting {meeting} on {day} ({part_of_day}).",
                        data={"id": meeting, "contact": contact_id, "day": day.isoformat()},
                        refs=[Ref(type="Meeting", id=meeting)])


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(add_contact)
    register(find_contact)
    register(schedule_meeting)
