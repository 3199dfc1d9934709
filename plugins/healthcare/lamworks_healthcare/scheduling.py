"""Free slots: which schedules match, which slots in a date range and part of day are free.

Times are the institution's local time; slots are stored with their UTC offset, so searches
send full instants (``ge2026-12-01T00:00:00-06:00``) and never depend on the server's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .directory import PractitionerInfo
from .store import FHIRStore
from .valuesets import SERVICE_TYPE_SYSTEM, SNOMED, SPECIALTIES

__all__ = ["PART_OF_DAY_HOURS", "PartOfDay", "free_slots", "local_start", "plain_span",
           "slot_label"]

PartOfDay = Literal["morning", "afternoon", "evening"]
PART_OF_DAY_HOURS: dict[str, tuple[int, int]] = {
    "morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}


def local_start(slot: dict[str, Any], zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromisoformat(str(slot["start"]).replace("Z", "+00:00")).astimezone(zone)


def slot_label(slot: dict[str, Any], zone: ZoneInfo) -> str:
    start = local_start(slot, zone)
    return f"{start:%a %d %b %Y %H:%M}"


def plain_span(resource: dict[str, Any], zone: ZoneInfo,
               today: dt.date | None = None) -> str:
    """A slot's or an appointment's time as people say it, in the clinic's zone: ``Thu 3 Dec,
    9:30–9:50`` (the year only when it is not ``today``'s; no end when there is none)."""
    start = local_start(resource, zone)
    day = f"{start:%a} {start.day} {start:%b}"
    if today is not None and start.year != today.year:
        day += f" {start.year}"
    text = f"{day}, {start.hour}:{start:%M}"
    if resource.get("end"):
        end = dt.datetime.fromisoformat(str(resource["end"]).replace("Z", "+00:00"))
        end = end.astimezone(zone)
        text += f"–{end.hour}:{end:%M}"
    return text


def schedules_for(store: FHIRStore, *, practitioner: PractitionerInfo | None = None,
                  specialty: str | None = None,
                  service_type: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, str | list[str]] = {"active": "true"}
    if practitioner is not None:
        params["actor"] = practitioner.reference
    if specialty:
        params["specialty"] = f"{SNOMED}|{SPECIALTIES[specialty][0]}"
    if service_type:
        params["service-type"] = f"{SERVICE_TYPE_SYSTEM}|{service_type}"
    return store.search("Schedule", params)


def free_slots(store: FHIRStore, zone: ZoneInfo, schedules: Sequence[dict[str, Any]], *,
               start: dt.date, end: dt.date, now: dt.datetime,
               part_of_day: PartOfDay | None = None, at: dt.time | None = None,
               status: str = "free") -> list[dict[str, Any]]:
    """Slots of these schedules on days ``start``..``end`` (inclusive), soonest first."""
    since = dt.datetime.combine(start, dt.time(0), zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), zone)
    found: list[dict[str, Any]] = []
    for schedule in schedules:
        found += store.search("Slot", {
            "schedule": f"Schedule/{schedule['id']}", "status": status,
            "start": [f"ge{since.isoformat()}", f"lt{until.isoformat()}"]})
    out = []
    for slot in found:
        begins = local_start(slot, zone)
        if begins < now:
            continue
        if part_of_day is not None:
            low, high = PART_OF_DAY_HOURS[part_of_day]
            if not low <= begins.hour < high:
                continue
        if at is not None and (begins.hour, begins.minute) != (at.hour, at.minute):
            continue
        out.append(slot)
    return sorted(out, key=lambda s: local_start(s, zone))
