"""The planner's words for one locale, read once from ``lexicon/<language>.json``.

Number words, calendar names, cue words and stop words are data, not code: one file per
language, so a new locale is a translation and the grammar stays the same. Only general
language lives there. Words of a domain (professional titles, the kinds of a domain's records) come
from the tools' schemas (``x-synonyms``, ``x-titles``) or from the plugin's slot extractors.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["Lexicon", "lexicon"]


class Lexicon:
    """Read-only access to a locale's word lists: lists become frozensets, objects dicts.

    ``lexicon("en").not_names`` is a frozenset of words; ``.number_words`` a dict; keys
    starting with ``_`` are documentation and are dropped.
    """

    def __init__(self, language: str, data: dict[str, Any]) -> None:
        self.language = language
        self._data = {k: _freeze(v) for k, v in data.items() if not k.startswith("_")}

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"lexicon {self.language!r} has no {key!r}") from None

    def ordered(self, key: str) -> list[str]:
        """A list in the file's order (for lists whose order matters: months, weekdays)."""
        raw = json.loads(_read(self.language))[key]
        return [str(x) for x in raw]


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return frozenset(value) if all(isinstance(v, str) for v in value) else tuple(value)
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items() if not k.startswith("_")}
    return value


def _read(language: str) -> str:
    return (resources.files(__package__) / "lexicon" / f"{language}.json").read_text("utf-8")


@lru_cache(maxsize=8)
def lexicon(locale: str = "en") -> Lexicon:
    """The lexicon of ``locale`` ("en-US" reads ``en.json``); English when there is none."""
    language = locale.replace("_", "-").split("-")[0].lower() or "en"
    try:
        text = _read(language)
    except FileNotFoundError:
        language, text = "en", _read("en")
    return Lexicon(language, json.loads(text))
