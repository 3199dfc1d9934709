"""The healthcare safety policies. Each applies to the healthcare tools only (the core filters:
a policy declares its scope, see :class:`lamworks.policies.AppliesTo`), so the advice rule
screens only requests routed to a healthcare tool.

- ``no_clinical_advice`` (request): diagnosis, treatment and medication questions routed to a
  healthcare tool are refused before anything runs, with a pointer to a clinician (rules in
  :mod:`.advice`). Questions routed to the documents (``knowledge.answer_question``) are
  screened too when the asker is one of the clinic's people: a role that may use some
  healthcare tool (its scopes cover the tool's). A student's biology question to the course
  documents is not the clinic's business; a patient's "what dose should I take" is.
- ``hide_request_text`` (request, the same scope): the raw utterance of a refused request is not
  audited.
- ``own_records_only`` (pre): a patient self-service user acts only on their own records.
- ``preview_fhir_change`` (pre): every healthcare write waits for a person. What they confirm
  is the step's :class:`lamworks.Change` — the exact FHIR writes, planned by the tool once the
  policies allow the step and shown with the confirmation — and that change is what is
  committed. A write that cannot be planned (unknown practitioner, slot taken, date in the past)
  is denied by the runtime with the tool's reason.
- ``phi_out_of_audit`` (pre): names, birth dates, contact details, identifiers and free-text
  reasons are redacted from the audit log and journal (tools still receive them).
- ``minimum_necessary`` (post): result fields the acting role does not need are hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lamworks import (
    Decision,
    InstitutionConfig,
    Policy,
    PolicyContext,
    Step,
    Tool,
    confirm,
    deny,
    policy,
    redact,
)
from lamworks.plan import REF_PLACEHOLDER
from lamworks.scopes import missing_scopes

from .advice import advice_rule
from .directory import SELF_WORDS, is_self_service, linked_patient_id, patient_display
from .errors import ResourceNotFound

__all__ = ["POLICIES", "REFUSAL", "DEFAULT_HIDDEN_FIELDS", "KNOWLEDGE_TOOL", "clinic_roles",
           "scoped_policies"]

KNOWLEDGE_TOOL = "knowledge.answer_question"
"""The core's question answering over documents, where a health question may be routed."""

REFUSAL = ("I can't give medical advice (diagnosis, treatment or medication). Please ask a "
           "clinician: book an appointment, call the nurse line, or in an emergency call 911.")
PHI_ARGUMENTS = ("patient_name", "name", "first_name", "last_name", "birth_date", "phone",
                 "email", "address", "identifier", "reason")
#: Result fields each role does not need (HIPAA minimum necessary); settings may override.
DEFAULT_HIDDEN_FIELDS: dict[str, list[str]] = {
    "clinician": ["phone", "email", "address", "member_id"],
    "admin": ["phone", "email", "address", "birth_date", "member_id", "reason", "mrn"],
}
_CONTAINERS = ("", "candidates.", "appointments.", "patient.", "slots.")


@policy(stage="request")
def no_clinical_advice(step: Step, ctx: PolicyContext) -> Decision | None:
    """Requests for diagnosis, treatment or medication advice are refused."""
    if advice_rule(str(step.arguments.get("utterance", ""))):
        return deny(REFUSAL)
    return None


@policy(stage="request")
def hide_request_text(step: Step, ctx: PolicyContext) -> Decision | None:
    """A refused request's text (which may describe someone's health) is not audited."""
    return redact("utterance", reason="may contain health information")


@policy(stage="pre")
def own_records_only(step: Step, ctx: PolicyContext) -> Decision | None:
    """Patient self-service users see and change only their own records."""
    if not is_self_service(ctx.action):
        return None
    own = linked_patient_id(ctx.action)
    arguments = step.arguments
    refusal = deny("You can only see and change your own records.")
    patient_id = arguments.get("patient_id")
    if patient_id and str(patient_id).split("/", 1)[-1] != own:
        return refusal
    store = ctx.action.services.get("fhir")
    named = [str(arguments[k]) for k in ("patient_name", "name") if arguments.get(k)]
    named = [n for n in named if n.strip().lower() not in SELF_WORDS]
    if named or arguments.get("appointment_id") or arguments.get("identifier"):
        if store is None:
            return deny("The clinic's records are not available right now.")
        try:
            patient = store.read("Patient", own)
        except ResourceNotFound:
            return refusal
        mine = {w.lower() for w in patient_display(patient).split()}
        if any(not {w.lower() for w in n.split()} <= mine for n in named):
            return refusal
        identifier = arguments.get("identifier")
        if identifier and identifier not in {i.get("value") for i in
                                             patient.get("identifier", []) or []}:
            return refusal
        appointment_id = arguments.get("appointment_id")
        if appointment_id:
            try:
                appointment = store.read("Appointment", str(appointment_id).split("/")[-1])
            except ResourceNotFound:
                return refusal
            actors = {str((p.get("actor") or {}).get("reference"))
                      for p in appointment.get("participant", []) or []}
            if f"Patient/{own}" not in actors:
                return refusal
    return None


@policy(stage="pre")
def preview_fhir_change(step: Step, ctx: PolicyContext) -> Decision | None:
    """Every healthcare write waits for confirmation of the exact FHIR change it will make."""
    if not ctx.tool.plans_changes:
        return None
    if any(isinstance(v, dict) and REF_PLACEHOLDER in v for v in step.arguments.values()):
        # It uses a record an earlier step of the plan creates: the runtime checks it again
        # with the real values once that step has run, and plans the change then.
        return confirm("It uses the record the step before it creates; the exact change is "
                       "shown once that step has run.")
    # The runtime plans the change once this and every other policy allow the step, stores it
    # with the step and shows it with this confirmation (rendered from the stored change).
    return confirm("Changes to the clinic's records wait for you: please check exactly what "
                   "will be written.")


@policy(stage="pre")
def phi_out_of_audit(step: Step, ctx: PolicyContext) -> Decision | None:
    """Patient identifiers in a healthcare step's arguments never reach the audit log."""
    present = [name for name in PHI_ARGUMENTS if step.arguments.get(name)]
    return redact(*present, reason="PHI (HIPAA Safe Harbor identifiers)") if present else None


@policy(stage="post")
def minimum_necessary(step: Step, ctx: PolicyContext) -> Decision | None:
    """Results show only the fields the acting role needs."""
    hidden = _hidden_fields(ctx.action.settings).get(ctx.action.role, [])
    if not hidden:
        return None
    return redact(*(prefix + name for name in hidden for prefix in _CONTAINERS),
                  reason="minimum necessary for this role")


def _hidden_fields(settings: Any) -> dict[str, list[str]]:
    configured = getattr(settings, "hidden_fields", None)
    return dict(configured) if configured is not None else DEFAULT_HIDDEN_FIELDS


POLICIES = (no_clinical_advice, hide_request_text, own_records_only, preview_fhir_change,
            phi_out_of_audit, minimum_necessary)
"""As declared: each applies to the healthcare tools (the plugin's own, the default)."""


def clinic_roles(config: InstitutionConfig, tools: Iterable[Tool]) -> tuple[str, ...]:
    """The roles that may use at least one of ``tools`` (their scopes cover the tool's)."""
    needs = [t.scopes for t in tools]
    return tuple(name for name, role in config.roles.items()
                 if any(not missing_scopes(role.scopes, need) for need in needs))


def scoped_policies(config: InstitutionConfig, tools: Iterable[Tool]) -> tuple[Policy, ...]:
    """The policies as registered: the request-stage ones also screen questions to the
    documents asked by the clinic's people (:func:`clinic_roles`)."""
    own = list(tools)
    roles = clinic_roles(config, own)
    widened = [t.short_name for t in own] + [KNOWLEDGE_TOOL]
    return tuple(p.scoped(tools=widened, roles=roles) if p.stage == "request" else p
                 for p in POLICIES)
