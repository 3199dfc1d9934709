"""Education policies: academic integrity, FERPA, age-appropriate content (K-12).

- ``academic_integrity`` (request stage): a request to write, rewrite or complete graded work is
  refused before planning, with an offer of feedback or tutoring instead
  (:mod:`lamworks_education.integrity` decides).
- ``ferpa_records`` (pre stage): ``education.grade_lookup`` for another student is refused unless
  the acting role is staff (``staff_roles`` setting: teachers, administrators).
- ``age_appropriate`` (request stage, only when ``institution.k12`` is true): requests about
  explicit, graphic or dangerous adult content are refused.

Essay text is data: no policy or tool reads instructions from it.
"""

from __future__ import annotations

import re

from lamworks import Decision, PolicyContext, Step, deny, policy

from .integrity import integrity_violation
from .settings import EducationSettings

__all__ = ["ALL_POLICIES", "academic_integrity", "age_appropriate", "ferpa_records"]

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


@policy(stage="request")
def age_appropriate(step: Step, ctx: PolicyContext) -> Decision | None:
    """In K-12 deployments, requests for adult or dangerous content are refused."""
    if not ctx.action.config.institution.k12:
        return None
    if _ADULT.search(str(step.arguments.get("utterance", ""))):
        return deny("That isn't something I can help with here. If you're worried about "
                    "something, please talk to a teacher or counsellor you trust.")
    return None


@policy(stage="pre")
def ferpa_records(step: Step, ctx: PolicyContext) -> Decision | None:
    """Education records only to the student themself and staff (teachers, administrators)."""
    if step.tool != "education.grade_lookup":
        return None
    action = ctx.action
    settings = action.settings if isinstance(action.settings, EducationSettings) else None
    staff = settings.staff_roles if settings else ["teacher", "admin"]
    if action.role in staff:
        return None
    link = action.user_config.links.get("student", "")
    own = link.split("/", 1)[-1] if link else ""
    wanted = str(step.arguments.get("student_id") or own).split("/")[-1]
    if not own or wanted != own:
        return deny("Education records are private (FERPA): you can see only your own grades.")
    return None


ALL_POLICIES = (academic_integrity, age_appropriate, ferpa_records)
