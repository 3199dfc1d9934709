"""Clinic schedule: a week grid of slots per practitioner (a Streamlit page run by the web app).

Rows are start times, columns the days of the chosen week; a cell shows "free" or "busy". The
page only reads the FHIR store the healthcare plugin published at start-up; no patient
information is shown, so every staff role may open it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

from lamworks.ui.state import runtime
from lamworks_healthcare.directory import practitioners
from lamworks_healthcare.scheduling import local_start

rt = runtime()
store = rt.services.get("fhir")
st.title("Clinic schedule")
if store is None:
    st.warning("The healthcare plugin's FHIR store is not available.")
    st.stop()

zone = ZoneInfo(rt.config.institution.timezone)
doctors = [p for p in practitioners(store) if p.schedule_id]
labels = {f"{p.display} ({p.specialty})": p for p in doctors}
chosen = labels[st.selectbox("Practitioner", list(labels))]
today = dt.datetime.now(zone).date()
week = st.number_input("Week (0 = this week)", min_value=0, max_value=4, value=0, step=1)
monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=int(week))
days = [monday + dt.timedelta(days=n) for n in range(5)]
since = dt.datetime.combine(days[0], dt.time(0), zone)
until = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(0), zone)
slots = store.search("Slot", {"schedule": f"Schedule/{chosen.schedule_id}",
                              "start": [f"ge{since.isoformat()}", f"lt{until.isoformat()}"]})
grid: dict[str, dict[str, str]] = {}
for slot in slots:
    begins = local_start(slot, zone)
    grid.setdefault(f"{begins:%H:%M}", {})[f"{begins:%a %d %b}"] = (
        "free" if slot["status"] == "free" else "busy")
columns = [f"{d:%a %d %b}" for d in days]
rows = [{"time": t, **{c: grid[t].get(c, "") for c in columns}} for t in sorted(grid)]
free = sum(1 for s in slots if s["status"] == "free")
st.caption(f"Week of {monday:%d %b %Y}: {free} free of {len(slots)} slots.")
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.info("No slots this week.")
