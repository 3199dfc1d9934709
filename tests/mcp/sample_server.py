"""A small MCP server written with the official SDK (``MCPServer``), for the mounting tests: a
neighbourhood library's loans. One read tool (``find_book``), two write tools (``lend_book``,
``renew_loan``). Run as ``python sample_server.py`` (stdio).

Its loans are appended to the JSON-lines file named by ``LIBRARY_LOANS`` (one line per loan that
really happened, with the idempotency key lamworks sent in ``_meta``), so a test can count how
many times a write ran. ``LIBRARY_MODE`` makes it misbehave: ``crash_on_start`` exits at once,
``hang_on_start`` never answers, ``hang_on_call`` never finishes a write, ``crash_on_call`` dies
in the middle of one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

MODE = os.environ.get("LIBRARY_MODE", "ok")
LOANS = Path(os.environ.get("LIBRARY_LOANS", "loans.jsonl"))
CATALOGUE = {"dune": "Dune by Frank Herbert", "emma": "Emma by Jane Austen",
             "beloved": "Beloved by Toni Morrison"}

library = MCPServer("library-loans", version="1.0",
                    instructions="Loans of the neighbourhood library.")


def _misbehave() -> None:
    if MODE == "hang_on_call":
        time.sleep(3600)
    if MODE == "crash_on_call":
        os._exit(3)


@library.tool()
def find_book(title: Annotated[str, Field(description="The book's title")]) -> dict[str, object]:
    """Look up a book in the library catalogue by its title and say whether it is on the
    shelf."""
    key = title.strip().lower()
    lent = sum(1 for line in _loans() if line["title"] == key)
    return {"title": CATALOGUE.get(key, title), "in_catalogue": key in CATALOGUE,
            "on_shelf": key in CATALOGUE and lent == 0}


@library.tool(meta={"io.lamworks/examples": ["lend Emma to Sam Carter",
                                             "check out the book Beloved for Dana Brooks"]})
def lend_book(title: Annotated[str, Field(description="The title of the book to lend")],
              member_name: Annotated[str, Field(description="The name of the library member "
                                                            "borrowing the book")],
              ctx: Context) -> str:
    """Lend a library book to a member (records the loan)."""
    _misbehave()
    key = (ctx.request_context.meta or {}).get("io.lamworks/idempotency-key", "")
    with LOANS.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"title": title.strip().lower(), "member": member_name,
                              "key": key}) + "\n")
    return f"Lent {CATALOGUE.get(title.strip().lower(), title)} to {member_name}."


@library.tool()
def renew_loan(title: Annotated[str, Field(description="The title of the lent book")]) -> str:
    """Renew the loan of a book for two more weeks."""
    _misbehave()
    return f"Renewed {title} for two weeks."


def _loans() -> list[dict[str, str]]:
    if not LOANS.exists():
        return []
    return [json.loads(line) for line in LOANS.read_text(encoding="utf-8").splitlines()]


if __name__ == "__main__":
    if MODE == "crash_on_start":
        print("library server: cannot open its catalogue", file=sys.stderr)
        sys.exit(2)
    if MODE == "hang_on_start":
        time.sleep(3600)
    library.run("stdio")
