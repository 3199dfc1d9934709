"""lamworks education plugin: essay feedback against rubrics and tutoring from course material.

This is a plugin exactly as a third party would write one: a distribution with an entry point
in group ``lamworks`` (see ``pyproject.toml``) pointing at this module, whose ``@hookimpl``
functions the core calls. So far it contributes its settings and its knowledge sources (course
material and academic policies); the essay and tutoring tools arrive with their own issue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lamworks import KnowledgeSource, hookimpl

__version__ = "0.1.0"

HERE = Path(__file__).parent


class EducationSettings(BaseModel):
    """``[plugins.education]`` in lamworks.toml."""

    model_config = ConfigDict(extra="forbid")

    default_rubric: str = Field("argumentative", description="Rubric used when none is named.")


@hookimpl
def plugin_settings() -> type[BaseModel]:
    return EducationSettings


@hookimpl
def register_knowledge_sources(register: Callable[[KnowledgeSource], None]) -> None:
    register(KnowledgeSource(name="course-material", path=HERE / "knowledge" / "course",
                             description="Grade 10 Biology, Unit 3: Introductory Ecology."))
    register(KnowledgeSource(name="academic-policies", path=HERE / "knowledge" / "policies",
                             description="Academic integrity, late work, appeals, grading."))
