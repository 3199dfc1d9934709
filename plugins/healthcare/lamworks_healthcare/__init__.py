"""lamworks healthcare plugin: front-desk administration on FHIR resources.

This is a plugin exactly as a third party would write one: a distribution with an entry point
in group ``lamworks`` (see ``pyproject.toml``) pointing at this module, whose ``@hookimpl``
functions the core calls. It contributes:

- settings (``[plugins.healthcare]``): FHIR release, an optional FHIR server URL, demo data,
  which result fields each role may not see;
- eleven ``healthcare.*`` tools (:mod:`.tools`) on a FHIR store published as
  ``services["fhir"]`` at start-up (:mod:`.store_local` or :mod:`.store_rest`);
- safety policies (:mod:`.policies`), slot extractors for practitioner and patient names
  (:mod:`.extractors`), the clinic-operations knowledge source, a Clinic schedule page and the
  roles' home sections (:mod:`.home`: today's schedule, next openings, a clinician's day, a
  patient's appointments).

Importing this module is cheap: fhir.resources, httpx and Streamlit load only when used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from lamworks import (
    ActionResult,
    AuditFormat,
    HomeSection,
    InstitutionConfig,
    KnowledgeSource,
    Permission,
    Policy,
    SlotExtractor,
    Tool,
    UIPage,
    hookimpl,
)

__version__ = "0.1.0"

__all__ = ["HealthcareSettings", "__version__"]

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


class HealthcareSettings(BaseModel):
    """``[plugins.healthcare]`` in lamworks.toml."""

    model_config = ConfigDict(extra="forbid")

    fhir_version: Literal["R4B", "R5"] = Field("R4B", description="FHIR release of resources.")
    fhir_url: str | None = Field(None, description="A FHIR REST server; embedded store if unset.")
    fhir_timeout_s: float = Field(10.0, gt=0, description="Time-out of one FHIR request.")
    demo_data: bool = Field(True, description="Load the synthetic clinic into an empty "
                                              "embedded store at start-up.")
    hidden_fields: dict[str, list[str]] | None = Field(
        None, description="Result fields hidden per role (default: see policies.py).")


@hookimpl
def plugin_settings() -> type[BaseModel]:
    return HealthcareSettings


def _audit_safe(item: Tool) -> Tool:
    """The tool with an audit summary that names no one: summaries shown to staff name the
    patient, so the audit log records only which tool ran and which records it touched. (A
    write tool's function plans a Change; its ``apply`` returns the result.)"""

    def safe(act: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            result = act(*args, **kwargs)
            if isinstance(result, ActionResult) and result.audit_summary is None:
                touched = ", ".join(str(r) for r in result.refs) or "no records"
                result = result.model_copy(update={
                    "audit_summary": f"{item.name} completed ({touched})"})
            return result

        return run

    if item.apply is not None:
        return replace(item, apply=safe(item.apply))
    return replace(item, function=safe(item.function))


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    from .tools import TOOLS

    for item in TOOLS:
        register(_audit_safe(item))


@hookimpl
def register_policies(register: Callable[[Policy], None], config: InstitutionConfig) -> None:
    from .policies import scoped_policies
    from .tools import TOOLS

    for item in scoped_policies(config, TOOLS):
        register(item)


@hookimpl
def register_slot_extractors(register: Callable[[SlotExtractor], None]) -> None:
    from .extractors import PATIENT_EXTRACTOR, PRACTITIONER_EXTRACTOR

    register(PRACTITIONER_EXTRACTOR)
    register(PATIENT_EXTRACTOR)


@hookimpl
def register_knowledge_sources(register: Callable[[KnowledgeSource], None]) -> None:
    register(KnowledgeSource(name="clinic-operations", path=HERE / "knowledge",
                             description="Clinic operations: hours, policies, insurance, privacy."))


def write_audit_events(entries: Iterable[Any], stream: Any) -> None:
    """``lamworks audit export --format fhir``: FHIR AuditEvent resources as NDJSON."""
    from .audit_fhir import to_ndjson

    for line in to_ndjson(entries):
        stream.write(line + "\n")


@hookimpl
def register_audit_formats(register: Callable[[AuditFormat], None]) -> None:
    register(AuditFormat(name="fhir", write=write_audit_events,
                         description="FHIR R4B AuditEvent resources, one per line (NDJSON)"))


@hookimpl
def register_ui_pages(register: Callable[[UIPage], None]) -> None:
    register(UIPage(title="Clinic schedule", path=HERE / "ui_schedule.py", section="Assistant",
                    icon=":material/calendar_month:",
                    roles=("frontdesk", "clinician", "admin"), permission="page.schedule"))


@hookimpl
def register_home_sections(register: Callable[[HomeSection], None]) -> None:
    from .home import SECTIONS

    for section in SECTIONS:
        register(section)


@hookimpl
def register_permissions(register: Callable[[Permission], None]) -> None:
    register(Permission("page.schedule", "The Clinic schedule page (every practitioner's "
                        "appointments for a day).", default=True))


@hookimpl
def startup(config: InstitutionConfig, settings: HealthcareSettings | None,
            services: dict[str, Any]) -> None:
    from .clinic import load_demo_clinic
    from .store import open_store
    from .store_local import LocalFHIRStore

    settings = settings or HealthcareSettings()
    store = open_store(settings, config.data_dir)
    if settings.demo_data and isinstance(store, LocalFHIRStore) and store.count() == 0:
        zone = config.institution.timezone
        written = load_demo_clinic(store, datetime.now(ZoneInfo(zone)).date(), timezone=zone)
        log.info("loaded the synthetic demo clinic: %d resources", written)
    services["fhir"] = store
