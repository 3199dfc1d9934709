"""A FHIR R4/R4B REST server as the store, through httpx.

Spec behaviour we rely on (FHIR R4 http.html): conditional create with ``If-None-Exist``;
version-aware updates with ``If-Match: W/"<versionId>"`` (412 on a mismatch); searches that page
through ``Bundle.link[next]``; transactions as one ``POST`` of a ``transaction`` Bundle that the
server applies all-or-nothing. Errors come back as OperationOutcome and become
:mod:`.errors` exceptions whose messages name the issue code and element, never the server's
free-text diagnostics (which can echo submitted PHI; they stay on ``.diagnostics``).

Idempotent requests (GET, PUT, DELETE) are retried on connection failures, time-outs and 502,
503, 504; POSTs (create, transaction) never are, so nothing is created twice. Logs name the
method, resource type and status only, never URLs with search values or bodies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import (
    FHIRStoreError,
    InvalidResource,
    MultipleMatches,
    ResourceNotFound,
    ServerError,
    VersionConflict,
)
from .search import SearchParams
from .store import BundleEntry, transaction_bundle
from .validation import FHIRVersion, validate_resource

if TYPE_CHECKING:
    import httpx

__all__ = ["RestFHIRStore"]

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
_RETRY_STATUS = frozenset({502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})


class RestFHIRStore:
    """The :class:`~.store.FHIRStore` interface over a FHIR REST endpoint."""

    def __init__(self, base_url: str, *, fhir_version: FHIRVersion = "R4B",
                 timeout: float = 10.0, retries: int = 2, backoff: float = 0.2,
                 transport: httpx.BaseTransport | None = None,
                 headers: Mapping[str, str] | None = None, page_size: int = 200) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.fhir_version: FHIRVersion = fhir_version
        self.retries = retries
        self.backoff = backoff
        self.page_size = page_size
        self._client = httpx.Client(
            base_url=self.base_url + "/", timeout=timeout, transport=transport,
            headers={"Accept": FHIR_JSON, "Content-Type": FHIR_JSON, **dict(headers or {})},
        )

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"RestFHIRStore({self.base_url!r}, fhir_version={self.fhir_version!r})"

    # -- the interface ---------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return self._resource(self._request("GET", f"{resource_type}/{resource_id}",
                                            what=resource_type))

    def create(self, resource: Mapping[str, Any], *,
               if_none_exist: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
        validate_resource(body, self.fhir_version)
        headers = {"Prefer": "return=representation"}
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist
        rtype = str(resource["resourceType"])
        response = self._request("POST", rtype, json=body, headers=headers, what=rtype)
        return self._written(response, rtype)

    def update(self, resource: Mapping[str, Any], *,
               if_match: str | None = None) -> dict[str, Any]:
        body = dict(resource)
        validate_resource(body, self.fhir_version)
        headers = {"Prefer": "return=representation"}
        if if_match is not None:
            headers["If-Match"] = f'W/"{if_match}"'
        rtype = str(resource["resourceType"])
        response = self._request("PUT", f"{rtype}/{resource['id']}", json=body,
                                 headers=headers, what=rtype)
        return self._written(response, rtype)

    def delete(self, resource_type: str, resource_id: str) -> None:
        try:
            self._request("DELETE", f"{resource_type}/{resource_id}", what=resource_type)
        except ResourceNotFound:
            return

    def search(self, resource_type: str,
               params: SearchParams | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"_count": str(self.page_size), **dict(params or {})}
        limit = int(str(query["_count"])) if params and "_count" in params else None
        found: list[dict[str, Any]] = []
        url: str | None = resource_type
        pages = 0
        while url is not None and pages < 100:
            response = self._request("GET", url, params=query if pages == 0 else None,
                                     what=resource_type)
            bundle = self._json(response)
            if bundle.get("resourceType") != "Bundle":
                raise ServerError("The FHIR server answered a search with something other "
                                  "than a Bundle.")
            for entry in bundle.get("entry", []) or []:
                resource = entry.get("resource")
                mode = (entry.get("search") or {}).get("mode", "match")
                if isinstance(resource, dict) and mode == "match":
                    found.append(resource)
            if limit is not None and len(found) >= limit:
                return found[:limit]
            url = next((link.get("url") for link in bundle.get("link", []) or []
                        if link.get("relation") == "next"), None)
            pages += 1
        return found

    def transaction(self, entries: list[BundleEntry]) -> list[dict[str, Any]]:
        for entry in entries:
            if entry.resource is not None:
                body = entry.resource
                if entry.method == "POST":
                    body = {k: v for k, v in body.items() if k not in ("id", "meta")}
                validate_resource(body, self.fhir_version)
        bundle = transaction_bundle(entries)
        for entry in bundle["entry"]:
            if entry["request"]["method"] == "POST" and "resource" in entry:
                entry["resource"] = {k: v for k, v in entry["resource"].items()
                                     if k not in ("id", "meta")}
        response = self._request("POST", "", json=bundle, headers={
            "Prefer": "return=representation"}, what="Bundle")
        reply = self._json(response)
        if reply.get("resourceType") != "Bundle" or len(reply.get("entry", []) or []) != len(
                entries):
            raise ServerError("The FHIR server's reply to a transaction was not a matching "
                              "transaction-response Bundle.")
        results: list[dict[str, Any]] = []
        for entry, sent in zip(reply["entry"], entries, strict=True):
            resource = entry.get("resource")
            if resource is None and sent.method != "DELETE":
                location = (entry.get("response") or {}).get("location", "")
                resource = self._read_location(location, sent.url.split("/")[0])
            results.append(resource)
        return results

    # -- change feed (for caches such as the extractors' name index) -------------------------------

    def change_cursor(self, resource_types: Iterable[str]) -> str:
        """The newest ``lastUpdated`` in the types' histories (one ``_count=1`` request each)."""
        stamps = [_stamp(entry) for rtype in resource_types
                  for entry in self._history(rtype, None, 1)[0]]
        return max(stamps, default="")

    def changes_since(self, cursor: str, resource_types: Iterable[str]
                      ) -> tuple[str, list[tuple[str, str, dict[str, Any] | None]] | None]:
        """What was written to these types since ``cursor`` (a server ``lastUpdated``), oldest
        first, as ``(type, id, resource or None when deleted)``, with the new cursor.

        One ``GET [type]/_history?_since=`` per type (``_since`` is inclusive, so the newest
        change is seen again; applying it twice is harmless). When a type's changes do not fit
        in one page the answer is ``None``: the caller rebuilds from a search instead of paging
        through the history.
        """
        found: list[tuple[str, str, str, dict[str, Any] | None]] = []
        newest = cursor
        for rtype in resource_types:
            entries, more = self._history(rtype, cursor or None, self.page_size)
            if more:
                return cursor, None
            for entry in entries:
                stamp = _stamp(entry)
                newest = max(newest, stamp)
                resource = entry.get("resource")
                method = str((entry.get("request") or {}).get("method", "")).upper()
                rid = (resource or {}).get("id") or str(
                    (entry.get("request") or {}).get("url") or entry.get("fullUrl") or ""
                ).split("/_history")[0].rstrip("/").rsplit("/", 1)[-1]
                if not rid:
                    continue
                gone = method == "DELETE" or not isinstance(resource, dict)
                found.append((stamp, rtype, str(rid), None if gone else resource))
        # History bundles list the newest version first; apply the oldest first.
        found.sort(key=lambda item: item[0])
        return newest, [(rtype, rid, resource) for _, rtype, rid, resource in found]

    def _history(self, rtype: str, since: str | None, count: int
                 ) -> tuple[list[dict[str, Any]], bool]:
        params = {"_count": str(count), **({"_since": since} if since else {})}
        bundle = self._json(self._request("GET", f"{rtype}/_history", params=params,
                                          what=rtype))
        if bundle.get("resourceType") != "Bundle":
            raise ServerError("The FHIR server answered a history request with something "
                              "other than a Bundle.")
        more = any(link.get("relation") == "next" for link in bundle.get("link", []) or [])
        entries = [e for e in bundle.get("entry", []) or [] if isinstance(e, dict)]
        return entries, more

    # -- HTTP ------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, *, what: str, json: Any = None,
                 params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> httpx.Response:
        import httpx

        attempts = 1 + (self.retries if method in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(method, url, json=json, params=params,
                                                headers=headers)
            except httpx.TimeoutException:
                log.warning("FHIR %s %s timed out (attempt %d)", method, what, attempt + 1)
                if last:
                    raise ServerError("The FHIR server did not answer in time; "
                                      "nothing was changed" if method in _IDEMPOTENT else
                                      "The FHIR server did not answer in time; the change "
                                      "may or may not have been applied") from None
            except httpx.TransportError as exc:
                log.warning("FHIR %s %s failed: %s (attempt %d)", method, what,
                            type(exc).__name__, attempt + 1)
                if last:
                    raise ServerError(f"The FHIR server at {self.base_url} is not reachable; "
                                      "nothing was changed.") from None
            else:
                log.debug("FHIR %s %s -> %d", method, what, response.status_code)
                if response.status_code in _RETRY_STATUS and not last:
                    pass
                elif response.status_code >= 400:
                    raise _error_from(response, what)
                else:
                    return response
            time.sleep(self.backoff * (2 ** attempt))
        raise ServerError("The FHIR server kept failing; nothing was changed.")  # pragma: no cover

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise ServerError(f"The FHIR server sent a response that is not valid JSON "
                              f"(HTTP {response.status_code}).") from None
        if not isinstance(data, dict):
            raise ServerError("The FHIR server sent JSON that is not a FHIR resource.")
        return data

    def _resource(self, response: httpx.Response) -> dict[str, Any]:
        data = self._json(response)
        if "resourceType" not in data:
            raise ServerError("The FHIR server sent JSON that is not a FHIR resource.")
        return data

    def _written(self, response: httpx.Response, rtype: str) -> dict[str, Any]:
        if response.content.strip():
            data = self._resource(response)
            if data.get("resourceType") == rtype:
                return data
        # return=minimal or an OperationOutcome body: read what the Location points at.
        return self._read_location(response.headers.get("Location", ""), rtype)

    def _read_location(self, location: str, rtype: str) -> dict[str, Any]:
        parts = location.split("/_history")[0].rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] != rtype:
            raise ServerError("The FHIR server did not say where it stored the resource.")
        return self.read(rtype, parts[-1])


def _stamp(entry: dict[str, Any]) -> str:
    """When a history entry was written: ``response.lastModified`` or ``meta.lastUpdated``."""
    response = entry.get("response") or {}
    meta = (entry.get("resource") or {}).get("meta") or {}
    return str(response.get("lastModified") or meta.get("lastUpdated") or "")


def _error_from(response: httpx.Response, what: str) -> FHIRStoreError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    issues = body.get("issue", []) if isinstance(body, dict) and \
        body.get("resourceType") == "OperationOutcome" else []
    first = issues[0] if issues else {}
    code = str(first.get("code", "")) if isinstance(first, dict) else ""
    where = ", ".join(first.get("expression", []) or first.get("location", []) or []) \
        if isinstance(first, dict) else ""
    diagnostics = "; ".join(str(i.get("diagnostics", "")) for i in issues if isinstance(i, dict))
    detail = f" ({code}{': ' + where if where else ''})" if code else ""
    if status in (404, 410):
        return ResourceNotFound(f"{what} not found on the FHIR server{detail}.",
                                diagnostics=diagnostics)
    if status == 412 and (code == "multiple-matches" or "multiple" in diagnostics.lower()):
        return MultipleMatches(f"{what}: the condition matched several resources.",
                               diagnostics=diagnostics)
    if status in (409, 412):
        return VersionConflict(f"{what} was changed by someone else first{detail}.",
                               diagnostics=diagnostics)
    if status in (400, 422):
        return InvalidResource(f"The FHIR server refused the {what}{detail}.",
                               diagnostics=diagnostics)
    if body is None:
        return ServerError(f"The FHIR server failed (HTTP {status}) and its answer was not "
                           "valid JSON.")
    return ServerError(f"The FHIR server failed (HTTP {status}){detail}.",
                       diagnostics=diagnostics)
