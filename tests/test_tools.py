from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import pytest
from pydantic import Field

from lamworks import ActionContext, ActionResult, ToolError, entity, ref, tool


@tool(risk="write", scopes=["user/Appointment.c"], examples=["book a visit"],
      consumes=["Patient"], produces="Appointment")
def book_visit(ctx: ActionContext, patient: str, day: date,
               part_of_day: Literal["morning", "afternoon"] = "morning",
               note: Annotated[str, Field(description="Anything the desk should know.")] = ""
               ) -> ActionResult:
    """Book a visit for a patient.

    Args:
        patient: The patient's identifier.
        day: The day of the visit,
            in the clinic's time zone.
    """
    return ActionResult(summary=f"{patient} on {day} ({part_of_day})")


def test_decorator_derives_name_description_and_schema() -> None:
    assert book_visit.name == "book_visit"
    assert book_visit.description == "Book a visit for a patient."
    assert book_visit.takes_context
    assert book_visit.risk == "write"
    assert [str(s) for s in book_visit.scopes] == ["user/Appointment.c"]
    schema = book_visit.json_schema()
    assert schema["type"] == "object"
    assert schema["required"] == ["patient", "day"]
    assert schema["properties"]["day"]["format"] == "date"
    assert schema["properties"]["day"]["description"] == (
        "The day of the visit, in the clinic's time zone."
    )
    assert schema["properties"]["part_of_day"]["enum"] == ["morning", "afternoon"]
    assert schema["properties"]["note"]["description"] == "Anything the desk should know."
    assert "ctx" not in schema["properties"]


def test_openai_and_mcp_shapes() -> None:
    openai = book_visit.to_openai_function()
    assert openai["type"] == "function"
    assert openai["function"]["name"] == "book_visit"
    assert openai["function"]["parameters"]["required"] == ["patient", "day"]
    mcp = book_visit.to_mcp_tool()
    assert mcp["inputSchema"] == book_visit.json_schema()


def test_invalid_arguments_name_the_field() -> None:
    with pytest.raises(ToolError) as info:
        book_visit.validate_arguments({"patient": "p1", "day": "not a date"})
    assert info.value.field == "day"
    assert "day" in str(info.value)
    with pytest.raises(ToolError, match="part_of_day"):
        book_visit.validate_arguments({"patient": "p1", "day": "2026-01-02",
                                       "part_of_day": "midnight"})
    with pytest.raises(ToolError, match="colour: unknown argument"):
        book_visit.validate_arguments({"patient": "p1", "day": "2026-01-02", "colour": "red"})


def test_tool_without_context_and_plain_return_value() -> None:
    @tool
    def shout(text: str) -> str:
        """Shout the text."""
        return text.upper()

    assert not shout.takes_context
    assert shout("hi") == "HI"  # still callable as a function
    result = shout.invoke(None, {"text": "hi"})  # type: ignore[arg-type]
    assert result.summary == "HI"


def test_tool_declaration_errors() -> None:
    with pytest.raises(TypeError, match="docstring"):
        tool(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="risk"):
        tool(risk="dangerous")  # type: ignore[arg-type]

    def untyped(x):  # type: ignore[no-untyped-def]
        """No annotation."""

    with pytest.raises(TypeError, match="annotation"):
        tool(untyped)
    with pytest.raises(ValueError, match="scope"):
        tool(scopes=["everything"])


def test_namespacing_keeps_an_explicit_namespace() -> None:
    assert book_visit.namespaced("clinic").name == "clinic.book_visit"
    assert book_visit.namespaced("clinic").plugin == "clinic"
    explicit = tool(name="healthcare.book_visit")(book_visit.function)
    assert explicit.namespaced("other").name == "healthcare.book_visit"


def test_entity_and_ref_markers_reach_the_schema() -> None:
    @tool
    def find_slots(
        practitioner: Annotated[str, entity("Practitioner", "Who the visit is with.")],
        patient_id: Annotated[str, ref("Patient", "The patient.")] = "",
    ) -> str:
        """Find free slots."""
        return ""

    props = find_slots.json_schema()["properties"]
    assert props["practitioner"]["x-lamworks-entity"] == "Practitioner"
    assert props["practitioner"]["description"] == "Who the visit is with."
    assert props["patient_id"]["x-lamworks-ref"] == "Patient"


def test_tool_from_schema_validates_and_keeps_its_schema() -> None:
    from lamworks import tool_from_schema

    schema = {
        "type": "object",
        "required": ["restaurant_name", "date"],
        "properties": {
            "restaurant_name": {"type": "string", "description": "Name of the restaurant."},
            "date": {"type": "string", "format": "date"},
            "party_size": {"type": "integer", "x-lamworks-entity": "PartySize"},
            "seating": {"type": "string", "enum": ["indoor", "outdoor"]},
        },
    }
    reserve = tool_from_schema("reserve_restaurant", "Reserve a table.", schema,
                               examples=["book a table at Nopa"])
    assert reserve.json_schema() == schema
    model = reserve.validate_arguments({"restaurant_name": "Nopa", "date": "2026-12-01",
                                        "party_size": "4"})
    assert model.party_size == 4  # type: ignore[attr-defined]
    assert str(model.date) == "2026-12-01"  # type: ignore[attr-defined]
    with pytest.raises(ToolError, match="seating"):
        reserve.validate_arguments({"restaurant_name": "Nopa", "date": "2026-12-01",
                                    "seating": "roof"})
    with pytest.raises(ToolError, match="date"):
        reserve.validate_arguments({"restaurant_name": "Nopa"})
    result = reserve.invoke(None, {"restaurant_name": "Nopa", "date": "2026-12-01"})  # type: ignore[arg-type]
    assert result.data["restaurant_name"] == "Nopa"
    with pytest.raises(ValueError, match="object"):
        tool_from_schema("x", "x", {"type": "string"})
