"""Permission scopes in SMART-on-FHIR v2 syntax, and the check "do these grants cover that need".

A scope reads ``context/Resource.permissions``: context is ``patient``, ``user`` or ``system``;
Resource is a FHIR resource type, another domain noun (``Essay``, ``Grade``) or ``*``; permissions
are letters of ``cruds`` (create, read, update, delete, search) in that order. SMART v1 suffixes
``read``, ``write`` and ``*`` are accepted and translated (``read`` = ``rs``, ``write`` = ``cud``).

Contexts nest: a ``system`` grant covers ``user`` and ``patient`` needs, a ``user`` grant covers a
``patient`` need. Which patient a ``patient/`` scope is bound to is a domain policy's business
(healthcare's "own records only"), not this module's.

Example::

    >>> grants = [Scope.parse("user/*.rs"), Scope.parse("user/Appointment.cruds")]
    >>> covers(grants, Scope.parse("patient/Appointment.c"))
    True
    >>> covers(grants, Scope.parse("user/Patient.u"))
    False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["Scope", "covers", "missing_scopes"]

_CONTEXT_RANK = {"patient": 0, "user": 1, "system": 2}
_PERMISSION_ORDER = "cruds"
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE_RE = re.compile(r"^(patient|user|system)/([A-Za-z][A-Za-z0-9_]*|\*)\.([a-z*]+)$")


@dataclass(frozen=True, slots=True)
class Scope:
    """One parsed scope such as ``user/Appointment.rs``."""

    context: str
    resource: str
    permissions: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse a scope string; raises ``ValueError`` with the expected syntax on bad input."""
        match = _SCOPE_RE.match(text.strip())
        if not match:
            raise ValueError(
                f"{text!r} is not a scope; expected context/Resource.permissions "
                "such as 'user/Appointment.rs' or 'patient/*.cruds'"
            )
        context, resource, perms = match.groups()
        letters = _V1.get(perms, perms)
        bad = sorted(set(letters) - set(_PERMISSION_ORDER))
        if bad:
            raise ValueError(
                f"{text!r} has unknown permission letters {''.join(bad)!r}; use letters of 'cruds'"
            )
        if perms not in _V1 and list(letters) != sorted(letters, key=_PERMISSION_ORDER.index):
            raise ValueError(f"{text!r}: permissions must appear in the order c, r, u, d, s")
        return cls(context, resource, frozenset(letters))

    def covers(self, need: Scope) -> bool:
        """True when this grant allows everything ``need`` asks for."""
        return (
            _CONTEXT_RANK[self.context] >= _CONTEXT_RANK[need.context]
            and self.resource in ("*", need.resource)
            and need.permissions <= self.permissions
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Read from a string, written back as the same string.
        from_str = core_schema.no_info_plain_validator_function(
            lambda v: v if isinstance(v, Scope) else cls.parse(str(v))
        )
        return core_schema.json_or_python_schema(
            json_schema=from_str,
            python_schema=from_str,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    def __str__(self) -> str:
        perms = "".join(p for p in _PERMISSION_ORDER if p in self.permissions)
        return f"{self.context}/{self.resource}.{perms}"


def covers(grants: Iterable[Scope], need: Scope) -> bool:
    """True when the grants together cover ``need`` (``user/X.r`` + ``user/X.s`` cover ``.rs``)."""
    pooled: set[str] = set()
    for grant in grants:
        if _CONTEXT_RANK[grant.context] >= _CONTEXT_RANK[need.context] and grant.resource in (
            "*",
            need.resource,
        ):
            pooled |= grant.permissions
    return need.permissions <= pooled


def missing_scopes(grants: Iterable[Scope], needs: Iterable[Scope]) -> list[Scope]:
    """The needs that no grant covers, in the order given."""
    granted = list(grants)
    return [need for need in needs if not covers(granted, need)]
