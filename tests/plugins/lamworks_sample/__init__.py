"""A sample third-party plugin: a notes tool that writes to a real SQLite file, and a policy."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import typer
from pydantic import BaseModel

from lamworks import (
    ActionContext,
    ActionResult,
    AuditFormat,
    CommandGroup,
    Decision,
    Policy,
    PolicyContext,
    Ref,
    Step,
    Tool,
    confirm,
    deny,
    hookimpl,
    policy,
    redact,
    tool,
)

__version__ = "1.2.3"


class SampleSettings(BaseModel):
    max_note_length: int = 200


@tool(risk="write", scopes=["user/Note.c"], examples=["add a note", "write down a note"],
      produces="Note")
def add_note(ctx: ActionContext, text: str, author_email: str = "") -> ActionResult:
    """Add a note to the notebook.

    Args:
        text: The text of the note.
        author_email: Who wrote it, if known.
    """
    assert isinstance(ctx.settings, SampleSettings)
    if len(text) > ctx.settings.max_note_length:
        from lamworks import ToolError

        raise ToolError("sample.add_note", "The note is too long.", field="text")
    db = sqlite3.connect(ctx.data_dir / "notes.db")
    with db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT, "
                   "author TEXT, user TEXT)")
        cursor = db.execute("INSERT INTO notes (text, author, user) VALUES (?, ?, ?)",
                            (text, author_email, ctx.user))
    db.close()
    note_id = str(cursor.lastrowid)
    return ActionResult(summary=f"Noted ({note_id}): {text}",
                        audit_summary=f"Noted ({note_id}).",
                        data={"id": note_id, "text": text, "author_email": author_email},
                        refs=[Ref(type="Note", id=note_id)])


@tool(scopes=["user/Note.rs"], examples=["count my notes", "how many notes are there"])
def count_notes(ctx: ActionContext) -> ActionResult:
    """Count the notes in the notebook."""
    path = ctx.data_dir / "notes.db"
    if not path.exists():
        return ActionResult(summary="There are 0 notes.", data={"count": 0})
    db = sqlite3.connect(path)
    (count,) = db.execute("SELECT COUNT(*) FROM notes").fetchone()
    db.close()
    return ActionResult(summary=f"There are {count} notes.", data={"count": count})


@policy(stage="pre", tools="add_note")
def no_secret_notes(step: Step, ctx: PolicyContext) -> Decision | None:
    """Notes may not contain the word 'secret'."""
    if "secret" in str(step.arguments.get("text", "")).lower():
        return deny("Notes must not contain secrets.")
    return None


@policy(stage="pre", tools="add_note")
def hide_author_email(step: Step, ctx: PolicyContext) -> Decision | None:
    """Author e-mail addresses never reach the audit log."""
    return redact("author_email", reason="contact details are not audited")


@policy(stage="pre", tools="add_note")
def note_length(step: Step, ctx: PolicyContext) -> Decision | None:
    """Notes longer than the plugin's own max_note_length setting are refused."""
    settings = ctx.action.settings
    assert isinstance(settings, SampleSettings)  # the policy's own plugin settings
    if len(str(step.arguments.get("text", ""))) > settings.max_note_length:
        return deny(f"Notes are limited to {settings.max_note_length} characters.")
    return None


@policy(stage="pre", tools="add_note")
def preview_note(step: Step, ctx: PolicyContext) -> Decision | None:
    """Show the note that will be written; the preview stays out of the audit log."""
    return confirm(f"Preview: the note will read “{step.arguments.get('text', '')}”.",
                   private=True)


@policy(stage="request")
def no_fortune_telling(step: Step, ctx: PolicyContext) -> Decision | None:
    """Requests to the sample tools to tell the future are refused before anything runs."""
    if "fortune" in step.arguments["utterance"].lower():
        return deny("nobody here tells fortunes; try a note instead.")
    return None


@policy(stage="post", tools="add_note")
def hide_result_email(step: Step, ctx: PolicyContext) -> Decision | None:
    """Results show no author e-mail address."""
    return redact("author_email")


@hookimpl
def plugin_settings() -> type[BaseModel]:
    return SampleSettings


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(add_note)
    register(count_notes)


@hookimpl
def register_policies(register: Callable[[Policy], None]) -> None:
    register(no_secret_notes)
    register(preview_note)
    register(note_length)
    register(no_fortune_telling)
    register(hide_author_email)
    register(hide_result_email)


notes_cli = typer.Typer(help="The sample plugin's own commands.")


@notes_cli.command("where")
def where() -> None:
    """Print where the notes live."""
    from lamworks.cli import current_config

    print(current_config().data_dir / "notes.db")


@hookimpl
def register_commands(register: Callable[[CommandGroup], None]) -> None:
    register(CommandGroup(name="notes", app=notes_cli, help="Sample notes commands."))


def write_tool_counts(entries: Any, stream: Any) -> None:
    """One CSV line per tool: how many audit rows mention it."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.tool] = counts.get(entry.tool, 0) + 1
    for name, count in sorted(counts.items()):
        stream.write(f"{name},{count}\n")


@hookimpl
def register_audit_formats(register: Callable[[AuditFormat], None]) -> None:
    register(AuditFormat(name="toolcounts", write=write_tool_counts))
