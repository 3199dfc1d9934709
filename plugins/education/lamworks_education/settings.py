"""``[plugins.education]`` settings, validated by pydantic; errors name the key path."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .rubrics import Rubric

__all__ = ["EducationSettings"]


class EducationSettings(BaseModel):
    """``[plugins.education]`` in lamworks.toml."""

    model_config = ConfigDict(extra="forbid")

    default_rubric: str = Field("argumentative", description="Rubric used when none is named.")
    rubrics: dict[str, Rubric] = Field(
        default_factory=dict, description="Institution rubrics by name (may replace a built-in).")
    teacher_roles: list[str] = Field(
        default_factory=lambda: ["teacher"],
        description="Roles that see education records through the class roster (FERPA): the "
                    "grades of students enrolled in a course they teach, for those courses only.")
    student_roles: list[str] = Field(
        default_factory=lambda: ["student"],
        description="Roles held to the academic-integrity rule: their requests to the education "
                    "tools to write, rewrite or complete graded work are refused (staff "
                    "drafting a handout or a reminder are not).")
    staff_roles: list[str] = Field(
        default_factory=lambda: ["admin", "registrar"],
        description="Authorised staff roles that may see any student's education records "
                    "(FERPA school officials, e.g. registrar, admin). Not teachers: they are "
                    "limited to their own students (teacher_roles and the roster).")
    roster_csv: Path | None = Field(
        None,
        description="The enrolment roster, a CSV file with a header row naming the columns "
                    "course, teacher and student_id: one row per student enrolled in a course "
                    "(a row per teacher for co-taught courses). A teacher is a lamworks user "
                    "name, or the id in a user's links.teacher. Relative to the folder of "
                    "lamworks.toml; re-imported whenever the file changes.")
    course_sources: list[str] = Field(
        default_factory=lambda: ["course-material"],
        description="Knowledge sources (as in `lamworks kb list`) that the tutor and practice "
                    "quizzes draw on; add the source names of your own course folders.")
    use_embeddings: bool = Field(
        True, description="Use the sentence-embedding model for relevance and cohesion.")
    demo_grades: bool = Field(
        False, description="Seed a few demo grades, and a demo roster when roster_csv is unset "
                           "(the example config).")
    study_hour: int = Field(16, ge=0, le=23, description="Hour of day study sessions start.")

    @field_validator("staff_roles")
    @classmethod
    def _teachers_are_not_staff(cls, value: list[str], info: ValidationInfo) -> list[str]:
        teachers = set(info.data.get("teacher_roles") or ())
        both = [role for role in value if role in teachers]
        if both:
            raise ValueError(
                f"{both[0]!r} is also in teacher_roles: teachers may see only the students "
                "enrolled in their courses (the roster), so list only authorised staff such as "
                "registrar or admin here")
        return value

    @field_validator("roster_csv")
    @classmethod
    def _a_csv_file(cls, value: Path | None) -> Path | None:
        if value is not None and (not str(value).strip() or value.suffix.lower() != ".csv"):
            raise ValueError(f"{str(value)!r} is not a .csv file (columns course, teacher, "
                             "student_id)")
        return value

    @field_validator("course_sources")
    @classmethod
    def _some_sources(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one knowledge source, e.g. 'course-material'")
        return value
