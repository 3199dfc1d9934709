"""Applying a planned FHIR change: one all-or-nothing transaction, exactly as it was planned.

The healthcare write tools plan, then apply (see :class:`lamworks.Change`). Each tool function
reads the store, decides and returns the Change — every resource it will write; updates with the
``meta.versionId`` they expect (``If-Match``); new resources with ids minted by :func:`new_id`
from the step's idempotency key — and writes nothing. The runtime shows that change, binds the
confirmation to its digest and hands it to the applier :func:`fhir_transaction` builds, which
commits exactly those entries in one transaction or, when a version moved (the slot was taken,
the record was edited), nothing: it raises :class:`lamworks.ChangeConflict`, and the runtime
plans again and asks the person about the new situation. Nothing is prepared twice.

Exactly once across crashes: every resource a change writes carries the step's idempotency key
as a ``meta.tag`` (:data:`KEY_SYSTEM`; :func:`stamped` replaces the tag of the action that wrote
it before), put there when the change is planned, so it is part of what the person confirms.
After a crash :func:`fhir_reconciler` finds the resources by that tag (a FHIR ``_tag`` search,
which any server answers) — never from the step's arguments, which the journal does not keep.
:func:`fhir_compensation` undoes an applied change (a later step of its plan could not run):
resources it created are deleted and resources it updated get their previous content back, in
one transaction, each only if it still carries the change's key (else nobody's later edit is
overwritten: nothing is undone).

Limitation: a resource the action wrote that someone else changed between the crash and the
restart's reconciliation no longer carries the key; if every resource of the change did, the
entry is marked abandoned although it happened (possible only with several replicas, and
reconciliation runs at start-up, before serving).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lamworks import ActionContext, ActionResult, Change, ChangeConflict, Ref, ToolError

from .errors import FHIRStoreError, InvalidResource, ResourceNotFound, ServerError, VersionConflict
from .store import BundleEntry, FHIRStore

__all__ = ["KEY_SYSTEM", "bundle_entries", "fhir_compensation", "fhir_errors",
           "fhir_reconciler", "fhir_transaction", "key_of", "new_id", "stamped", "store_of"]

KEY_SYSTEM = "urn:lamworks:idempotency-key"
"""The ``meta.tag`` system whose code is the key of the action that wrote the resource last."""


def store_of(ctx: ActionContext, tool: str) -> FHIRStore:
    """The clinic's store; while a later step of a plan is planned, seen through the changes
    the earlier steps will make (:attr:`lamworks.ActionContext.planned`)."""
    store = ctx.services.get("fhir")
    if store is None:
        raise ToolError(tool, "The clinic's records are not available right now.")
    if ctx.planned:
        from .planned import PlannedView

        return PlannedView(store, ctx.planned)
    return store  # type: ignore[no-any-return]


def stamped(resource: dict[str, Any], key: str) -> dict[str, Any]:
    """``resource`` with ``key`` as its :data:`KEY_SYSTEM` tag (replacing an earlier action's);
    unchanged without a key (a tool called directly, outside the runtime)."""
    if not key:
        return resource
    meta = dict(resource.get("meta") or {})
    tags = [t for t in meta.get("tag", []) or [] if t.get("system") != KEY_SYSTEM]
    meta["tag"] = [*tags, {"system": KEY_SYSTEM, "code": key}]
    return {**resource, "meta": meta}


def key_of(resource: dict[str, Any]) -> str | None:
    """The key of the action that wrote ``resource`` last, if it carries one."""
    for tag in (resource.get("meta") or {}).get("tag", []) or []:
        if tag.get("system") == KEY_SYSTEM:
            return str(tag.get("code"))
    return None


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
        if ctx.idempotency_key and any(
                w.resource is not None and key_of(w.resource) != ctx.idempotency_key
                for w in change.writes):
            # Reconciliation looks the key up: a change stamped with another key could not
            # be found after a crash, so it is not applied.
            raise ToolError(tool, "This change was prepared for another action; nothing was "
                                  "written. Please ask again.")
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


def fhir_reconciler(tool: str, *resource_types: str) -> Any:
    """The ``reconcile`` of a healthcare write tool: after a crash, the resources of these
    types that carry the key (a ``_tag`` search); ``None`` when there are none, so nothing of
    the change was committed (it is one transaction)."""

    def reconcile(ctx: ActionContext, key: str) -> ActionResult | None:
        store = store_of(ctx, tool)
        with fhir_errors(tool):
            found = [(rtype, r["id"]) for rtype in resource_types
                     for r in store.search(rtype, {"_tag": f"{KEY_SYSTEM}|{key}"})]
        if not found:
            return None
        return ActionResult(summary="Done (recovered after a restart).",
                            data={"written": [f"{t}/{i}" for t, i in found]},
                            refs=[Ref(type=t, id=i) for t, i in found])

    reconcile.__qualname__ = f"fhir_reconciler[{tool}]"
    return reconcile


def fhir_compensation(tool: str) -> Any:
    """The ``compensate`` of a healthcare write tool: undo an applied change in one transaction
    — delete what it created, put back the previous content of what it updated — when every
    resource still carries the change's key; otherwise someone edited them since and nothing is
    undone (:class:`lamworks.ChangeConflict`)."""

    def compensate(ctx: ActionContext, change: Change | None, key: str) -> ActionResult:
        store = store_of(ctx, tool)
        if change is None:
            raise ToolError(tool, "There is no record of what this step wrote to undo.")
        entries: list[BundleEntry] = []
        undone: list[Ref] = []
        with fhir_errors(tool, conflict="The records were changed after this step; it was not "
                                        "undone."):
            for write in reversed(change.writes):
                rtype, _, rid = write.url.partition("/")
                if write.method != "PUT" or not rid:
                    raise ToolError(tool, f"{write.method} {write.url} cannot be undone.")
                current = store.read(rtype, rid)
                if key_of(current) != key:
                    raise VersionConflict(f"{write.url} was changed after this step")
                version = str((current.get("meta") or {}).get("versionId") or "") or None
                if write.before is None:
                    entries.append(BundleEntry("DELETE", write.url, if_match=version))
                else:
                    entries.append(BundleEntry("PUT", write.url,
                                               stamped(dict(write.before), ctx.idempotency_key),
                                               if_match=version))
                undone.append(Ref(type=rtype, id=rid))
            written = store.transaction(entries)
        from .name_index import note_written

        note_written(store, entries, written)
        return ActionResult(summary="Undone.", refs=undone)

    compensate.__qualname__ = f"fhir_compensation[{tool}]"
    return compensate


def _check_none_exist(store: FHIRStore, url: str, query: str) -> None:
    """A resource other than ``url`` that matches ``query`` is a conflict (registered meanwhile).

    Checked just before the transaction, not inside it: a FHIR server has no condition for a
    create at a client-chosen id."""
    from urllib.parse import parse_qsl

    rtype, _, rid = url.partition("/")
    params: dict[str, str | list[str]] = dict(parse_qsl(query, keep_blank_values=True))
    if any(found.get("id") != rid for found in store.search(rtype, params)):
        raise VersionConflict(f"another {rtype} matching {query} exists")
