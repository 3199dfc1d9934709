"""Audit: browse the hash-chained log, filter it, verify the chain, export it."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import streamlit as st

from lamworks.ui.state import guarded, runtime


def render() -> None:
    rt = runtime()
    st.title("Audit log")
    left, right = st.columns([1, 3])
    if left.button("Verify chain", type="primary", width="stretch"):
        result = rt.audit.verify()
        if result.ok:
            right.success(str(result))
        else:
            right.error(str(result))

    entries = list(rt.audit.entries())
    users = sorted({e.actor for e in entries})
    tools = sorted({e.tool for e in entries if e.tool})
    outcomes = sorted({e.outcome for e in entries if e.outcome})
    with st.expander("Filters", expanded=False):
        c1, c2, c3 = st.columns(3)
        chosen_users = c1.multiselect("User", users)
        chosen_tools = c2.multiselect("Tool", tools)
        chosen_outcomes = c3.multiselect("Decision / outcome", outcomes)
        today = date.today()
        window = st.date_input("Time range", (today - timedelta(days=30), today))

    def keep(e: object) -> bool:
        from lamworks import AuditEntry

        assert isinstance(e, AuditEntry)
        when = datetime.fromisoformat(e.ts).date()
        in_window = (not isinstance(window, tuple) or len(window) != 2
                     or window[0] <= when <= window[1])
        return ((not chosen_users or e.actor in chosen_users)
                and (not chosen_tools or e.tool in chosen_tools)
                and (not chosen_outcomes or e.outcome in chosen_outcomes) and in_window)

    shown = [e for e in entries if keep(e)]
    st.caption(f"{len(shown)} of {len(entries)} rows (newest first, up to 200 shown)")
    st.table(
        [{"seq": e.seq, "time": e.ts[:19].replace("T", " "), "user": e.actor,
          "role": e.role, "event": e.event,
          "tool": e.tool, "outcome": e.outcome,
          "policies": ", ".join(f"{d['policy']}:{d['kind']}" for d in e.decisions
                                if d.get("kind") != "allow")}
         for e in list(reversed(shown))[:200]],
    )
    st.download_button(
        "Export (JSON Lines)",
        data="".join(json.dumps(e.as_dict(), ensure_ascii=False) + "\n" for e in shown),
        file_name="lamworks-audit.jsonl", mime="application/jsonl",
    )


guarded(render)
