"""The words the router's lexical index reads (no model): content words, and a compound
written in two words joined when the tools write it as one."""

from __future__ import annotations

from lamworks.planner.router import tokens


def test_a_compound_matches_however_it_is_written() -> None:
    tools_words = frozenset({"oneway", "flight", "checkin"})

    assert "oneway" in tokens("a one way flight to Lima", tools_words)
    assert "checkin" in tokens("check in on Monday", tools_words)
    # Only compounds the tools use: other neighbours stay apart.
    assert "wayflight" not in tokens("a one way flight to Lima", tools_words)
    assert "oneway" not in tokens("a one way flight to Lima")


def test_function_words_are_not_indexed() -> None:
    assert tokens("could you find me a flight") == ["find", "flight"]


def test_the_share_of_a_request_s_words_a_tool_knows() -> None:
    """The ``known_words`` feature: which of the request's content words some text of the
    tool (examples, description, name) uses; an example's own words do not count for its
    tool when the example itself is the training request."""
    from lamworks import tool_from_schema
    from lamworks.knowledge import Embedder
    from lamworks.planner.router import FEATURES, Router

    schema = {"type": "object", "properties": {}}
    tools = {t.name: t for t in [
        tool_from_schema("reserve_table", "Reserve a table at a restaurant.", schema,
                         examples=["reserve a table for two", "get us seats for dinner"]),
        tool_from_schema("check_rainfall", "Report tomorrow's rainfall.", schema,
                         examples=["will it rain tomorrow", "rainfall forecast please"]),
    ]}
    router = Router(Embedder(), tools)
    table = router.tool_names.index("reserve_table")
    rain = router.tool_names.index("check_rainfall")
    known = router._known_words({"reserve", "table", "alarm"}, None)
    assert known[table] == 2 / 3 and known[rain] == 0.0
    # "get us seats for dinner" as the request: "seats" and "dinner" are in no other text
    # of the tool, so they are unknown to it.
    seats = router.example_tokens.index(frozenset({"get", "us", "seats", "dinner"}))
    assert router._known_words({"seats", "dinner"}, seats)[table] == 0.0
    assert router._known_words({"seats", "dinner"}, None)[table] == 1.0
    column = FEATURES.index("known_words")
    # "tomorrow" became "a date", on both sides: the rainfall tool's texts say "a date" too.
    _, rows = router.probabilities("reserve a table tomorrow")
    assert rows[table, column] == 2 / 3 and rows[rain, column] == 1 / 3
