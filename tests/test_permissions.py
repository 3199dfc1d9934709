"""Permissions (issue 12): declared by the core and plugins, granted by roles, checked at start-up,
and used by the pages' server code; uploads into the uploader's own source only."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lamworks import (
    ConfigError,
    Permission,
    PermissionDenied,
    Runtime,
    UIPage,
    hookimpl,
    hookspecs,
    load_config,
)
from lamworks.permissions import CORE_PERMISSIONS, Permissions
from lamworks.plugins import make_plugin_manager
from lamworks.ui import services

DOCS = Path(__file__).parents[1] / "docs" / "plugin-hooks.md"


def _grant(path: Path, role: str, permissions: str) -> Path:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"[roles.{role}]\n", f"[roles.{role}]\npermissions = "
                                 f"{permissions}\n", 1), encoding="utf-8")
    return path


def _hookspec_example(name: str) -> str:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    return textwrap.dedent(doc.split("Example::\n", 1)[1])


def _docs_example(name: str) -> str:
    section = DOCS.read_text(encoding="utf-8").split(f"### {name}(", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _plugin_from(code: str) -> types.SimpleNamespace:
    namespace: dict[str, Any] = {"hookimpl": hookimpl, "Permission": Permission,
                                 "UIPage": UIPage, "HERE": Path("/plugin")}
    exec(compile(code, "<example>", "exec"), namespace)  # the documented example, as written
    return types.SimpleNamespace(**{k: v for k, v in namespace.items()
                                    if k.startswith("register_")})


def test_defaults_apply_when_a_role_lists_none(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(plugins="allow = []"))
    perms = Permissions(config)
    defaults = {p.name for p in CORE_PERMISSIONS if p.default}
    assert defaults == {"page.home", "page.chat", "page.knowledge", "audit.read.own"}
    assert perms.granted("reader") == defaults
    assert not perms.permits("bob", "audit.read.all") and not perms.permits("bob", "config.view")
    assert not perms.permits("nobody", "page.chat")
    with pytest.raises(KeyError):
        perms.permits("bob", "audit.reed.all")  # a misspelt name is a bug, never a quiet no


def test_star_grants_everything_and_implications_follow(
        write_config: Callable[..., Path]) -> None:
    path = _grant(write_config(plugins="allow = []"), "staff", '["*"]')
    _grant(path, "reader", '["audit.read.all", "knowledge.delete.any"]')
    perms = Permissions(load_config(path))
    assert perms.granted("staff") == {p.name for p in CORE_PERMISSIONS}
    assert {"audit.read.own", "knowledge.delete"} <= perms.granted("reader")


def test_an_unknown_permission_stops_the_runtime_naming_the_key(
        write_config: Callable[..., Path]) -> None:
    path = _grant(write_config(plugins="allow = []"), "reader", '["page.chat", "audit.reed"]')
    with pytest.raises(ConfigError) as caught:
        Runtime(load_config(path))
    assert "roles.reader.permissions" in str(caught.value)
    assert "'audit.reed'" in str(caught.value)


def test_a_permission_of_a_plugin_not_loaded_is_ignored_with_a_warning(
        write_config: Callable[..., Path]) -> None:
    path = _grant(write_config(plugins="allow = []"), "reader",
                  '["page.chat", "education.page.essay_feedback"]')
    perms = Permissions(load_config(path), unavailable_plugins=["education"])
    assert perms.granted("reader") == {"page.chat"}
    assert "education.page.essay_feedback" in perms.warnings[0]


def test_the_hook_example_declares_a_prefixed_permission_and_a_page_needs_it(
        write_config: Callable[..., Path]) -> None:
    """The hookspec's and the docs' examples, run as a plugin named "essays"."""
    path = write_config(plugins='allow = ["essays", "pages"]')
    _grant(path, "staff", '["page.chat", "essays.page.essay_feedback"]')
    config = load_config(path)
    plugin = _plugin_from(_hookspec_example("register_permissions") + "\n"
                          + _docs_example("register_permissions").split("@hookimpl\ndef "
                                                                        "register_ui_pages")[0])
    docs_pages = _plugin_from("@hookimpl\ndef register_ui_pages" + _docs_example(
        "register_permissions").split("@hookimpl\ndef register_ui_pages", 1)[1])
    pm = make_plugin_manager(config, extra_plugins={"essays": plugin, "pages": docs_pages})
    assert pm.records["essays"].status == "loaded", pm.records["essays"].error
    assert pm.permissions["essays.page.essay_feedback"].plugin == "essays"
    [page] = pm.ui_pages
    assert page.permission == "pages.page.essay_feedback"  # prefixed with its own plugin
    rt = Runtime(config, plugins=pm)
    try:
        assert rt.permits("alice", "essays.page.essay_feedback")
        assert rt.permits("bob", "essays.page.essay_feedback")  # default=True, reader lists none
        assert not rt.permits("alice", "audit.read.own")  # staff lists its own, without it
        titles = [p.title for p in services.pages_for(rt, "alice")]
        assert "Essay feedback" not in titles  # "pages.page.essay_feedback" is declared by nobody
    finally:
        rt.close()


def test_names_are_the_plugins_own_and_declared_once(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(plugins='allow = ["essays", "twice"]'))

    def declares(register: Any) -> None:
        register(Permission("essays.page.feedback", "A page.", implies=("page.other",)))
        register(Permission("page.other", "Another page."))

    def declares_twice(register: Any) -> None:
        register(Permission("export", "Export."))
        register(Permission("export", "Export again."))

    pm = make_plugin_manager(config, extra_plugins={
        "essays": types.SimpleNamespace(register_permissions=hookimpl(declares)),
        "twice": types.SimpleNamespace(register_permissions=hookimpl(declares_twice))})
    assert pm.permissions["essays.page.feedback"].implies == ("essays.page.other",)
    assert pm.records["twice"].status == "failed" and "twice.export" in str(
        pm.records["twice"].error)
    assert not [name for name in pm.permissions if name.startswith("twice.")]


@pytest.fixture
def clinic(install_plugins: Callable[..., Path], write_config: Callable[..., Path],
           tmp_path: Path) -> Iterator[Runtime]:
    """The sample plugin, a configured handbook, alice (staff) who may upload and delete, bob
    (reader) who may not; staff read public and staff documents."""
    install_plugins(sample="lamworks_sample")
    handbook = tmp_path / "handbook"
    handbook.mkdir()
    (handbook / "hours.md").write_text("# Hours\n\nThe office opens at nine.\n")
    path = write_config(extra=f"""
        [[knowledge.paths]]
        path = "{handbook}"
        source = "handbook"
        """)
    _grant(path, "staff", '["page.chat", "page.knowledge", "audit.read.own", '
                          '"knowledge.upload", "knowledge.delete"]')
    path.write_text(path.read_text().replace('[roles.staff]\n',
                                             '[roles.staff]\naccess = ["public", "staff"]\n', 1))
    rt = Runtime(load_config(path))
    from lamworks.knowledge import ingest_path

    ingest_path(rt.services["knowledge"].get(), handbook, "handbook", "staff")
    yield rt
    rt.close()


def _rows(rt: Runtime, event: str) -> list[Any]:
    return [e for e in rt.audit.entries() if e.event == event]


@pytest.mark.slow
def test_uploads_go_to_the_uploaders_own_source_and_are_audited(clinic: Runtime) -> None:
    rt = clinic
    kb = rt.services["knowledge"].get()
    notice = b"# Lobby\n\nFree coffee in the lobby on Fridays.\n"
    with pytest.raises(PermissionDenied):  # bob's role may not upload at all
        services.upload_documents(rt, "bob", [("coffee.md", notice)], "notes", "public")
    assert _rows(rt, "permission.denied")[-1].actor == "bob"
    with pytest.raises(PermissionDenied):  # a label alice's role may not read
        services.upload_documents(rt, "alice", [("coffee.md", notice)], "notes", "clinician")

    # Named like the configured source: it goes into alice's own, the handbook is untouched.
    done = services.upload_documents(rt, "alice", [("coffee.md", notice)], "handbook", "public")
    assert done.source == "uploads-alice-handbook" != "handbook"
    assert list(kb.manifest.files("handbook")) == ["hours.md"]
    assert kb.manifest.upload_owners() == {"uploads-alice-handbook": "alice"}
    [row] = _rows(rt, "knowledge.uploaded")
    assert row.actor == "alice" and row.arguments["source"] == "uploads-alice-handbook"
    assert row.detail["chunks_written"] >= 1 and "coffee in the lobby" not in str(row.as_dict())

    # A front matter label she may not read: that file is refused, reported, audited.
    secret = b"---\naccess: clinician\n---\n# Notes\n\nClinician-only protocol.\n"
    mixed = services.upload_documents(rt, "alice", [("protocol.md", secret),
                                                    ("parking.md", b"# Parking\n\nWest lot.\n")],
                                      "handbook", "staff")
    assert mixed.refused == [("protocol.md", "clinician")]
    assert "protocol.md" not in kb.manifest.files("uploads-alice-handbook")
    assert kb.manifest.files("uploads-alice-handbook")["parking.md"].access == "staff"
    last = _rows(rt, "knowledge.uploaded")[-1]
    assert last.outcome == "partial" and last.detail["refused"] == [
        {"file": "protocol.md", "access": "clinician"}]
    assert "Clinician-only" not in str(last.as_dict())


@pytest.mark.slow
def test_deletion_only_of_upload_sources_one_may_delete(clinic: Runtime) -> None:
    rt = clinic
    services.upload_documents(rt, "alice", [("a.md", b"# A\n\nAlpha.\n")], "notes", "public")
    assert services.deletable_sources(rt, "alice") == ["uploads-alice-notes"]
    assert services.deletable_sources(rt, "bob") == []
    for user, source in (("bob", "uploads-alice-notes"), ("alice", "handbook")):
        with pytest.raises(PermissionDenied):
            services.delete_upload_source(rt, user, source)
    assert [r.detail["permission"] for r in _rows(rt, "permission.denied")] == [
        "knowledge.delete", "knowledge.delete"]
    assert services.delete_upload_source(rt, "alice", "uploads-alice-notes") >= 1
    [row] = _rows(rt, "knowledge.deleted")
    assert row.arguments == {"source": "uploads-alice-notes"} and row.detail["files"] == 1


def test_audit_rows_exports_and_admin_views_follow_permissions(
        install_plugins: Callable[..., Path], write_config: Callable[..., Path]) -> None:
    install_plugins(sample="lamworks_sample")
    path = _grant(write_config(), "staff", '["audit.read.all", "audit.export", "config.view"]')
    rt = Runtime(load_config(path))
    try:
        rt.handle("s-a", "alice", "count my notes")
        rt.handle("s-b", "bob", "count my notes")
        operator = Runtime(rt.config, plugins=rt.plugins, operator="ops")
        try:
            operator.handle("s-o", "bob", "count my notes")  # `ask --operator --as bob`
        finally:
            operator.close()
        assert {e.actor for e in services.visible_audit_rows(rt, "alice")} == {
            "alice", "bob", "operator:ops as bob"}
        assert {e.actor for e in services.visible_audit_rows(rt, "bob")} == {
            "bob", "operator:ops as bob"}
        assert '"actor": "bob"' in services.export_audit(rt, "alice")
        for call in (services.export_audit, services.verify_chain, services.plugin_overview,
                     services.effective_configuration):
            with pytest.raises(PermissionDenied):
                call(rt, "bob")
        assert services.effective_configuration(rt, "alice")["institution"]["name"]
        with pytest.raises(PermissionDenied):
            services.verify_chain(rt, "alice")  # audit.verify is not listed for staff
        assert services.page_refusal(rt, "bob", "admin") is not None
        assert services.page_refusal(rt, "bob", "audit") is None
    finally:
        rt.close()


@pytest.mark.slow
def test_the_cli_lists_permissions_and_refuses_to_replace_a_plugin_source(
        tmp_path: Path) -> None:
    env_config = Path(__file__).parents[1] / "examples" / "lamworks.toml"

    def lamworks(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lamworks.cli", *args, "--config",
                               str(env_config)], capture_output=True, text=True, timeout=120,
                              env={**__import__("os").environ,
                                   "LAMWORKS_DATA_DIR": str(tmp_path / "data"),
                                   "COLUMNS": "200"})

    listed = lamworks("permissions", "--json")
    assert listed.returncode == 0, listed.stderr
    import json

    rows = {r["permission"]: r for r in json.loads(listed.stdout)}
    assert rows["audit.read.all"]["roles"] == ["admin", "auditor"]
    assert "patient" not in rows["knowledge.upload"]["roles"]
    assert rows["healthcare.page.schedule"]["plugin"] == "healthcare"
    replaced = lamworks("kb", "ingest", str(tmp_path), "--source", "clinic-operations")
    assert replaced.returncode == 2 and "plugin's source" in replaced.stderr
    dropped = lamworks("kb", "drop", "clinic-operations")
    assert dropped.returncode == 2 and "--force" in dropped.stderr
