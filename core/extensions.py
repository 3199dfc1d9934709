"""The smaller things plugins register besides tools and policies.

- :class:`KnowledgeSource`: a folder of documents the knowledge layer ingests and cites.
- :class:`SlotExtractor`: finds domain entities (a practitioner, a course) in an utterance.
- :class:`UIPage`: a Streamlit page the app adds to its navigation.
- :class:`HomeSection`: a part of a role's home page (what a tool finds, requests to start a
  chat with), drawn through a :class:`HomeView`.
- :class:`ResultComponent`: how the web app draws one tool's results (its own component).
- :class:`CommandGroup`: a group of ``lamworks <name> ...`` command-line subcommands.
- :class:`AuditFormat`: an export format for ``lamworks audit export --format NAME``.

Each is a small frozen dataclass; the core stamps ``plugin`` at registration. Planners have their
own module (:mod:`lamworks.planning`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .plan import Span

if TYPE_CHECKING:
    from .plan import ActionResult
    from .tools import ActionContext

__all__ = ["AuditFormat", "CommandGroup", "EntityMatch", "HomeSection", "HomeView",
           "KnowledgeSource", "ResultComponent", "SlotExtractor", "UIPage"]


@dataclass(frozen=True)
class KnowledgeSource:
    """A folder of documents to ingest, with the access label every chunk inherits.

    Example::

        @hookimpl
        def register_knowledge_sources(register):
            register(KnowledgeSource(name="clinic-docs", path=Path(__file__).parent / "knowledge",
                                     description="Clinic operations", access="public"))

    A document's own front matter (``access: staff``) overrides ``access`` for that document.
    """

    name: str
    path: Path
    description: str = ""
    access: str = "public"
    plugin: str = ""

    def namespaced(self, plugin: str) -> KnowledgeSource:
        return replace(self, plugin=plugin)


@dataclass(frozen=True)
class EntityMatch:
    """A domain entity found in an utterance: its type, canonical value and where it was."""

    type: str
    value: Any
    span: Span
    score: float = 1.0


@dataclass(frozen=True)
class SlotExtractor:
    """Finds entities of one type (``"Practitioner"``) in an utterance.

    ``extract(utterance, ctx)`` returns every match; the slot filler uses them for argument
    fields whose annotation or description names ``entity_type``.

    Example::

        def find_practitioners(text, ctx):
            return [EntityMatch("Practitioner", "Practitioner/dr-lee", Span(...))
                    for ... in ...]

        register(SlotExtractor(name="practitioners", entity_type="Practitioner",
                               extract=find_practitioners))
    """

    name: str
    entity_type: str
    extract: Callable[[str, Any], list[EntityMatch]]
    plugin: str = ""
    generic: str = ""
    """What the router reads instead of a match ("the doctor", "someone", "a topic"), so that
    routing rests on the words of intent rather than on names; empty: the type in words
    ("a practitioner")."""

    def namespaced(self, plugin: str) -> SlotExtractor:
        name = self.name if "." in self.name else f"{plugin}.{self.name}"
        return replace(self, plugin=plugin, name=name)


@dataclass(frozen=True)
class UIPage:
    """A Streamlit page contributed by a plugin.

    ``path`` is a Python file Streamlit runs as a page; ``section`` is the navigation group
    (``"Assistant"``, ``"Knowledge"``, ``"Audit"``, ``"Admin"`` or a new one); ``permission``
    names the permission a role needs to see it (declare it with ``register_permissions``; the
    core prefixes it with ``<plugin>.`` like the declaration; empty: none needed); ``roles``
    limits who sees it further (empty: every role).

    Example::

        register(UIPage(title="Clinic schedule", path=Path(__file__).parent / "ui_schedule.py",
                        section="Assistant", icon=":material/calendar_month:",
                        permission="page.schedule"))
    """

    title: str
    path: Path
    section: str = "Assistant"
    icon: str | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)
    plugin: str = ""
    permission: str = ""

    def namespaced(self, plugin: str) -> UIPage:
        needed = self.permission
        if needed and not needed.startswith(f"{plugin}."):
            needed = f"{plugin}.{needed}"
        return replace(self, plugin=plugin, permission=needed)


class HomeView(Protocol):
    """What a :class:`HomeSection`'s ``draw`` gets: the person's context and three ways to act.

    The web app provides it; a plugin draws the rest with Streamlit. ``run`` goes through the
    runtime exactly as a chat request does (request and pre/post policies, scopes, rate limit,
    the audit log), so a section shows only what the person may see, redacted as policies
    require; a refused run is shown as its reason and returns ``None``.
    """

    context: ActionContext
    """The acting person's context (user, role, scopes, configuration, ``now``)."""

    def run(self, tool: str, arguments: Mapping[str, Any] | None = None) -> ActionResult | None:
        """Run a read tool (``name`` is the plugin's own, or ``plugin.name``) for the person;
        its result, or ``None`` (the reason is shown) when it was refused or failed."""
        ...

    def show(self, result: ActionResult, key: str) -> None:
        """Draw ``result`` as the chat draws it (choices, tables, a summary); a choice clicked
        starts a chat with what it says. ``key`` tells this drawing from the section's others."""
        ...

    def ask(self, text: str, *, key: str, label: str | None = None) -> None:
        """A button (``label``, by default ``text``) that opens the chat and sends ``text``."""
        ...


@dataclass(frozen=True)
class HomeSection:
    """A part of the home page of the roles that may use it (``register_home_sections``).

    A section names the ``tools`` it uses; it appears only to a role whose scopes cover every
    one of them and the section's own ``scopes`` (a clinic-wide list needs ``user/`` scopes a
    patient's ``patient/`` scopes do not cover), holding ``permission``, among ``roles`` when
    given, and for whom ``applies(context)`` is true when given (one linked to a record, say),
    so a person is never offered what they cannot do. Its content is, in order: ``show``, a read
    tool run with ``arguments`` (a mapping, or a function of the person's
    :class:`~lamworks.ActionContext` returning one, for "today") and drawn as the chat draws
    results; ``draw(view)``, the plugin's own Streamlit code (see :class:`HomeView`); then
    ``suggestions``, requests shown as buttons that start a chat. Tool names without a dot are
    the plugin's own; the core prefixes them, and ``permission``, with ``<plugin>.`` like
    everything else. Sections show in ``order``, then in the order registered.

    Example::

        register(HomeSection(
            title="My appointments", show="list_appointments",
            arguments=lambda ctx: {"from_date": ctx.now().date().isoformat()},
            suggestions=("when is my next visit",), tools=("cancel_appointment",)))
    """

    title: str
    show: str = ""
    arguments: Mapping[str, Any] | Callable[[ActionContext], Mapping[str, Any]] = field(
        default_factory=dict)
    draw: Callable[[HomeView], None] | None = None
    suggestions: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    """Every tool the section uses besides ``show`` (its ``draw``'s, its suggestions')."""
    scopes: tuple[str, ...] = ()
    """Scopes the role must hold besides its tools' (SMART v2, e.g. ``user/Appointment.rs``)."""
    applies: Callable[[ActionContext], bool] | None = None
    roles: tuple[str, ...] = ()
    permission: str = ""
    description: str = ""
    order: int = 100
    plugin: str = ""

    def needs(self) -> tuple[str, ...]:
        """The tools the section uses: ``show`` and ``tools``."""
        return tuple(dict.fromkeys(t for t in (self.show, *self.tools) if t))

    def namespaced(self, plugin: str) -> HomeSection:
        def prefixed(name: str) -> str:
            return name if not name or "." in name else f"{plugin}.{name}"

        needed = self.permission
        if needed and not needed.startswith(f"{plugin}."):
            needed = f"{plugin}.{needed}"
        return replace(self, plugin=plugin, permission=needed, show=prefixed(self.show),
                       tools=tuple(prefixed(t) for t in self.tools))


@dataclass(frozen=True)
class ResultComponent:
    """How the web app draws the results of one of the plugin's tools, wherever it draws them
    (the chat, a home section's ``show``), instead of the core's conventions (choices, a quiz,
    tables, the summary; :mod:`lamworks.ui.components`).

    ``draw(result, arguments, key)`` draws with Streamlit: ``result`` is the step's
    :class:`~lamworks.ActionResult`, ``arguments`` the step's arguments (what the person gave,
    such as a pasted text the result points into; empty where the app no longer has them), and
    ``key`` tells this drawing's widgets from others' on the page. ``tool`` is the plugin's own
    tool name; the core prefixes it with ``<plugin>.``. A ``draw`` that raises is logged and the
    result is drawn by the conventions instead.

    Example::

        def draw_counts(result, arguments, key):
            import streamlit as st
            st.metric("Words", result.data["words"])

        register(ResultComponent(tool="count_words", draw=draw_counts))
    """

    tool: str
    draw: Callable[[ActionResult, Mapping[str, Any], str], None]
    plugin: str = ""

    def namespaced(self, plugin: str) -> ResultComponent:
        name = self.tool if "." in self.tool else f"{plugin}.{self.tool}"
        return replace(self, plugin=plugin, tool=name)


@dataclass(frozen=True)
class CommandGroup:
    """Subcommands a plugin adds to the ``lamworks`` CLI, as a ``typer.Typer`` app.

    Example::

        edu = typer.Typer(help="Education tools.")

        @edu.command()
        def calibrate(essays: Path) -> None: ...

        register(CommandGroup(name="edu", app=edu))      # lamworks edu calibrate ...

    The CLI finds groups through the configuration in ``--config``/``LAMWORKS_CONFIG``; a name
    that clashes with a core command or another plugin's group is refused. Declare the name in
    the entry-point group ``lamworks.commands`` of your distribution so that ``lamworks --help``
    lists it without importing your plugin (see ``register_commands``).
    """

    name: str
    app: Any
    help: str = ""
    plugin: str = ""

    def namespaced(self, plugin: str) -> CommandGroup:
        return replace(self, plugin=plugin)


@dataclass(frozen=True)
class AuditFormat:
    """An audit export format: ``write(entries, stream)`` writes audit entries to a text stream.

    Example (the healthcare plugin's FHIR AuditEvent export)::

        def write_fhir(entries, stream):
            for event in audit_events(entries):
                stream.write(event.model_dump_json() + "\\n")

        register(AuditFormat(name="fhir", write=write_fhir,
                             description="FHIR AuditEvent resources as NDJSON"))
    """

    name: str
    write: Callable[[Any, Any], None]
    description: str = ""
    plugin: str = ""

    def namespaced(self, plugin: str) -> AuditFormat:
        return replace(self, plugin=plugin)
