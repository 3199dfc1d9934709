"""The smaller things plugins register besides tools and policies.

- :class:`KnowledgeSource`: a folder of documents the knowledge layer ingests and cites.
- :class:`SlotExtractor`: finds domain entities (a practitioner, a course) in an utterance.
- :class:`UIPage`: a Streamlit page the app adds to its navigation.
- :class:`CommandGroup`: a group of ``lamworks <name> ...`` command-line subcommands.
- :class:`AuditFormat`: an export format for ``lamworks audit export --format NAME``.

Each is a small frozen dataclass; the core stamps ``plugin`` at registration. Planners have their
own module (:mod:`lamworks.planning`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .plan import Span

__all__ = ["AuditFormat", "CommandGroup", "EntityMatch", "KnowledgeSource", "SlotExtractor",
           "UIPage"]


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


@dataclass(frozen=True)
class CommandGroup:
    """Subcommands a plugin adds to the ``lamworks`` CLI, as a ``typer.Typer`` app.

    Example::

        edu = typer.Typer(help="Education tools.")

        @edu.command()
        def calibrate(essays: Path) -> None: ...

        register(CommandGroup(name="edu", app=edu))      # lamworks edu calibrate ...

    The CLI finds groups through the configuration in ``--config``/``LAMWORKS_CONFIG``; a name
    that clashes with a core command or another plugin's group is refused.
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
