"""Education policies: academic integrity, FERPA, age-appropriate content (K-12).

- ``academic_integrity`` (request stage): a student's request to an education tool to write,
  rewrite or complete graded work is refused before anything runs, with an offer of feedback or
  tutoring instead (:mod:`lamworks_education.integrity` decides). It applies to the education
  tools and, once registered, to the roles in ``student_roles``: staff rewriting a reminder or
  a handout, or a request for another plugin's tool, is none of its business.
- ``ferpa_records`` (pre stage, ``grade_lookup`` and ``list_essay_feedback``): grades and the
  essays filed for feedback go out only for the student themself,
  their teachers (a course on the enrolment roster that the teacher teaches and the student takes;
  :mod:`lamworks_education.roster`) and authorised staff (``staff_roles``: registrar, admin).
  The tools check again and return only the teacher's courses.
- ``age_appropriate`` (request stage, only when ``institution.k12`` is true): requests about
  explicit, graphic or dangerous adult content are refused. It applies to every plugin's tools
  (``plugins="*"``): in a K-12 deployment it is the institution's rule for every request.

Essay text is data: no policy or tool reads instructions from it.
"""

from __future__ import annotations

import re

from lamworks import Decision, Policy, PolicyContext, Step, deny, policy

from .integrity import integrity_violation
from .roster import record_access, student_of
from .settings import EducationSettings

__all__ = ["ALL_POLICIES", "academic_integrity", "age_appropriate", "ferpa_records",
           "scoped_policies"]

INTEGRITY_REFUSAL = (
    "I can't write, rewrite or complete graded work for you — that would break the academic "
    "integrity policy. I can give you rubric feedback on your own draft, tutor you on the "
    "topic, or make a practice quiz. Which would help?")

_ADULT = re.compile(
    r"\b(porn\w*|nsfw|sex(?:ual|y)? (?:story|stories|scene|content|pics?)|nude\w*|erotic\w*|"
    r"hentai|how to (?:make|buy|get|grow|cook) (?:meth|drugs|weed|cocaine|heroin|a bomb|"
    r"explosives|a gun)|buy (?:alcohol|vodka|beer|weed|vapes?) (?:underage|without id)|"
    r"online (?:gambling|casino)|sports betting|gore|graphic (?:violence|murder)|"
    r"self[- ]harm methods|how to kill)\b", re.IGNORECASE)


@policy(stage="request")
def academic_integrity(step: Step, ctx: PolicyContext) -> Decision | None:
    """Requests to write, rewrite or complete graded work are refused; feedback is offered."""
    if integrity_violation(str(step.arguments.get("utterance", ""))):
        return deny(INTEGRITY_REFUSAL)
    return None


@policy(stage="request", plugins="*")
def age_appropriate(step: Step, ctx: PolicyContext) -> Decision | None:
    """In K-12 deployments, requests for adult or dangerous content are refused."""
    if not ctx.action.config.institution.k12:
        return None
    if _ADULT.search(str(step.arguments.get("utterance", ""))):
        return deny("That isn't something I can help with here. If you're worried about "
                    "something, please talk to a teacher or counsellor you trust.")
    return None


@policy(stage="pre", tools=("grade_lookup", "list_essay_feedback"))
def ferpa_records(step: Step, ctx: PolicyContext) -> Decision | None:
    """Education records only to the student, their teachers (the roster) and authorised staff."""
    action = ctx.action
    settings = (action.settings if isinstance(action.settings, EducationSettings)
                else EducationSettings())
    wanted = str(step.arguments.get("student_id") or student_of(action)).strip()
    if not wanted:
        return None  # nothing to disclose: the tool asks which student
    course = str(step.arguments.get("course") or "")
    access = record_access(action, settings, wanted, course)
    return None if access.allowed else deny(access.reason)


ALL_POLICIES = (academic_integrity, age_appropriate, ferpa_records)


def scoped_policies(settings: EducationSettings) -> tuple[Policy, ...]:
    """The policies as registered: academic integrity held to the roles in ``student_roles``."""
    return (academic_integrity.scoped(roles=settings.student_roles), age_appropriate,
            ferpa_records)
