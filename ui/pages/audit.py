"""Audit: browse the hash-chained log and verify it."""

from __future__ import annotations

import streamlit as st

from lamworks.ui.state import runtime

rt = runtime()
st.title("Audit log")

if st.button("Verify chain", type="primary"):
    result = rt.audit.verify()
    if result.ok:
        st.success(str(result))
    else:
        st.error(str(result))

rows = [
    {"seq": e.seq, "time": e.ts, "user": e.actor, "role": e.role, "event": e.event,
     "tool": e.tool, "outcome": e.outcome}
    for e in rt.audit.entries()
]
st.dataframe(rows[::-1], width="stretch", hide_index=True)
