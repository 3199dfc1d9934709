"""lamworks healthcare plugin: front-desk administration on FHIR resources.

This is a plugin exactly as a third party would write one: a distribution with an entry point
in group ``lamworks`` (see ``pyproject.toml``) pointing at this module, whose ``@hookimpl``
functions the core calls. So far it contributes its settings and its clinic-operations
knowledge source; the FHIR tools and healthcare policies arrive with their own issue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lamworks import KnowledgeSource, hookimpl

__version__ = "0.1.0"

HERE = Path(__file__).parent


class HealthcareSettings(BaseModel):
    """``[plugins.healthcare]`` in lamworks.toml."""

    model_config = ConfigDict(extra="forbid")

    fhir_version: Literal["R4B", "R5"] = Field("R4B", description="FHIR release of resources.")
    fhir_url: str | None = Field(None, description="A FHIR REST server; embedded store if unset.")


@hookimpl
def plugin_settings() -> type[BaseModel]:
    return HealthcareSettings


@hookimpl
def register_knowledge_sources(register: Callable[[KnowledgeSource], None]) -> None:
    register(KnowledgeSource(name="clinic-operations", path=HERE / "knowledge",
                             description="Clinic operations: hours, policies, insurance, privacy."))
