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
