"""A table that fits any screen: a real HTML table on a wide one, one card per row on a narrow one.

``st.dataframe`` draws on a canvas (a screen reader reads little of it) and ``st.table`` keeps
its columns side by side, so a table of eight columns is cut off on a 390 px phone. This one is
an HTML ``<table>`` with header cells; below 640 px each row becomes a block whose cells are
labelled by their column (``data-label``), so nothing is cut off on the right and long values
(``healthcare.list_appointments``) wrap anywhere; a header wraps only between words, so a
column is never narrower than its name's longest word ("essays", not "essa"/"ys"). Every value
is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["responsive_table", "table_html"]

_STYLE = """<style>
.lw-table {border-collapse: collapse; width: 100%; font-size: 0.9rem;}
.lw-table th, .lw-table td {border-bottom: 1px solid #d5d7de; padding: 0.3rem 0.5rem;
  text-align: left; vertical-align: top; overflow-wrap: anywhere;}
.lw-table th {font-weight: 600; overflow-wrap: normal;}
@media (max-width: 640px) {
  .lw-table thead {position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0 0 0 0);}
  .lw-table tr {display: block; border: 1px solid #d5d7de; border-radius: 0.5rem;
    margin-bottom: 0.5rem; padding: 0.25rem 0;}
  .lw-table td {display: flex; gap: 0.5rem; border: none; padding: 0.15rem 0.6rem;}
  .lw-table td::before {content: attr(data-label); font-weight: 600; min-width: 5.5rem;}
}
</style>"""


def table_html(rows: Sequence[Mapping[str, Any]], caption: str = "") -> str:
    """The HTML of ``rows`` (their first row's keys are the columns), with ``caption``."""
    columns = list(rows[0]) if rows else []
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td data-label="{html.escape(str(c))}">{html.escape(_text(row.get(c)))}</td>'
            for c in columns) + "</tr>"
        for row in rows)
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'{_STYLE}<table class="lw-table">{title}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def responsive_table(rows: Sequence[Mapping[str, Any]], caption: str = "") -> None:
    """Draw ``rows`` as :func:`table_html` (nothing for no rows)."""
    import streamlit as st

    if rows:
        st.html(table_html(rows, caption))
