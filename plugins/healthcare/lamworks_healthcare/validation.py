"""Validating a resource before it is written: value sets first, then fhir.resources.

fhir.resources is imported lazily (it costs ~0.2 s), so importing the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Literal

from .errors import InvalidResource
from .valuesets import check_codes

__all__ = ["FHIRVersion", "model_class", "validate_resource"]

FHIRVersion = Literal["R4B", "R5"]


@cache
def model_class(resource_type: str, version: FHIRVersion = "R4B") -> Callable[..., Any]:
    """The fhir.resources model class for a resource type in a FHIR release."""
    if version == "R4B":
        from fhir.resources.R4B import get_fhir_model_class
    else:
        from fhir.resources import get_fhir_model_class
    try:
        return get_fhir_model_class(resource_type)  # type: ignore[no-any-return]
    except (KeyError, ValueError):
        raise InvalidResource(f"{resource_type!r} is not a FHIR {version} resource type") from None


def validate_resource(resource: Mapping[str, Any], version: FHIRVersion = "R4B") -> None:
    """Raise :class:`InvalidResource` naming the first bad element; return quietly when valid."""
    from pydantic import ValidationError

    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise InvalidResource("the resource has no resourceType")
    check_codes(resource)
    cls = model_class(rtype, version)
    try:
        cls.model_validate(dict(resource))  # type: ignore[attr-defined]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"] if part != "__root__")
        # pydantic's msg never contains the input value, so this is PHI-free.
        raise InvalidResource(f"{rtype}.{where or '(resource)'}: {first['msg']}") from None
