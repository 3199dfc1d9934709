"""``[plugins.education]`` settings, validated by pydantic; errors name the key path."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .rubrics import Rubric

__all__ = ["EducationSettings"]


class EducationSettings(BaseModel):
    """``[plugins.education]`` in lamworks.toml."""

    model_config = ConfigDict(extra="forbid")

    default_rubric: str = Field("argumentative", description="Rubric used when none is named.")
    rubrics: dict[str, Rubric] = Field(
        default_factory=dict, description="Institution rubrics by name (may replace a built-in).")
    staff_roles: list[str] = Field(
        default_factory=lambda: ["teacher", "admin"],
        description="Roles that may see any student's education records (FERPA).")
    use_embeddings: bool = Field(
        True, description="Use the sentence-embedding model for relevance and cohesion.")
    demo_grades: bool = Field(False, description="Seed a few demo grades (the example config).")
    study_hour: int = Field(16, ge=0, le=23, description="Hour of day study sessions start.")
