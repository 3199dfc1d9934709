"""Remote MCP tools mounted as lamworks tools (issue 14, item 5): ``tests/mcp/sample_server.py``
(written with the SDK's ``MCPServer``) started over stdio from ``[mcp.servers.sample]``, its
tools routed by the real planner (MiniLM) and run under our policies; a server that hangs during
a call, and servers that crash or hang at start, are switched off and reported.

One Runtime for the module (the model loads once).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lamworks import ConfirmationError, Runtime, load_config
from lamworks.cli import app

SAMPLE = Path(__file__).with_name("sample_server.py")
BASE = """
data_dir = "{folder}/data"

[institution]
name = "Riverside Library"
timezone = "Europe/Paris"

[plugins]
allow = []   # the core and knowledge only: the library's tools come from MCP

[auth]
mode = "demo"

[roles.librarian]
scopes = ["user/mcp_sample.cr", "user/mcp_stuck.c"]

[users.lib]
role = "librarian"
"""


def _server(name: str, folder: Path, mode: str, extra: str = "") -> str:
    return f"""
[mcp.servers.{name}]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(SAMPLE))}]
env = {{ LIBRARY_LOANS = {json.dumps(str(folder / f"{name}-loans.jsonl"))}, \
LIBRARY_MODE = "{mode}" }}
timeout_seconds = 8
{extra}
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, Path]]:
    folder = tmp_path_factory.mktemp("mcp-library")
    text = (BASE.format(folder=folder)
            + _server("sample", folder, "ok", 'tool_risk = { find_book = "read" }\n'
                      'examples = { find_book = ["is Dune in the catalogue", '
                      '"look up the book Beloved"] }')
            + _server("stuck", folder, "hang_on_call", 'tools = ["renew_loan"]')
            .replace("timeout_seconds = 8", "timeout_seconds = 2"))
    (folder / "lamworks.toml").write_text(text, encoding="utf-8")
    runtime = Runtime(load_config(folder / "lamworks.toml"))
    yield runtime, folder
    runtime.close()


def _loans(folder: Path, name: str = "sample") -> list[dict[str, Any]]:
    path = folder / f"{name}-loans.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_servers_tools_are_mounted_under_our_names_risks_and_scopes(
        library: tuple[Runtime, Path]) -> None:
    rt, _ = library
    mounted = sorted(t for t in rt.tools if t.startswith("mcp."))
    assert mounted == ["mcp.sample.find_book", "mcp.sample.lend_book", "mcp.sample.renew_loan",
                       "mcp.stuck.renew_loan"]  # stuck: only what its `tools` allows
    lend, find = rt.tools["mcp.sample.lend_book"], rt.tools["mcp.sample.find_book"]
    assert lend.risk == "write" and [str(s) for s in lend.scopes] == ["user/mcp_sample.c"]
    assert find.risk == "read" and [str(s) for s in find.scopes] == ["user/mcp_sample.r"]
    assert "lend Emma to Sam Carter" in lend.examples  # given by the server in _meta
    assert "member_name" in lend.json_schema()["required"]
    assert rt.plugins.records["mcp.sample"].version == "1.0"


def test_a_plain_request_is_routed_to_the_remote_write_which_runs_once_when_confirmed(
        library: tuple[Runtime, Path]) -> None:
    rt, folder = library
    turn = rt.handle("lend-1", "lib", "lend the book Dune to Maria Lopez")
    step = turn.awaiting_confirmation
    assert step is not None, turn.answer
    assert step.tool == "mcp.sample.lend_book"
    assert step.arguments == {"title": "Dune", "member_name": "Maria Lopez"}
    assert _loans(folder) == []  # nothing happened before the person confirmed

    done = rt.confirm("lend-1", step.id)
    [ran] = done.steps
    assert ran.status == "executed", done.answer
    assert "Lent Dune by Frank Herbert to Maria Lopez" in done.answer
    [loan] = _loans(folder)
    executed = [e for e in rt.audit.entries_for_step(step.id) if e.event == "step.executed"]
    assert loan["key"] == executed[0].detail["idempotency_key"]  # sent in _meta
    assert rt.journal.get(loan["key"]).status == "done"

    with pytest.raises(ConfirmationError):  # the token is spent: never a second loan
        rt.confirm("lend-1", step.id)
    assert len(_loans(folder)) == 1


def test_a_remote_read_runs_without_confirmation(library: tuple[Runtime, Path]) -> None:
    rt, _ = library
    turn = rt.handle("find-1", "lib", "look up the book Emma in the library catalogue")
    [step] = turn.steps
    assert (step.tool, step.status) == ("mcp.sample.find_book", "executed"), turn.answer
    assert step.result is not None and step.result.data["in_catalogue"] is True


def test_a_server_that_hangs_during_a_call_is_switched_off_and_reported(
        library: tuple[Runtime, Path]) -> None:
    rt, _ = library
    turn = rt.propose("renew-1", "lib", "mcp.stuck.renew_loan", {"title": "Dune"})
    assert turn.awaiting_confirmation is not None, turn.answer
    done = rt.confirm("renew-1", turn.awaiting_confirmation.id)
    [step] = done.steps
    assert step.status == "failed" and "did not answer within 2 s" in (step.error or "")
    record = rt.plugins.records["mcp.stuck"]
    assert record.status == "failed" and "switched off" in (record.error or "")
    assert "mcp.stuck.renew_loan" not in rt.tools
    assert "mcp.sample.lend_book" in rt.tools  # the other server keeps serving


def test_servers_that_crash_or_hang_at_start_are_listed_as_failed_plugins(
        tmp_path: Path) -> None:
    text = (BASE.format(folder=tmp_path) + _server("broken", tmp_path, "crash_on_start")
            + _server("silent", tmp_path, "hang_on_start", "startup_timeout_seconds = 2"))
    (tmp_path / "lamworks.toml").write_text(text, encoding="utf-8")
    shown = CliRunner().invoke(app, ["plugins", "--json", "--config",
                                     str(tmp_path / "lamworks.toml")])
    assert shown.exit_code == 0, shown.output
    records = {r["name"]: r for r in json.loads(shown.stdout)}
    assert records["mcp.broken"]["status"] == "failed"
    assert "could not be started" in records["mcp.broken"]["error"]
    assert records["mcp.silent"]["status"] == "failed"
    assert "did not list its tools within 2 s" in records["mcp.silent"]["error"]
    assert records["knowledge"]["status"] == "loaded"  # the rest keeps serving


def test_the_deploy_guides_mcp_examples_are_valid() -> None:
    """docs/deploy.md's ``## MCP`` examples: the TOML validates, the client config parses."""
    import re
    import tomllib

    from lamworks.config import MCPConfig

    section = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text(
        encoding="utf-8").split("## MCP", 1)[1]
    toml_text = re.search(r"```toml\n(.*?)```", section, re.S)
    json_text = re.search(r"```json\n(.*?)```", section, re.S)
    assert toml_text is not None and json_text is not None
    servers = MCPConfig(**tomllib.loads(toml_text.group(1))["mcp"]).servers
    assert servers["library"].tool_risk == {"find_book": "read"}
    assert servers["weather"].url is not None
    launched = json.loads(json_text.group(1))["mcpServers"]["lamworks"]
    assert launched["args"][:2] == ["mcp", "serve"]
