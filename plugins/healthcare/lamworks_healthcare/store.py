"""The FHIR store interface both stores implement, and helpers shared by them.

:class:`FHIRStore` is a small, spec-shaped subset of the FHIR REST API: ``read``, ``create``
(optionally conditional), ``update`` (optionally version-checked), ``delete``, ``search`` and
all-or-nothing ``transaction`` Bundles. Resources travel as plain JSON dicts and are validated
(value sets and fhir.resources) before any write. :func:`open_store` picks the implementation
from the plugin's settings.

What does not live here: the clinic's data (:mod:`.clinic`) and what the tools do with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from .search import SearchParams
from .validation import FHIRVersion

__all__ = ["BundleEntry", "FHIRStore", "open_store", "transaction_bundle", "version_of"]


@runtime_checkable
class FHIRStore(Protocol):
    """What the tools need from a FHIR server. Every method raises ``FHIRStoreError``s."""

    fhir_version: FHIRVersion

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """The current version; ``ResourceNotFound`` when absent or deleted."""
        ...

    def create(self, resource: Mapping[str, Any], *,
               if_none_exist: str | None = None) -> dict[str, Any]:
        """Create (server assigns the id); with ``if_none_exist`` return the existing match."""
        ...

    def update(self, resource: Mapping[str, Any], *,
               if_match: str | None = None) -> dict[str, Any]:
        """Update (or create at that id); ``if_match`` is a versionId, checked first."""
        ...

    def delete(self, resource_type: str, resource_id: str) -> None:
        """Delete; deleting what is not there is not an error (FHIR allows either)."""
        ...

    def search(self, resource_type: str,
               params: SearchParams | None = None) -> list[dict[str, Any]]:
        """Every match (all pages) of a search with the parameters in :mod:`.search`."""
        ...

    def transaction(self, entries: list[BundleEntry]) -> list[dict[str, Any]]:
        """Apply all entries or none; returns the resulting resources (None for deletes)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class BundleEntry:
    """One entry of a transaction Bundle: ``POST``/``PUT``/``DELETE`` with its conditions."""

    method: Literal["POST", "PUT", "DELETE"]
    url: str
    resource: dict[str, Any] | None = None
    if_match: str | None = None
    if_none_exist: str | None = None
    full_url: str | None = field(default=None)

    def as_fhir(self) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.if_match:
            request["ifMatch"] = f'W/"{self.if_match}"'
        if self.if_none_exist:
            request["ifNoneExist"] = self.if_none_exist
        entry: dict[str, Any] = {"request": request}
        if self.full_url:
            entry["fullUrl"] = self.full_url
        if self.resource is not None:
            entry["resource"] = self.resource
        return entry


def transaction_bundle(entries: list[BundleEntry]) -> dict[str, Any]:
    """The FHIR transaction Bundle for these entries."""
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [e.as_fhir() for e in entries]}


def version_of(resource: Mapping[str, Any]) -> str | None:
    """``meta.versionId`` of a resource, if it has one."""
    meta = resource.get("meta") or {}
    value = meta.get("versionId")
    return str(value) if value is not None else None


def open_store(settings: Any, data_dir: Path) -> FHIRStore:
    """The REST store when ``settings.fhir_url`` is set, else the local SQLite store."""
    version: FHIRVersion = getattr(settings, "fhir_version", "R4B")
    url = getattr(settings, "fhir_url", None)
    if url:
        from .store_rest import RestFHIRStore

        return RestFHIRStore(url, fhir_version=version,
                             timeout=getattr(settings, "fhir_timeout_s", 10.0))
    from .store_local import LocalFHIRStore

    return LocalFHIRStore(data_dir / "fhir.sqlite", fhir_version=version)
