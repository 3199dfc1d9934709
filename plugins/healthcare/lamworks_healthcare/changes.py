"""Applying a planned FHIR change: one all-or-nothing transaction, exactly as it was planned.

The healthcare write tools plan, then apply (see :class:`lamworks.Change`). Each tool function
reads the store, decides and returns the Change — every resource it will write; updates with the
``meta.versionId`` they expect (``If-Match``); new resources with ids minted by :func:`new_id`
from the step's idempotency key — and writes nothing. The runtime shows that change, binds the
confirmation to its digest and hands it to the applier :func:`fhir_transaction` builds, which
commits exactly those entries in one transaction or, when a version moved (the slot was taken,
the record was edited), nothing: it raises :class:`lamworks.ChangeConflict`, and the runtime
plans again and asks the person about the new situation. Nothing is prepared twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lamworks import ActionContext, ActionResult, Change, ChangeConflict, ToolError

from .errors import FHIRStoreError, InvalidResource, ResourceNotFound, ServerError, VersionConflict
from .store import BundleEntry, FHIRStore

__all__ = ["bundle_entries", "fhir_errors", "fhir_transaction", "new_id", "store_of"]


def store_of(ctx: ActionContext, tool: str) -> FHIRStore:
    store = ctx.services.get("fhir")
    if store is None:
        raise ToolError(tool, "The clinic's records are not available right now.")
    return store  # type: ignore[no-any-return]


@contextmanager
def fhir_errors(tool: str, *, conflict: str | None = None) -> Iterator[None]:
    """Turn store errors into ToolErrors with messages for end users (a version conflict into
    a :class:`~lamworks.ChangeConflict`: nothing was written)."""
    try:
        yield
    except VersionConflict:
        raise ChangeConflict(tool, conflict or "The record was changed by someone else "
                                               "meanwhile; nothing was changed.") from None
    except ResourceNotFound as exc:
        raise ToolError(tool, f"A record this needs was not found ({exc}).") from None
    except InvalidResource as exc:
        raise ToolError(tool, f"The change was not valid FHIR, so nothing was written: {exc}"
                        ) from None
    except ServerError as exc:
        raise ToolError(tool, str(exc)) from None
    except FHIRStoreError as exc:
        raise ToolError(tool, f"The clinic's records could not be updated: {exc}") from None


def new_id(prefix: str, ctx: ActionContext) -> str:
    """A new resource's id, minted once when its change is planned and stored in the change.

    It derives from the step's idempotency key (the runtime sets it while planning), so after a
    crash reconciliation finds the resource by the journal's key; without a key it is random.
    """
    seed = ctx.idempotency_key or uuid.uuid4().hex
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:20]}"


def bundle_entries(change: Change) -> list[BundleEntry]:
    """The change's writes as transaction Bundle entries, exactly as planned.

    ``If-None-Exist`` is a FHIR create condition: on a ``PUT`` of a new resource at a minted id it
    is checked by :func:`fhir_transaction` just before the transaction instead."""
    return [BundleEntry(w.method, w.url, dict(w.resource) if w.resource is not None else None,
                        if_match=w.if_match,
                        if_none_exist=w.if_none_exist if w.method == "POST" else None)
            for w in change.writes]


def fhir_transaction(tool: str, *, conflict: str) -> Any:
    """The applier of a healthcare write tool: commit the change in one transaction.

    ``conflict`` is what the person reads when a version the change expects has moved."""

    def apply(ctx: ActionContext, change: Change) -> ActionResult:
        store = store_of(ctx, tool)
        entries = bundle_entries(change)
        with fhir_errors(tool, conflict=conflict):
            for write in change.writes:
                if write.method == "PUT" and write.if_none_exist:
                    _check_none_exist(store, write.url, write.if_none_exist)
            written = store.transaction(entries)
        from .name_index import note_written

        note_written(store, entries, written)
        result = change.result()
        data = dict(result.data)
        data.setdefault("written", [f"{r['resourceType']}/{r['id']}" for r in written if r])
        return result.model_copy(update={"data": data})

    apply.__qualname__ = f"fhir_transaction[{tool}]"
    return apply


def _check_none_exist(store: FHIRStore, url: str, query: str) -> None:
    """A resource other than ``url`` that matches ``query`` is a conflict (registered meanwhile).

    Checked just before the transaction, not inside it: a FHIR server has no condition for a
    create at a client-chosen id."""
    from urllib.parse import parse_qsl

    rtype, _, rid = url.partition("/")
    params: dict[str, str | list[str]] = dict(parse_qsl(query, keep_blank_values=True))
    if any(found.get("id") != rid for found in store.search(rtype, params)):
        raise VersionConflict(f"another {rtype} matching {query} exists")
