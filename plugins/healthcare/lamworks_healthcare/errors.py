"""Errors raised by the FHIR stores, one tree shared by the local and the REST store.

::

    FHIRStoreError              base; ``str()`` is safe to show (no PHI, no server internals)
    ├── ResourceNotFound        read of an id that does not exist (or was deleted)
    ├── VersionConflict         If-Match failed: someone changed the resource first
    ├── InvalidResource         a resource failed validation (ours or the server's)
    ├── MultipleMatches         a conditional create matched more than one resource
    └── ServerError             the server is down, timed out, or answered nonsense

Tools turn these into :class:`lamworks.ToolError` messages for end users. Server diagnostics
(which may echo submitted values) are kept on ``diagnostics`` and never put into ``str()``.
"""

from __future__ import annotations

__all__ = [
    "FHIRStoreError",
    "InvalidResource",
    "MultipleMatches",
    "ResourceNotFound",
    "ServerError",
    "VersionConflict",
]


class FHIRStoreError(Exception):
    """Base of every store error; the message is written for end users and contains no PHI."""

    def __init__(self, message: str, *, diagnostics: str = "") -> None:
        self.diagnostics = diagnostics
        super().__init__(message)


class ResourceNotFound(FHIRStoreError):
    """The resource does not exist (or has been deleted)."""


class VersionConflict(FHIRStoreError):
    """The resource changed since it was read (HTTP 409/412)."""


class InvalidResource(FHIRStoreError):
    """The resource is not valid FHIR or uses a code outside its value set."""


class MultipleMatches(FHIRStoreError):
    """A conditional create's criteria matched several resources (HTTP 412)."""


class ServerError(FHIRStoreError):
    """The FHIR server could not be reached, timed out, or sent a malformed response."""
