"""Audit: browse the rows one may read, filter them, verify the chain, export them.

What a person sees and may do here is decided by :mod:`lamworks.ui.services`: their own rows
(``audit.read.own``) or every row (``audit.read.all``), export (``audit.export``) and chain
verification (``audit.verify``) only with those permissions.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from lamworks import AuditEntry
from lamworks.ui.responsive import responsive_table
from lamworks.ui.services import (
    export_audit,
    institution_time,
    page_refusal,
    verify_chain,
    visible_audit_rows,
)
from lamworks.ui.state import current_user, guarded, runtime


def render() -> None:
    rt = runtime()
    user = current_user()
    st.title("Audit log")
    refusal = page_refusal(rt, user, "audit")
    if refusal is not None:
        st.error(refusal)
        return
    everyone = rt.permits(user, "audit.read.all")
    if not everyone:
        st.caption("Your own activity only.")
    if rt.permits(user, "audit.verify"):
        left, right = st.columns([1, 3])
        if left.button("Verify chain", type="primary", width="stretch"):
            result = verify_chain(rt, user)
            if result.ok:
                right.success(str(result))
            else:
                right.error(str(result))

    entries = visible_audit_rows(rt, user)
    users = sorted({e.actor for e in entries})
    tools = sorted({e.tool for e in entries if e.tool})
    outcomes = sorted({e.outcome for e in entries if e.outcome})
    with st.expander("Filters", expanded=False):
        c1, c2, c3 = st.columns(3)
        chosen_users = c1.multiselect("User", users) if everyone else []
        chosen_tools = c2.multiselect("Tool", tools)
        chosen_outcomes = c3.multiselect("Decision / outcome", outcomes)
        today = rt.clock().date()  # the institution's today, not the server's
        window = st.date_input("Time range", (today - timedelta(days=30), today))

    def keep(e: AuditEntry) -> bool:
        when = institution_time(rt, e.ts).date()
        in_window = (not isinstance(window, tuple) or len(window) != 2
                     or window[0] <= when <= window[1])
        return ((not chosen_users or e.actor in chosen_users)
                and (not chosen_tools or e.tool in chosen_tools)
                and (not chosen_outcomes or e.outcome in chosen_outcomes) and in_window)

    shown = [e for e in entries if keep(e)]
    zone = rt.config.institution.timezone
    st.caption(f"{len(shown)} of {len(entries)} rows (newest first, up to 200 shown); "
               f"times in {zone}")
    # An HTML table on a wide screen, a card per row on a narrow one: nothing cut off.
    responsive_table(
        [{"seq": e.seq, "time": f"{institution_time(rt, e.ts):%Y-%m-%d %H:%M:%S %Z}",
          "user": e.actor,
          "role": e.role, "event": e.event,
          "tool": e.tool, "outcome": e.outcome,
          "policies": ", ".join(f"{d['policy']}:{d['kind']}" for d in e.decisions
                                if d.get("kind") != "allow")}
         for e in list(reversed(shown))[:200]],
        caption="Audit rows, newest first",
    )
    if rt.permits(user, "audit.export"):
        st.download_button(
            "Export (JSON Lines)", data=export_audit(rt, user, keep),
            file_name="lamworks-audit.jsonl", mime="application/jsonl",
        )


guarded(render)
