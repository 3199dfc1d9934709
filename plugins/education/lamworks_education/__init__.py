"""lamworks education plugin: essay feedback against rubrics (and each student's feedback
history), tutoring and practice quizzes from course material, study plans, grade lookup, the
teacher's and the student's home sections — and the policies that keep it honest (academic
integrity, FERPA, age-appropriate content).

A plugin exactly as a third party would write one: a distribution with an entry point in group
``lamworks`` (see ``pyproject.toml``) pointing at this module, whose ``@hookimpl`` functions the
core calls. Importing it is cheap: the embedding model and scikit-learn load on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lamworks import (
    CommandGroup,
    EntityMatch,
    HomeSection,
    InstitutionConfig,
    KnowledgeSource,
    Permission,
    Policy,
    ResultComponent,
    SlotExtractor,
    Span,
    Tool,
    UIPage,
    hookimpl,
)

from .coursework import COURSE_SOURCE
from .policies import scoped_policies
from .roster import check_roster_setting
from .settings import EducationSettings
from .tools import ALL_TOOLS, SERVICE_KEY

__all__ = ["EducationSettings", "__version__"]

__version__ = "0.1.0"

HERE = Path(__file__).parent
_STUDENT_ID = re.compile(r"\b(?:Student/)?(stu-\d{4})\b", re.IGNORECASE)


@hookimpl
def plugin_settings() -> type[BaseModel]:
    return EducationSettings


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    for item in ALL_TOOLS:
        register(item)


@hookimpl
def register_policies(register: Callable[[Policy], None], config: InstitutionConfig,
                      settings: BaseModel | None) -> None:
    if isinstance(settings, EducationSettings):
        # FERPA rests on the roster: a bad roster_csv stops the runtime here, naming the row.
        check_roster_setting(config, settings)
    for item in scoped_policies(settings if isinstance(settings, EducationSettings)
                                else EducationSettings()):
        register(item)


@hookimpl
def register_knowledge_sources(register: Callable[[KnowledgeSource], None]) -> None:
    register(KnowledgeSource(name=COURSE_SOURCE, path=HERE / "knowledge" / "course",
                             description="Grade 10 Biology, Unit 3: Introductory Ecology."))
    register(KnowledgeSource(name="academic-policies", path=HERE / "knowledge" / "policies",
                             description="Academic integrity, late work, appeals, grading."))


def _find_students(utterance: str, ctx: Any) -> list[EntityMatch]:
    """Student ids ("stu-0002") and the names of users linked to a student record
    (``[users.sam] display_name = "Sam Student"``, ``links.student``), as the student's id."""
    found = [EntityMatch("Student", m.group(1), Span(start=m.start(1), end=m.end(1),
                                                     text=m.group(1)))
             for m in _STUDENT_ID.finditer(utterance)]
    config = getattr(ctx, "config", None)
    for user in (config.users.values() if config is not None else ()):
        link, name = user.links.get("student", ""), " ".join(user.display_name.split())
        if not link or len(name.split()) < 2:
            continue  # a single word is too likely to be something else
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?:'s)?(?!\w)", utterance, re.I):
            found.append(EntityMatch("Student", link.split("/")[-1],
                                     Span(start=m.start(), end=m.start() + len(name),
                                          text=utterance[m.start():m.start() + len(name)])))
    return found


@hookimpl
def register_slot_extractors(register: Callable[[SlotExtractor], None]) -> None:
    from .courses import COURSE_ENTITY, find_courses
    from .topics import TOPIC_ENTITY, find_topics

    register(SlotExtractor(name="students", entity_type="Student", extract=_find_students,
                           generic="someone"))
    register(SlotExtractor(name="topics", entity_type=TOPIC_ENTITY, extract=find_topics,
                           generic="a topic"))
    register(SlotExtractor(name="courses", entity_type=COURSE_ENTITY, extract=find_courses,
                           generic="a course"))


@hookimpl
def register_ui_pages(register: Callable[[UIPage], None]) -> None:
    register(UIPage(title="Essay feedback", path=HERE / "ui_essay.py", section="Assistant",
                    icon=":material/edit_note:", roles=("teacher", "student", "admin"),
                    permission="page.essay_feedback"))


@hookimpl
def register_home_sections(register: Callable[[HomeSection], None]) -> None:
    from .home import SECTIONS

    for section in SECTIONS:
        register(section)


@hookimpl
def register_result_components(register: Callable[[ResultComponent], None]) -> None:
    from .ui_feedback import draw_essay_feedback

    # The chat draws essay feedback with the Essay feedback page's component.
    register(ResultComponent(tool="essay_feedback", draw=draw_essay_feedback))


@hookimpl
def register_permissions(register: Callable[[Permission], None]) -> None:
    register(Permission("page.essay_feedback", "The Essay feedback page (rubric scores and "
                        "next steps for a draft).", default=True))


@hookimpl
def register_commands(register: Callable[[CommandGroup], None]) -> None:
    from .cli import edu_cli

    register(CommandGroup(name="edu", app=edu_cli, help="Essay scoring and calibration."))


def _prepare_records(config: InstitutionConfig, settings: EducationSettings) -> None:
    """The records' tables, the roster and (when on) the demo grade book in place before the
    first request, so that the course extractor knows the courses from the start. A failure
    here is left to the first tool that opens the records, which reports it to the user."""
    import logging
    import sqlite3

    from .roster import RosterError, sync_roster
    from .store import connect

    try:
        with connect(config.data_dir, demo_grades=settings.demo_grades) as db:
            sync_roster(db, settings, config)
    except (sqlite3.Error, RosterError, OSError) as exc:
        logging.getLogger(__name__).warning("education records not prepared at start-up: %s",
                                            exc)


@hookimpl
def startup(config: InstitutionConfig, settings: BaseModel | None,
            services: dict[str, Any]) -> None:
    from .service import EssayService

    chosen = settings if isinstance(settings, EducationSettings) else EducationSettings()
    services[SERVICE_KEY] = EssayService(config.data_dir, chosen)
    _prepare_records(config, chosen)
    # The academic-integrity policy's learned stage is fitted once per process (~1 s); fit it
    # in the background now rather than on the first request.
    import threading

    from .integrity_model import warm_up

    threading.Thread(target=warm_up, name="integrity-fit", daemon=True).start()
