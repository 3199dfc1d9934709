"""The clinic's records as they will be once earlier steps of a plan are applied.

While the runtime plans a later step of a plan (:attr:`lamworks.ActionContext.planned`), the
tools read through :class:`PlannedView`: the resources the earlier changes will write are seen
as written (a patient the step before registers can be booked), with the version the store will
give them, so the later change expects the right one. Nothing is written through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lamworks import Change

from .errors import FHIRStoreError, ResourceNotFound
from .search import SearchParams, matches
from .store import BundleEntry, FHIRStore, version_of

__all__ = ["PlannedView"]


class PlannedView:
    """A read-only :class:`~.store.FHIRStore` over ``store`` with ``changes`` applied in view."""

    def __init__(self, store: FHIRStore, changes: Iterable[Change]) -> None:
        self._store = store
        self.fhir_version = store.fhir_version
        self._planned: dict[tuple[str, str], dict[str, Any] | None] = {}
        for change in changes:
            for write in change.writes:
                rtype, _, rid = write.url.partition("/")
                if not rid:
                    continue  # a POST: the store picks the id, no later step can name it
                if write.method == "DELETE" or write.resource is None:
                    self._planned[(rtype, rid)] = None
                    continue
                resource = {**write.resource, "id": rid}
                version = version_of(write.before) if write.before is not None else None
                if version is None and (rtype, rid) in self._planned:
                    version = version_of(self._planned[(rtype, rid)] or {})
                following = str(int(version) + 1) if version and version.isdigit() else "1"
                resource["meta"] = {**(resource.get("meta") or {}), "versionId": following}
                self._planned[(rtype, rid)] = resource

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        key = (resource_type, resource_id)
        if key in self._planned:
            planned = self._planned[key]
            if planned is None:
                raise ResourceNotFound(f"{resource_type}/{resource_id} will be deleted")
            return dict(planned)
        return self._store.read(resource_type, resource_id)

    def search(self, resource_type: str,
               params: SearchParams | None = None) -> list[dict[str, Any]]:
        params = dict(params or {})
        count = params.pop("_count", None)
        found = [r for r in self._store.search(resource_type, params)
                 if (resource_type, r.get("id")) not in self._planned]
        found += [dict(r) for (rtype, _), r in self._planned.items()
                  if rtype == resource_type and r is not None and matches(r, params)]
        found.sort(key=lambda r: str(r.get("id")))
        return found[: int(str(count))] if count else found

    def create(self, resource: Mapping[str, Any], *,
               if_none_exist: str | None = None) -> dict[str, Any]:
        raise FHIRStoreError("planning writes nothing")

    def update(self, resource: Mapping[str, Any], *,
               if_match: str | None = None) -> dict[str, Any]:
        raise FHIRStoreError("planning writes nothing")

    def delete(self, resource_type: str, resource_id: str) -> None:
        raise FHIRStoreError("planning writes nothing")

    def transaction(self, entries: list[BundleEntry]) -> list[dict[str, Any]]:
        raise FHIRStoreError("planning writes nothing")

    def close(self) -> None:
        """The underlying store is the plugin's: it stays open."""
