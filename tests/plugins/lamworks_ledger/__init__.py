"""A sample third-party plugin whose write tools plan, then apply (:class:`lamworks.Change`).

Accounts live in a real SQLite file, each row versioned like a FHIR resource. ``open_account``
mints the new account's id when it plans; ``deposit`` expects the version it read. The applier
checks every version and writes every row in one transaction, or raises ``ChangeConflict``.
A policy refuses steps on accounts listed in ``frozen.txt`` in the data folder, so a test can
make it deny between a preview and its confirmation.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from lamworks import (
    ActionContext,
    ActionResult,
    Change,
    ChangeConflict,
    Decision,
    Policy,
    PolicyContext,
    Ref,
    Step,
    Tool,
    ToolError,
    Write,
    deny,
    hookimpl,
    policy,
    tool,
)


def _db(ctx: ActionContext) -> sqlite3.Connection:
    conn = sqlite3.connect(ctx.data_dir / "ledger.db", isolation_level=None, timeout=10)
    conn.execute("CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, owner TEXT, "
                 "balance INTEGER, version INTEGER)")
    return conn


def read_account(ctx: ActionContext, account_id: str) -> dict[str, Any] | None:
    """The account as stored, with its version (``None`` when there is none)."""
    conn = _db(ctx)
    row = conn.execute("SELECT owner, balance, version FROM accounts WHERE id = ?",
                       (account_id,)).fetchone()
    conn.close()
    return None if row is None else {"owner": row[0], "balance": row[1], "version": str(row[2])}


def write_accounts(ctx: ActionContext, change: Change) -> ActionResult:
    """Apply every write of the change in one transaction, or none when a version moved."""
    conn = _db(ctx)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for write in change.writes:
            account_id = write.url.partition("/")[2]
            row = conn.execute("SELECT version FROM accounts WHERE id = ?",
                               (account_id,)).fetchone()
            found = None if row is None else str(row[0])
            if found != write.if_match:
                raise ChangeConflict("ledger", f"{write.url} changed after you saw it; "
                                               "nothing was written.")
            resource = write.resource or {}
            conn.execute("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?)",
                         (account_id, resource["owner"], resource["balance"],
                          int(found or 0) + 1))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return change.result()


@tool(risk="write", scopes=["user/Account.c"], produces="Account", apply=write_accounts,
      examples=["open a ledger account for someone"])
def open_account(ctx: ActionContext, owner: str) -> Change:
    """Open a ledger account for an owner.

    Args:
        owner: Who owns the account.
    """
    seed = ctx.idempotency_key or uuid.uuid4().hex
    account_id = "acct-" + hashlib.sha256(seed.encode()).hexdigest()[:10]
    return Change(action=f"Open Account/{account_id} for {owner}.",
                  writes=[Write(method="PUT", url=f"Account/{account_id}",
                                resource={"owner": owner, "balance": 0})],
                  summary=f"Opened Account/{account_id}.", data={"account_id": account_id},
                  refs=[Ref(type="Account", id=account_id, display=owner)])


@tool(risk="write", scopes=["user/Account.u"], consumes=["Account"], apply=write_accounts,
      examples=["deposit money into a ledger account"])
def deposit(ctx: ActionContext, account: str, amount: int) -> Change:
    """Deposit an amount into a ledger account.

    Args:
        account: The account's id.
        amount: How much to deposit.
    """
    current = read_account(ctx, account)
    if current is None:
        raise ToolError("ledger.deposit", f"There is no account {account}.", field="account")
    before = {"owner": current["owner"], "balance": current["balance"]}
    after = {**before, "balance": current["balance"] + amount}
    return Change(action=f"Deposit {amount} into Account/{account}.",
                  writes=[Write(method="PUT", url=f"Account/{account}", resource=after,
                                if_match=current["version"], before=before)],
                  summary=f"Account/{account} now holds {after['balance']}.",
                  data={"balance": after["balance"]},
                  refs=[Ref(type="Account", id=account)])


@policy(stage="pre")
def frozen_accounts(step: Step, ctx: PolicyContext) -> Decision | None:
    """Steps on an account listed in the data folder's frozen.txt are refused."""
    frozen = ctx.action.data_dir / "frozen.txt"
    if frozen.exists() and \
            str(step.arguments.get("account")) in frozen.read_text().split():
        return deny("That account is frozen.")
    return None


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(open_account)
    register(deposit)


@hookimpl
def register_policies(register: Callable[[Policy], None]) -> None:
    register(frozen_accounts)
