"""``lamworks mcp serve``: the SDK's own clients over stdio against a real subprocess serving the
front desk of the example clinic (issue 14, item 5).

Three server processes share one temp institution: a 2026-07-28 client that accepts what it is
asked to confirm (``mcp.Client``: the confirmation arrives as an ``InputRequiredResult``), a
handshake-era ``ClientSession`` that declines (an ``elicitation/create`` request), and a
``ClientSession`` without elicitation. What happened is read back from the audit log and the
journal the server wrote.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, ClientSession, stdio_client

from lamworks import load_config
from lamworks.audit import AuditLog
from lamworks.plugins import make_plugin_manager
from lamworks.scopes import missing_scopes

from .conftest import lamworks_server

Elicit = Callable[[Any, types.ElicitRequestParams], Awaitable[types.ElicitResult]]
NEW_PATIENT = {"first_name": "Wren", "last_name": "Calloway", "birth_date": "1991-07-14"}
FIND_ANA = {"name": "Ana Ruiz", "birth_date": "1984-03-12"}


def _answering(action: str, asked: list[str]) -> Elicit:
    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        content = {"confirm": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return elicit


def _audit(config: Path, session: str) -> tuple[list[str], bool]:
    """The events audited in the session, and whether the whole chain verifies."""
    log = AuditLog(load_config(config).audit_path)
    try:
        events = [e.event for e in log.entries() if e.session_id == session]
        return events, log.verify().ok
    finally:
        log.close()


def _journal_rows(config: Path, session: str) -> list[tuple[str, str]]:
    with sqlite3.connect(load_config(config).database_path) as db:
        return [(r[0], r[1]) for r in db.execute(
            "SELECT tool, status FROM journal WHERE session_id = ?", (session,))]


def test_a_confirming_agent_lists_the_roles_tools_reads_and_writes_once(clinic: Path) -> None:
    asked: list[str] = []
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with Client(lamworks_server(clinic, "--user", "frontdesk"),
                          elicitation_callback=_answering("accept", asked)) as client:
            seen["version"] = client.protocol_version
            seen["tools"] = {t.name for t in (await client.list_tools()).tools}
            seen["read"] = await client.call_tool("healthcare.find_patient", FIND_ANA)
            seen["write"] = await client.call_tool("healthcare.register_patient", NEW_PATIENT)
            seen["again"] = await client.call_tool(
                "healthcare.find_patient", {"name": "Wren Calloway", "birth_date": "1991-07-14"})
            seen["outside"] = await client.call_tool("education.grade_lookup",
                                                     {"student_id": "stu-0001"})

    anyio.run(session)
    config = load_config(clinic)
    frontdesk = config.roles["frontdesk"].scopes
    expected = {t.name for t in make_plugin_manager(config).tools.values()
                if not missing_scopes(frontdesk, t.scopes)}
    assert seen["version"] == "2026-07-28"
    assert seen["tools"] == expected
    assert "healthcare.register_patient" in seen["tools"]
    assert "education.grade_lookup" not in seen["tools"]  # outside the role: not listed

    read: types.CallToolResult = seen["read"]
    assert not read.is_error, read.content
    [step] = read.structured_content["steps"]
    assert step["status"] == "executed" and "MRN-000001" in str(step["data"])

    write: types.CallToolResult = seen["write"]
    assert not write.is_error, write.content
    [question] = asked  # the person saw the plain-language preview of the exact change
    assert "Register a new patient" in question and "Calloway" in question
    assert "Exactly this is written" in question
    events, chain_ok = _audit(clinic, write.structured_content["session"])
    assert events == ["step.awaiting_confirmation", "step.confirmed", "step.executed"]
    assert chain_ok
    assert _journal_rows(clinic, write.structured_content["session"]) == [
        ("healthcare.register_patient", "done")]
    assert not seen["again"].is_error and "Wren Calloway" in seen["again"].content[0].text

    outside: types.CallToolResult = seen["outside"]  # refused if called anyway, and audited
    assert outside.is_error and "not allowed" in outside.content[0].text
    events, _ = _audit(clinic, outside.structured_content["session"])
    assert events == ["step.denied"]


def test_a_person_who_declines_writes_nothing(clinic: Path) -> None:
    asked: list[str] = []
    seen: dict[str, Any] = {}
    patient = {**NEW_PATIENT, "first_name": "Odile"}

    async def session() -> None:
        async with stdio_client(lamworks_server(clinic, "--user", "frontdesk")) as (read, write):
            async with ClientSession(read, write,
                                     elicitation_callback=_answering("decline", asked)) as s:
                await s.initialize()  # the handshake era: confirmations as elicitation/create
                seen["version"] = s.protocol_version
                seen["write"] = await s.call_tool("healthcare.register_patient", patient)
                seen["find"] = await s.call_tool("healthcare.find_patient", {
                    "name": "Odile Calloway", "birth_date": "1991-07-14"})

    anyio.run(session)
    assert seen["version"] != "2026-07-28"
    write: types.CallToolResult = seen["write"]
    assert len(asked) == 1 and "Odile" in asked[0]
    assert write.is_error and "Cancelled; nothing was changed." in write.content[0].text
    session_id = write.structured_content["session"]
    events, chain_ok = _audit(clinic, session_id)
    assert events == ["step.awaiting_confirmation", "step.cancelled"] and chain_ok
    assert _journal_rows(clinic, session_id) == []
    assert "No patient matches" in seen["find"].content[0].text


def test_a_client_without_elicitation_is_told_a_person_must_confirm_in_lamworks(
        clinic: Path) -> None:
    seen: dict[str, Any] = {}
    patient = {**NEW_PATIENT, "first_name": "Basil"}

    async def session() -> None:
        async with stdio_client(lamworks_server(clinic, "--user", "frontdesk")) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                seen["write"] = await s.call_tool("healthcare.register_patient", patient)

    anyio.run(session)
    write: types.CallToolResult = seen["write"]
    text = write.content[0].text
    assert write.is_error
    assert "A person must confirm this in lamworks" in text and "lamworks confirm" in text
    pending = write.structured_content
    assert pending["status"] == "awaiting_confirmation"
    events, _ = _audit(clinic, pending["session"])
    assert events == ["step.awaiting_confirmation"]  # left pending, nothing written
    assert _journal_rows(clinic, pending["session"]) == []
