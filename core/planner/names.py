"""Proposers of names: people's names (capitalised, after a title, or typed in lower case),
names of things ("The Brass Lamp"), and "me" where a field allows it.

Each proposer is a function from the text (and the tool's titles or words that stop a name) to
candidates. Also what they share with the place proposers: whether the writer capitalises, and
whether a full stop ends a sentence or an abbreviation.

What lives elsewhere: places (:mod:`.places`), which name a field takes (:mod:`.slots`).
"""

from __future__ import annotations

import re

from .candidates import MONTH_OR_DAY, NOT_NAMES, Candidate, alternation, cue_at
from .fields import FieldSpec
from .lexicon import lexicon
from .normalise import NUMBER_WORDS

__all__ = ["ends_sentence", "find_lower_names", "find_names", "find_self_reference",
           "find_titles", "first_sentence", "writes_capitals"]

_LEX = lexicon("en")

_HONORIFICS: frozenset[str] = _LEX.honorifics
_NAME_OPENERS: frozenset[str] = _LEX.name_openers
_NOT_LAST = frozenset({"and", "or", "&", "of", "the", "a", "an", "i"})
"""Words a name of a thing never ends with: a run that ends so goes on into the sentence."""
"""Words that open a name when capitalised before another name word ("New York")."""
_SELF_RE = re.compile(rf"\b({alternation(_LEX.self_words)})\b", re.I)
_LOWER_NAME_CUE = re.compile(
    rf"\b(?:{alternation(_LEX.name_cues)})\s+([a-zà-ÿ][a-zà-ÿ'’-]+(?:\s+[a-zà-ÿ][a-zà-ÿ'’-]+){{1,2}})",
    re.I)
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Z]\.")
"""Initials with full stops do not end a sentence: "D.C.", "J."."""
_KNOWN_ABBREVIATIONS: frozenset[str] = (
    _LEX.honorifics | frozenset(w.lower() for w in _LEX.street_types)
    | frozenset(w.rstrip(".") for w in _LEX.place_connectors) | _LEX.abbreviations)
_TOKEN_RE = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_STOP_AFTER_NAME: frozenset[str] = _LEX.after_name_stops
_TITLE_RUN = re.compile(
    rf"(?:\b(?:{alternation(_LEX.title_articles)})\s+)?"
    r"(?:[A-Z][\w'’.-]*)(?:\s+(?:" + alternation(_LEX.title_connectors)
    + r")\s+[A-Z][\w'’.-]*|\s+[A-Z0-9][\w'’.-]*)*")
_TITLE_CUES: frozenset[str] = _LEX.title_cues


def writes_capitals(text: str) -> bool:
    """Whether the writer capitalises: a capital letter starts a word that neither starts a
    sentence nor is "I". Such a writer's lower-case words are not names."""
    for m in re.finditer(r"(?<![\w'’])[A-Z]", text):
        if re.search(r"(?:^|[.!?]\s*|[\"“(]\s*)$", text[:m.start()]):
            continue
        if re.match(r"I(?:['’]\w+)?\b", text[m.start():]):
            continue
        return True
    return False


def ends_sentence(token: str) -> bool:
    """A token whose full stop ends a sentence ("Dublin."), not an abbreviation ("St.")."""
    return token.endswith(".") and not _ABBREVIATION.fullmatch(token) \
        and token.lower().rstrip(".") not in _KNOWN_ABBREVIATIONS


def _is_name_token(token: str, titles: frozenset[str] = frozenset()) -> bool:
    bare = token.strip(".'’-")
    lowered = bare.lower()
    return (len(bare) >= 2 and bare[0].isupper() and lowered not in NOT_NAMES
            and lowered not in MONTH_OR_DAY and lowered not in _HONORIFICS
            and lowered not in titles and not bare.isupper()
            and re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", lowered) not in NOT_NAMES)


def _number_inside(tokens: list[re.Match[str]], k: int, titles: frozenset[str]) -> bool:
    """A capitalised number word between two words of a name ("Twenty One Pilots")."""
    word = tokens[k].group(0)
    return word[:1].isupper() and word.lower() in NUMBER_WORDS and k + 1 < len(tokens) \
        and not ends_sentence(word) and _is_name_token(tokens[k + 1].group(0), titles)


def _is_title(token: str, titles: frozenset[str]) -> bool:
    """A title before a name: an honorific ("Mrs"), a title the schema names (``x-titles``),
    or any short capitalised abbreviation with a full stop ("Prof.", "Rev.")."""
    bare = token.lower().rstrip(".")
    return bare in _HONORIFICS or bare in titles or bool(
        re.fullmatch(r"[A-Z][a-z]{0,3}\.", token) and bare not in MONTH_OR_DAY)


def find_names(text: str, *, titled: bool = False, runs_only: bool = False,
               titles: frozenset[str] = frozenset()) -> list[Candidate]:
    """Capitalised word runs ("Ivo Brandt", "José Álvarez-Núñez"); with ``titled``, only names
    after a title ("Prof. Lee" when the schema names "Prof"), the title included; with
    ``runs_only``, capitalised runs of any length anywhere (names of things: "Blue Finch").
    A sentence's full stop ends a name."""
    tokens = list(_TOKEN_RE.finditer(text))
    out: list[Candidate] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = token.group(0)
        is_title = word.lower().rstrip(".") in titles if titled else _is_title(word, titles)
        if titled and is_title and i + 1 < len(tokens) \
                and _is_name_token(tokens[i + 1].group(0), titles):
            j = i + 1
            while j + 1 < len(tokens) and not ends_sentence(tokens[j].group(0)) \
                    and _is_name_token(tokens[j + 1].group(0), titles) \
                    and tokens[j + 1].start() - tokens[j].end() <= 1:
                j += 1
            end = tokens[j].end() - (1 if ends_sentence(tokens[j].group(0)) else 0)
            out.append(Candidate(text[token.start():end], token.start(), end,
                                 text[token.start():end], cue_at(text, token.start())))
            i = j + 1
            continue
        opens_name = word[:1].isupper() and word.lower() in _NAME_OPENERS \
            and i + 1 < len(tokens) and _is_name_token(tokens[i + 1].group(0), titles) \
            and tokens[i + 1].start() - token.end() <= 1
        if not titled and (_is_name_token(word, titles) or opens_name) and not (
                i > 0 and _is_title(tokens[i - 1].group(0), titles)
                and not ends_sentence(tokens[i - 1].group(0))):
            j = i
            while j + 1 < len(tokens) and not ends_sentence(tokens[j].group(0)) \
                    and (_is_name_token(tokens[j + 1].group(0), titles)
                         or _number_inside(tokens, j + 1, titles)) \
                    and tokens[j + 1].start() - tokens[j].end() <= 1 and j - i < 3:
                j += 1
            end = tokens[j].end()
            value = re.sub(r"['’]s$", "", text[token.start():end]).rstrip(".'’")
            score = 1.0 + 0.2 * (j - i)  # full names beat single words
            sentence_start = i == 0 or bool(re.search(r"[.!?]\s*$", text[:token.start()]))
            if j > i or not sentence_start or runs_only:
                # A lone capitalised first word of a sentence is rarely a name.
                out.append(Candidate(value, token.start(), token.start() + len(value), value,
                                     cue_at(text, token.start()), score))
            i = j + 1
            continue
        i += 1
    return out


def find_lower_names(text: str, stops: frozenset[str] = frozenset()) -> list[Candidate]:
    """Names typed in lower case ("book ivo brandt"): two or three words after a cue word,
    ending before a function word or one of the tool's own words (``stops``)."""
    out: list[Candidate] = []
    if writes_capitals(text):
        return out  # a writer who capitalises names would have capitalised this one
    for m in _LOWER_NAME_CUE.finditer(text):
        words = m.group(1).split()
        keep: list[str] = []
        for word in words:
            bare = word.lower().strip("'’.,")
            if bare in NOT_NAMES or bare in MONTH_OR_DAY or bare in _HONORIFICS or \
                    bare in _STOP_AFTER_NAME or bare in stops or \
                    re.sub(r"s$", "", bare) in stops:
                break
            keep.append(word)
            if ends_sentence(word) or word.endswith(","):
                break
        if len(keep) < 2 or keep[0][0].isupper():
            continue
        value = re.sub(r"['’]s$", "", " ".join(keep)).strip(" .,")
        start = m.start(1)
        out.append(Candidate(value, start, start + len(value), value, cue_at(text, start),
                             score=0.7))
    return out


def find_self_reference(spec: FieldSpec, text: str) -> Candidate | None:
    """"me", "myself", "my" for a field whose description allows it ("or 'me' for yourself")."""
    described = spec.description.lower()
    if "'me'" not in described and "yourself" not in described:
        return None
    if re.search(r"\b(empty|blank|leave it out|omit)\b[^.]*\byourself\b", described):
        return None  # "empty for yourself": the default already means the speaker
    m = _SELF_RE.search(text)
    if m is None:
        return None
    return Candidate(m.group(1), m.start(), m.end(), m.group(1), cue_at(text, m.start()),
                     score=0.3)


def find_titles(text: str, field_words: frozenset[str] = frozenset()) -> list[Candidate]:
    """Names of things: "The Brass Lamp", "Salt & Pepper", "Uncle Bo's". A name cued by one of the
    field's own words ("the movie Up" for ``movie_name``) or a naming word scores higher; a
    sentence's full stop ends a name."""
    out = []
    for m in _TITLE_RUN.finditer(text):
        value = first_sentence(m.group(0)).strip(" .,")
        words = value.split()
        while len(words) > 1 and words[-1].lower() in _NOT_LAST:
            words.pop()  # "Luna Loca and I would ...": the name ends before "and I"
        value = value[:value.rfind(words[-1]) + len(words[-1])] if words else value
        first = words[0].lower().strip(".,'’") if words else ""
        sentence_start = m.start() == 0 or bool(re.search(r"[.!?]\s*$", text[:m.start()]))
        if not words or (len(words) == 1 and (first in NOT_NAMES or first in MONTH_OR_DAY
                                                 or sentence_start or value.isdigit())):
            continue
        if first in MONTH_OR_DAY or (first in NOT_NAMES and first != "the") or \
                re.sub(r"['’](?:s|d|ll|ve|re|m)$", "", first) in NOT_NAMES and first != "the":
            continue
        if re.fullmatch(r"[\d:.\s]+(am|pm)?", value, re.I):
            continue
        if len(words) == 1 and value.isupper() and len(value) <= 3:
            continue  # an abbreviation ("NYC", "GA"), not the name of a thing
        cue = cue_at(text, m.start())
        cued = set(cue.split()[-1:]) & (_TITLE_CUES | field_words)
        score = 1.0 + 0.3 * bool(cued) + 0.1 * (len(words) > 1)
        out.append(Candidate(value, m.start(), m.start() + len(value), value, cue, score))
    return out


def first_sentence(run: str) -> str:
    """A run of words up to the end of its first sentence ("Lao Che. I think" → "Lao Che")."""
    out = []
    for token in run.split(" "):
        out.append(token)
        if re.search(r"[!?]$", token) or ends_sentence(token):
            break
    return " ".join(out)
