"""Picking one of the options a previous answer listed ("the second one", "the 9:30 one"), with
a schema-built tool: the mechanism knows no domain."""

from __future__ import annotations

import doctest

import lamworks.planner.options as options_module
from lamworks import tool_from_schema
from lamworks.planner.fields import field_specs
from lamworks.planner.options import option_values, pick_option

TOOL = tool_from_schema("reserve_court", "Reserve a tennis court.", {
    "type": "object", "required": ["court", "day"],
    "properties": {
        "court": {"type": "string", "description": "Which court"},
        "day": {"type": "string", "format": "date", "description": "The day"},
        "start": {"type": "string", "format": "time", "description": "Start time"},
        "birthday": {"type": "string", "format": "date", "description": "Member's birthday"},
    }})
SPECS = field_specs(TOOL)
LISTED = [{"id": "c1-0800", "at": "2031-05-06T08:00:00+02:00", "court": "North"},
          {"id": "c2-0800", "at": "2031-05-06T08:00:00+02:00", "court": "South"},
          {"id": "c1-1000", "at": "2031-05-06T10:00:00+02:00", "court": "North"}]


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(options_module).failed == 0


def test_an_option_gives_its_fields_and_its_date_time_to_the_required_day_only() -> None:
    values = option_values(LISTED[2], SPECS)
    assert values == {"court": "North", "day": "2031-05-06", "start": "10:00:00"}
    assert "birthday" not in values  # an optional date is never taken from an offer


def test_positions_pick_in_the_order_shown() -> None:
    assert pick_option("the second one please", {}, LISTED, SPECS)["court"] == "South"
    assert pick_option("take the last one", {}, LISTED, SPECS)["start"] == "10:00:00"
    assert pick_option("option 1", {}, LISTED, SPECS)["court"] == "North"
    assert pick_option("the fifth one", {}, LISTED, SPECS) is None  # only three were listed


def test_a_value_picks_only_when_one_option_has_it() -> None:
    assert pick_option("the 10 o'clock one", {"start": "10:00:00"}, LISTED, SPECS)["court"] \
        == "North"
    # Two courts at eight: "the 8:00 one" singles none out.
    assert pick_option("the 8:00 one", {"start": "08:00:00"}, LISTED, SPECS) is None
    assert pick_option("south court", {"court": "South"}, LISTED, SPECS)["start"] == "08:00:00"


def test_a_request_that_only_mentions_first_is_not_a_pick() -> None:
    assert pick_option("first available court tomorrow", {}, LISTED, SPECS) is None
    assert pick_option("anything", {}, [], SPECS) is None
