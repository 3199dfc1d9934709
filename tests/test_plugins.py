"""Discovery through entry points, isolation of failing plugins, allow/block lists, duplicates."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import pytest

from lamworks import (
    InstitutionConfig,
    Runtime,
    Tool,
    hookimpl,
    load_config,
    make_plugin_manager,
    tool,
)


@pytest.fixture
def open_config(install_plugins: Callable[..., Path],
                write_config: Callable[..., Path]) -> InstitutionConfig:
    """No allow-list: every installed plugin and every extra plugin loads."""
    install_plugins(sample="lamworks_sample")
    return load_config(write_config(plugins="block = []"))


def test_entry_point_plugin_contributes_tools_policies_and_version(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path]
) -> None:
    install_plugins(sample="lamworks_sample")
    pm = make_plugin_manager(load_config(write_config()))
    record = pm.records["sample"]
    assert record.status == "loaded"
    assert record.version == "1.0"  # from the distribution's metadata
    assert record.tools == ["sample.add_note", "sample.count_notes"]
    assert "sample.no_secret_notes" in record.policies
    assert pm.tools["sample.add_note"].plugin == "sample"
    assert pm.policies["sample.no_secret_notes"].plugin == "sample"
    assert pm.records["core"].builtin and "core.role_scopes" in pm.records["core"].policies


def test_failing_import_and_failing_hook_are_disabled_and_the_rest_works(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path]
) -> None:
    install_plugins(sample="lamworks_sample", broken_import="lamworks_broken_import",
                    broken_hook="lamworks_broken_hook")
    config = load_config(write_config(plugins="block = []\nallow = ['sample', "
                                              "'broken_import', 'broken_hook']"))
    runtime = Runtime(config)
    records = runtime.plugins.records
    assert records["broken_import"].status == "failed"
    assert "cannot be imported" in (records["broken_import"].error or "")
    assert records["broken_hook"].status == "failed"
    assert "register_tools exploded" in (records["broken_hook"].error or "")
    # Nothing of the broken plugin stays registered: its deny-everything policy is gone.
    assert "broken_hook.deny_everything" not in runtime.plugins.policies
    assert records["sample"].status == "loaded"
    turn = runtime.handle("s", "alice", "count my notes")
    assert turn.steps[0].status == "executed", turn.answer
    assert len(runtime.startup_report.failed_plugins) == 2
    runtime.close()


def test_a_plugin_raising_in_an_observer_is_disabled_not_the_action(
    open_config: InstitutionConfig,
) -> None:
    calls: list[str] = []

    class Noisy:
        @hookimpl
        def before_action(self, step: object) -> None:
            raise RuntimeError("observer bug")

    class Quiet:
        @hookimpl
        def after_action(self, step: object) -> None:
            calls.append("after")

    pm = make_plugin_manager(open_config, extra_plugins={"noisy": Noisy(), "quiet": Quiet()})
    runtime = Runtime(open_config, plugins=pm)
    turn = runtime.handle("s", "alice", "count my notes")
    assert turn.steps[0].status == "executed"
    assert pm.records["noisy"].status == "failed"
    assert "observer bug" in (pm.records["noisy"].error or "")
    assert calls == ["after"]
    runtime.close()


def _plugin_with_tool(t: Tool) -> types.SimpleNamespace:
    @hookimpl
    def register_tools(register: Callable[[Tool], None]) -> None:
        register(t)

    return types.SimpleNamespace(register_tools=register_tools)


def test_duplicate_tool_names_name_both_plugins(open_config: InstitutionConfig) -> None:

    @tool(name="shared.lookup")
    def lookup_a() -> str:
        """Look something up (a)."""
        return "a"

    @tool(name="shared.lookup")
    def lookup_b() -> str:
        """Look something up (b)."""
        return "b"

    pm = make_plugin_manager(open_config, load_entry_points=False,
                             extra_plugins={"first": _plugin_with_tool(lookup_a),
                                            "second": _plugin_with_tool(lookup_b)})
    assert pm.tools["shared.lookup"].plugin == "first"
    error = pm.records["second"].error or ""
    assert pm.records["second"].status == "failed"
    assert "'second'" in error or "second" in error
    assert "'first'" in error and "shared.lookup" in error


def test_misspelt_hook_disables_the_plugin(open_config: InstitutionConfig) -> None:

    class Typo:
        @hookimpl
        def register_tool(self, register: object) -> None:  # missing "s"
            pass

    pm = make_plugin_manager(open_config, load_entry_points=False,
                             extra_plugins={"typo": Typo()})
    assert pm.records["typo"].status == "failed"
    assert "register_tool" in (pm.records["typo"].error or "")


def test_allow_and_block_lists_and_environment(
    install_plugins: Callable[..., Path], write_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install_plugins(sample="lamworks_sample", counter="lamworks_counter")
    blocked = make_plugin_manager(load_config(write_config(plugins="block = ['sample']")))
    assert blocked.records["sample"].status == "blocked"
    assert "sample.add_note" not in blocked.tools
    assert blocked.records["counter"].status == "loaded"

    allowed = make_plugin_manager(load_config(write_config(plugins="allow = ['counter']")))
    assert allowed.records["sample"].status == "blocked"
    assert allowed.records["counter"].status == "loaded"

    monkeypatch.setenv("LAMWORKS_LOAD_PLUGINS", "sample")
    env = make_plugin_manager(load_config(write_config(plugins="allow = ['counter']")))
    assert env.records["sample"].status == "loaded"
    assert env.records["counter"].status == "blocked"
    assert env.records["core"].status == "loaded"  # built-ins always load


def test_each_manager_is_independent(open_config: InstitutionConfig) -> None:
    first = make_plugin_manager(open_config)
    second = make_plugin_manager(open_config)
    first.tools.clear()
    assert "sample.add_note" in second.tools
