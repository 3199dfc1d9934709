"""Every hook a lamworks plugin may implement. A plugin implements any subset.

A plugin is a module (or object) with functions decorated ``@hookimpl`` and named exactly as
below; it is found through the entry-point group ``lamworks`` of its distribution::

    # pyproject.toml of your plugin
    [project.entry-points.lamworks]
    myplugin = "lamworks_myplugin"

A hook implementation may accept any subset of the parameters documented for it, by name.
The core calls each plugin's implementation on its own: a plugin that raises is disabled and
reported (``lamworks plugins``), and every other plugin keeps working. Everything registered
through ``register`` is stamped with the plugin's name, and tool, policy and slot-extractor names
are namespaced ``<plugin>.<name>``; a name already taken by another plugin disables the
newcomer with an error naming both.

``settings`` is always the calling plugin's own settings: an instance of the model returned by
its ``plugin_settings`` hook, validated from ``[plugins.<name>]`` in ``lamworks.toml`` (``None``
when the plugin declares no settings).

See ``docs/plugin-hooks.md`` for a worked example of each hook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .config import InstitutionConfig
    from .extensions import (
        AuditFormat,
        CommandGroup,
        HomeSection,
        KnowledgeSource,
        ResultComponent,
        SlotExtractor,
        UIPage,
    )
    from .permissions import Permission
    from .plan import ActionResult, Step
    from .planning import Planner
    from .policies import Policy
    from .tools import ActionContext, Tool

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("lamworks")
hookimpl = pluggy.HookimplMarker("lamworks")


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def plugin_settings() -> type[BaseModel] | None:
    """Declare this plugin's settings model (a pydantic ``BaseModel`` subclass).

    Called once at load time, before any registration hook. The table ``[plugins.<name>]`` of
    ``lamworks.toml`` is validated against it; an invalid value stops the runtime with a
    :class:`~lamworks.ConfigError` naming ``plugins.<name>.<key>``. The validated instance is
    passed as ``settings`` to every other hook of this plugin.

    Example::

        class HealthcareSettings(BaseModel):
            fhir_version: Literal["R4B", "R5"] = "R4B"

        @hookimpl
        def plugin_settings():
            return HealthcareSettings
    """


# ---------------------------------------------------------------------------------------------
# Registration: called once per plugin at load time, in this order
# ---------------------------------------------------------------------------------------------


@hookspec
def register_tools(
    register: Callable[[Tool], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Register the plugin's tools (actions) by calling ``register(tool)`` for each.

    Parameters: ``register`` takes a :class:`~lamworks.Tool` made with ``@tool``; ``config`` is
    the institution configuration; ``settings`` the plugin's own settings. The return value is
    ignored. A tool that writes should plan, then apply (``@tool(apply=...)``, returning a
    :class:`~lamworks.Change`) so that what a person confirms is exactly what is committed.

    Example::

        @hookimpl
        def register_tools(register):
            register(find_patient)
    """


@hookspec
def register_policies(
    register: Callable[[Policy], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Register safety policies by calling ``register(policy)`` for each.

    A policy declares what it applies to and the core filters: by default your plugin's own
    tools; ``@policy(tools=[...])``, ``plugins=[...]`` (``"*"``: every plugin's tools) and
    ``roles=[...]`` say otherwise, and ``policy.scoped(roles=settings.roles)`` scopes one by your
    settings here. A request-stage policy screens the requests routed to a tool in its scope.
    The return value is ignored.

    Example::

        @hookimpl
        def register_policies(register, settings):
            register(no_clinical_advice)
            register(academic_integrity.scoped(roles=settings.student_roles))
    """


@hookspec
def register_knowledge_sources(
    register: Callable[[KnowledgeSource], None],
    config: InstitutionConfig,
    settings: BaseModel | None,
) -> None:
    """Register folders of documents for the knowledge layer: ``register(KnowledgeSource(...))``.

    The knowledge layer ingests them (incrementally) and cites them in answers. Return value
    ignored.

    Example::

        @hookimpl
        def register_knowledge_sources(register):
            register(KnowledgeSource(name="clinic-docs", path=HERE / "knowledge"))
    """


@hookspec
def register_slot_extractors(
    register: Callable[[SlotExtractor], None],
    config: InstitutionConfig,
    settings: BaseModel | None,
) -> None:
    """Register finders of domain entities (practitioners, courses) for the slot filler.

    An extractor is called only for a request whose chosen tool declares its entity type
    (``entity("Practitioner", ...)``), and by the router when a likely tool declares the type
    or is the extractor's plugin's; look candidates up by targeted queries, not by reading
    every record. Return value ignored.

    Example::

        @hookimpl
        def register_slot_extractors(register):
            register(SlotExtractor(name="practitioners", entity_type="Practitioner",
                                   extract=find_practitioners))
    """


@hookspec
def register_planners(
    register: Callable[[Planner], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Register planners (objects with ``name`` and ``plan(utterance, ctx) -> Plan``).

    The runtime uses the planner named by the institution, else the first registered one that
    is not marked ``fallback = True``. Return value ignored.

    Example::

        @hookimpl
        def register_planners(register, settings):
            register(LLMPlanner(base_url=settings.base_url))
    """


@hookspec
def register_ui_pages(
    register: Callable[[UIPage], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Register Streamlit pages for the web app: ``register(UIPage(title=..., path=...))``.

    Return value ignored.

    Example::

        @hookimpl
        def register_ui_pages(register):
            register(UIPage(title="Essay feedback", path=HERE / "ui_essay.py"))
    """


@hookspec
def register_home_sections(
    register: Callable[[HomeSection], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Contribute parts of the roles' home pages: ``register(HomeSection(...))`` for each.

    Each person opens the web app on a home page made of the sections their role may use: a
    section appears only when the role's scopes cover every tool it names (``show`` and
    ``tools``), the role holds its ``permission`` and, when given, is one of its ``roles``. A
    section's tool runs through the runtime as a chat request would (policies, audit), so it
    shows what the person may see. Its suggestions are buttons that start a chat with that
    request. The core knows no domain: what a role sees first comes from its plugins' sections.
    Return value ignored.

    Example::

        @hookimpl
        def register_home_sections(register):
            register(HomeSection(title="Next openings", show="find_available_slots",
                                 suggestions=("when is Dr. Lee free next week",)))
    """


@hookspec
def register_result_components(
    register: Callable[[ResultComponent], None], config: InstitutionConfig,
    settings: BaseModel | None,
) -> None:
    """Draw your tools' results your own way in the web app: ``register(ResultComponent(...))``.

    Wherever the app draws an executed step of ``tool`` (the chat, a home section's ``show``),
    it calls ``draw(result, arguments, key)`` instead of its conventions (choices, a quiz,
    tables, the summary). One component per tool; a second for the same tool is refused. The
    core names no domain: which tool gets which component is the plugin's business. Return
    value ignored.

    Example::

        @hookimpl
        def register_result_components(register):
            register(ResultComponent(tool="count_words", draw=draw_counts))
    """


@hookspec
def register_permissions(
    register: Callable[[Permission], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Declare permissions (what a role may do besides tools): ``register(Permission(...))``.

    Each name is prefixed ``<plugin>.`` (``page.essay_feedback`` becomes
    ``education.page.essay_feedback``); roles grant them in ``roles.<role>.permissions``, and
    ``default=True`` grants one to every role whose ``permissions`` key is absent. Check one
    with ``runtime.permits(user, name)``; a :class:`~lamworks.UIPage` names the one it needs in
    ``permission``. A name the configuration grants that nobody declared stops the runtime
    with a :class:`~lamworks.ConfigError`. Return value ignored.

    Example::

        @hookimpl
        def register_permissions(register):
            register(Permission("page.essay_feedback", "See the Essay feedback page.",
                                default=True))
    """


@hookspec
def register_commands(
    register: Callable[[CommandGroup], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Register command-line subcommands: ``register(CommandGroup(name="edu", app=typer_app))``.

    They appear as ``lamworks <name> ...`` when the CLI runs with this institution's config.
    Declare each group's name in your distribution's entry points too (group
    ``lamworks.commands``, value: your plugin's entry point, e.g. ``edu = "lamworks_education"``):
    ``lamworks --help`` lists declared groups without importing any plugin, and running one
    loads only your plugin and calls this hook to build it (an undeclared group still runs but
    is not listed). Return value ignored.

    Example::

        @hookimpl
        def register_commands(register):
            register(CommandGroup(name="edu", app=edu_cli, help="Essay scoring tools."))
    """


@hookspec
def register_audit_formats(
    register: Callable[[AuditFormat], None], config: InstitutionConfig, settings: BaseModel | None
) -> None:
    """Register audit export formats: ``register(AuditFormat(name="fhir", write=...))``.

    ``lamworks audit export --format NAME`` calls ``write(entries, stdout)``. The core provides
    ``jsonl``. Return value ignored.

    Example::

        @hookimpl
        def register_audit_formats(register):
            register(AuditFormat(name="fhir", write=write_audit_events))
    """


# ---------------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------------


@hookspec
def startup(
    config: InstitutionConfig, settings: BaseModel | None, services: dict[str, Any]
) -> None:
    """Called once when a :class:`~lamworks.Runtime` starts, after every plugin registered.

    Open connections here and publish shared objects for tools by adding them to ``services``
    (``services["fhir"] = store``); tools read them as ``ctx.services["fhir"]``. Return value
    ignored.

    Example::

        @hookimpl
        def startup(settings, services):
            services["fhir"] = LocalFHIRStore(settings.fhir_path)
    """


@hookspec
def before_action(step: Step, context: ActionContext, arguments: Mapping[str, Any]) -> None:
    """Observe a step just before its tool runs (after every pre-policy allowed it).

    ``arguments`` are already redacted as policies require. Observers cannot change the step;
    raising here disables the observing plugin, never the action. Return value ignored.

    Example::

        @hookimpl
        def before_action(step, context):
            metrics.count(step.tool, context.role)
    """


@hookspec
def after_action(step: Step, context: ActionContext, result: ActionResult | None) -> None:
    """Observe a step after it ran (``step.status`` is ``executed`` or ``failed``).

    ``result`` is already redacted as post-policies require (``None`` when the step failed).
    Return value ignored; raising disables the observing plugin.

    Example::

        @hookimpl
        def after_action(step, result):
            if step.status == "failed":
                alert(step.tool, step.error)
    """
