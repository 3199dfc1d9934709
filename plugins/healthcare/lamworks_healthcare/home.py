"""The healthcare plugin's parts of the roles' home pages (``register_home_sections``).

- Staff not linked to a practitioner (the front desk): **Today's schedule**, every practitioner's
  booked appointments today with the patients' names, and **Next openings** to click and book.
- A clinician linked to a practitioner record (``links.practitioner``): **Your day**, their
  appointments today with the patients' names.
- A patient linked to a patient record (``links.patient``): **Your appointments**.

Every list comes from the plugin's own tools, run through the runtime for the person (scopes,
the policies that hide fields from a role, the audit log): a home page reads nothing the same
request typed in the chat could not. Which section a person sees rests on the scopes their role
holds (a clinic-wide list needs ``user/`` scopes, which a patient's ``patient/`` scopes do not
cover) and on what their user is linked to — never on a role's name.
"""

from __future__ import annotations

from typing import Any

from lamworks import ActionContext, HomeSection, HomeView

__all__ = ["SECTIONS", "todays_schedule", "your_day"]

LIST = "list_appointments"


def _today(ctx: ActionContext) -> dict[str, Any]:
    day = ctx.now().date().isoformat()
    return {"from_date": day, "to_date": day}


def _linked(kind: str) -> Any:
    def applies(ctx: ActionContext) -> bool:
        return bool(ctx.user_config and ctx.user_config.links.get(kind))

    return applies


def _front_desk(ctx: ActionContext) -> bool:
    links = ctx.user_config.links if ctx.user_config else {}
    return not links.get("practitioner") and not links.get("patient")


def _rows(result: Any, practitioner: str = "") -> list[dict[str, str]]:
    """``list_appointments``' rows as a person reads them: the time, whose, the reason."""
    data = result.data if isinstance(result.data, dict) else {}
    rows = []
    for row in data.get("appointments", []):
        shown = {"time": str(row.get("start") or "")[11:16]}
        if practitioner:
            shown["practitioner"] = practitioner
        shown["patient"] = str(row.get("patient") or "")
        shown["reason"] = str(row.get("reason") or "")
        rows.append(shown)
    return rows


def _table(rows: list[dict[str, str]]) -> None:
    """An HTML table (screen readers read it; it wraps on a narrow screen), without the
    columns that are empty in every row."""
    import streamlit as st

    keep = [k for k in rows[0] if any(r[k] for r in rows)]
    st.table([{k: r[k] for k in keep} for r in rows])


def todays_schedule(view: HomeView) -> None:
    """Every practitioner's appointments today from now on, one table: one
    ``list_appointments`` per practitioner (whose names come from the directory lookup the
    tools use; the patients' names only from the tool)."""
    import streamlit as st

    from .directory import practitioners

    store = view.context.services.get("fhir")
    if store is None:
        st.info("The clinic's records are not available.")
        return
    rows: list[dict[str, str]] = []
    for doctor in practitioners(store):
        if not doctor.schedule_id:
            continue
        result = view.run(LIST, {**_today(view.context), "practitioner": doctor.display})
        if result is None:
            return  # the reason is shown; one refusal is enough
        rows += _rows(result, doctor.display)
    rows.sort(key=lambda r: (r["time"], r["practitioner"]))
    now = f"{view.context.now():%H:%M}"
    coming = [r for r in rows if r["time"] >= now]
    if not rows:
        st.markdown("No appointments booked today.")
        return
    st.markdown(f"{len(rows)} appointment(s) booked today; {len(coming)} still to come"
                + (", the next ones:" if coming else "; the day's last ones:"))
    _table(coming[:8] if coming else rows[-8:])  # after hours, the day as it went


def your_day(view: HomeView) -> None:
    """The clinician's own appointments today (``list_appointments`` of their linked
    practitioner record), with the patients' names as the tool gives them."""
    import streamlit as st

    result = view.run(LIST, _today(view.context))
    if result is None:
        return
    rows = _rows(result)
    if not rows:
        st.markdown("No appointments today.")
        return
    st.markdown(f"{len(rows)} appointment(s) today.")
    _table(rows)


SECTIONS: tuple[HomeSection, ...] = (
    HomeSection(
        title="Today's schedule", draw=todays_schedule, tools=(LIST,),
        scopes=("user/Appointment.rs", "user/Patient.rs"), applies=_front_desk, order=10,
        description="Every practitioner's booked appointments today.",
        suggestions=("find patient Ana Ruiz born 1984-03-12", "is Ana Ruiz's insurance active")),
    HomeSection(
        title="Next openings", show="find_available_slots", tools=("book_appointment",),
        scopes=("user/Slot.rs",), applies=_front_desk, order=20,
        description="Pick one to book it; the assistant asks for whom.",
        suggestions=("first available family medicine slot",
                     "show open slots with a dermatologist on Friday")),
    HomeSection(
        title="Your day", draw=your_day, tools=(LIST,), applies=_linked("practitioner"),
        scopes=("user/Appointment.rs",), order=10,
        description="Your appointments today, with your patients' names.",
        suggestions=("refer Ana Ruiz to dermatology for a mole check",
                     "what appointments does Ana Ruiz have coming up")),
    HomeSection(
        title="Your appointments", show=LIST, applies=_linked("patient"), order=10,
        tools=("find_available_slots",),
        suggestions=("when is my next visit", "make an appointment with Dr. Okafor tomorrow "
                     "morning for me", "does my insurance cover a visit next week")),
)
"""The sections, in the order registered (``order`` sorts them with other plugins')."""
