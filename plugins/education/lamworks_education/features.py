"""Explainable features of an essay, each a named number with the sentences that show it.

:func:`extract_features` measures an essay against its assignment prompt: relevance to the prompt
(sentence embeddings), thesis and conclusion detection, paragraph structure and transitions,
cohesion between sentences and paragraphs, development (support markers per claim), lexical
diversity and sophistication (word-frequency ranks), sentence variety, readability
(``textstat``), spelling (``pyspellchecker``, offline), citation presence and grammar proxies
(patterns typical of learner errors). Every value is a plain float named in
:data:`FEATURE_NAMES`; :class:`EssayFeatures` also keeps evidence spans so that feedback can
quote the essay. With an embedder that gives them, :class:`EssayFeatures` also keeps the essay's
mean sentence embedding and mean intermediate-layer token state (inputs of the calibration model
only, not explanations). Turning features into rubric scores lives in
:mod:`lamworks_education.scorer`.

The essay is data: nothing in it is ever interpreted as an instruction.
"""

from __future__ import annotations

import math
import re
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .embedding import Embedder, StateEmbedder
from .text import Segmented, Sentence, segment, words

__all__ = ["FEATURE_NAMES", "EssayFeatures", "Evidence", "extract_features"]

MAX_EMBEDDED_SENTENCES = 80
"""Long essays are embedded on an even sample of sentences, so scoring stays under a second."""

FEATURE_NAMES: tuple[str, ...] = (
    "log_words", "n_paragraphs", "words_per_paragraph", "single_paragraph",
    "mean_sentence_words", "sentence_length_cv", "long_sentence_share", "short_sentence_share",
    "mattr", "log_unique_words", "mean_word_length", "long_word_share",
    "rare_word_share", "mean_log_rank", "academic_word_share",
    "spelling_errors_per_100", "grammar_errors_per_100", "mechanics_errors_per_100",
    "lowercase_i_per_100", "lowercase_start_share", "informal_per_100",
    "commas_per_sentence", "repeated_trigram_share", "first_person_share",
    "flesch_reading_ease", "fk_grade", "syllables_per_word",
    "transitions_per_sentence", "distinct_transitions", "paragraph_transition_share",
    "thesis_present", "conclusion_present",
    "support_per_paragraph", "citation_markers",
    "prompt_relevance", "sentence_cohesion", "paragraph_cohesion", "paragraph_focus",
)

TRANSITIONS: tuple[str, ...] = (
    "first", "firstly", "second", "secondly", "third", "thirdly", "finally", "lastly",
    "also", "furthermore", "moreover", "in addition", "additionally", "besides",
    "however", "on the other hand", "although", "even though", "nevertheless", "instead",
    "therefore", "thus", "as a result", "consequently", "so", "because of this", "hence",
    "for example", "for instance", "such as", "in fact", "in conclusion", "to conclude",
    "to sum up", "in summary", "overall", "in my opinion", "another", "next", "then",
    "meanwhile", "similarly", "likewise", "in contrast", "on the contrary", "otherwise",
    "ultimately", "to begin with", "in other words", "specifically", "in particular",
)
_TRANSITION_RE = re.compile(r"\b(" + "|".join(re.escape(t) for t in
                                              sorted(TRANSITIONS, key=len, reverse=True))
                            + r")\b", re.IGNORECASE)
_THESIS_RE = re.compile(
    r"\b(i (?:strongly )?(?:believe|think|agree|disagree|feel)|in my (?:opinion|view)|"
    r"i am (?:for|against)|should(?:n't| not)?|it is (?:better|important|clear)|"
    r"this essay (?:will|argues)|i will (?:argue|explain|show)|the (?:main )?reason)\b",
    re.IGNORECASE)
_CONCLUSION_RE = re.compile(
    r"^\W*(in conclusion|to conclude|to sum up|in summary|overall|in the end|finally|"
    r"all in all|to summarize|that is why|for these reasons|in short)\b", re.IGNORECASE)
_SUPPORT_RE = re.compile(
    r"\b(for example|for instance|such as|because|since|according to|studies|research|"
    r"evidence|statistics|percent|%|\d+|shows? that|proves?|in fact|e\.g\.)", re.IGNORECASE)
_CITATION_RE = re.compile(
    r"(\([A-Z][A-Za-z-]+(?: et al\.)?,? (?:\d{4}|n\.d\.)\)|according to|https?://|"
    r"\bet al\.|\"[^\"]{8,}\"|“[^”]{8,}”|\bstud(?:y|ies) (?:by|from|show))", re.IGNORECASE)
_INFORMAL = frozenset({"gonna", "wanna", "gotta", "kinda", "sorta", "u", "ur", "lol", "omg",
                       "cuz", "coz", "ya", "yeah", "stuff", "things", "thing", "ok", "okay",
                       "dont", "cant", "wont", "im", "didnt", "doesnt", "isnt", "alot", "btw"})
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself"})
_ACADEMIC = frozenset("""
analyze analysis approach area assess assume authority available benefit concept consist
constitute context contract create data define derive distribute economy environment establish
estimate evident export factor finance formula function identify income indicate individual
interpret involve issue labor legal legislate major method occur percent period policy principle
proceed process require research respond role section sector significant similar source specific
structure theory vary achieve acquire administrate affect appropriate aspect assist category
chapter commission community complex compute conclude conduct consequent construct consume
credit culture design distinct element equate evaluate feature final focus impact injure
institute invest item journal maintain normal obtain participate perceive positive potential
previous primary purchase range region regulate relevant reside resource restrict secure seek
select site strategy survey text tradition transfer alternative circumstance comment compensate
component consent considerable constant constrain contribute convene coordinate core corporate
correspond criteria deduce demonstrate document dominate emphasis ensure exclude framework fund
illustrate immigrate imply initial instance interact justify layer link locate maximize minor
negate outcome partner philosophy physical proportion publish react register rely remove scheme
sequence sex shift specify sufficient task technical technique technology valid volume access
adequate annual apparent approximate attitude attribute civil code commit communicate concentrate
confer contrast cycle debate despite dimension domestic emerge error ethnic goal grant hence
hypothesis implement implicate impose integrate internal investigate job label mechanism obvious
occupy option output overall parallel parameter phase predict principal prior professional
project promote regime resolve retain series statistic status stress subsequent sum summary
undertake academic adjust alter amend aware capacity challenge clause compound conflict consult
contact decline discrete draft enable energy enforce entity equivalent evolve expand expose
external facilitate fundamental generate generation image liberal licence logic margin medical
mental modify monitor network notion objective orient perspective precise prime psychology pursue
ratio reject revenue stable style substitute sustain symbol target transit trend version welfare
whereas abstract accurate acknowledge aggregate allocate assign attach author bond brief capable
cite cooperate discriminate display diverse domain edit enhance estate exceed expert explicit
federal fee flexible furthermore gender ignorance incentive incidence incorporate index inhibit
initiate input instruct intelligence interval lecture migrate minimum ministry motive neutral
nevertheless overseas precede presume rational recover reveal scope subsidy tape trace transform
transport underlie utilize adapt adult advocate aid channel chemical classic comprehensive
comprise confirm contrary convert couple decade definite deny differentiate dispose dynamic
eliminate empirical equip extract file finite foundation global grade guarantee hierarchy identical
ideology infer innovate insert intervene isolate media mode paradigm phenomenon priority prohibit
publication quote release reverse simulate sole somewhat submit successor survive thesis topic
transmit ultimate unique visible voluntary abandon accompany accumulate ambiguous append appreciate
arbitrary automate bias chart clarify commodity complement conform contemporary contradict crucial
currency denote detect deviate displace drama eventual exhibit exploit fluctuate guideline
highlight implicit induce inevitable infrastructure inspect intense manipulate minimize nuclear
offset paragraph plus practitioner predominant prospect radical random reinforce restore revise
schedule tense terminate theme thereby uniform vehicle via virtual visual widespread
""".split())

# Patterns typical of learner grammar errors; each is cheap and explainable, none is proof.
_GRAMMAR_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), why) for p, why in (
        (r"\b(he|she|it) (have|do|are|were|don't)\b", "subject–verb agreement"),
        (r"\b(they|we|you|i) (has|does|is|was|doesn't)\b", "subject–verb agreement"),
        (r"\b(people|students|kids|children) (is|was|has|does|doesn't)\b",
         "subject–verb agreement"),
        (r"\b(could|should|would|must|might) of\b", "'of' used for 'have'"),
        (r"\ba (?=[aeio]\w)", "'a' before a vowel sound"),
        (r"\ban (?=[bcdfgjklmnpqrstvwxz]\w)", "'an' before a consonant"),
        (r"\b(more|most) (better|worse|easier|harder|bigger|smaller|best|worst)\b",
         "double comparative"),
        (r"\b(informations|advices|homeworks|furnitures|knowledges|peoples|childrens|"
         r"equipments|researches|feedbacks)\b", "uncountable or irregular plural"),
        (r"\b(\w+) \1\b", "repeated word"),
        (r"\b(can|will|should|must|could|would|to) (\w+ed)\b(?<!need)", "verb form after modal"),
        (r"\b(didn't|doesn't|don't|can't|won't) (\w+ed|\w+s)\b(?<!ss)", "verb form after 'not'"),
        (r"\b(their|there|they're) (is|are|was|were) (a|an|many|some)\b", None),
        (r"\b(to|could|should|will|can) (going|doing|having|being)\b", "verb form"),
        (r"\bthe most (\w+est)\b", "double superlative"),
        (r"\bmore (\w+er)\b", "double comparative"),
    ) if why
)
_MECHANICS_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[,.;:!?](?=[A-Za-z])"),          # no space after punctuation
    re.compile(r"\s[,.;:!?](?!\d)"),              # space before punctuation
    re.compile(r"[!?]{2,}|\.{4,}"),               # !!, ??, ....
    re.compile(r"(?<=[.!?] )[a-z]"),              # lower-case sentence start
)


@dataclass(frozen=True)
class Evidence:
    """A quoted span of the essay and what it shows."""

    text: str
    start: int
    end: int
    note: str = ""


@dataclass
class EssayFeatures:
    """The features of one essay, the evidence behind them and the essay's segmentation."""

    values: dict[str, float]
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    segmented: Segmented | None = None
    embedding: np.ndarray | None = None
    """The essay's mean sentence embedding (unit norm), or None without an embedder."""
    states: np.ndarray | None = None
    """Mean intermediate-layer token state of the embedding model over the essay's (sampled)
    sentences (see :mod:`lamworks_education.embedding`), or None when the embedder gives none.
    Not explainable on its own: only the calibration model reads it."""
    english_share: float = 1.0
    """Share of words an English dictionary knows (a low value means non-English text)."""
    word_count: int = 0
    misspelled: list[tuple[str, str]] = field(default_factory=list)
    """(misspelling, suggested correction) pairs, most frequent first."""

    def vector(self) -> np.ndarray:
        return np.array([self.values[name] for name in FEATURE_NAMES], dtype=np.float64)


@lru_cache(maxsize=1)
def _spell() -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(distance=1)


@lru_cache(maxsize=1)
def _ranks() -> dict[str, int]:
    frequencies = _spell().word_frequency.dictionary
    ordered = sorted(frequencies.items(), key=lambda item: -item[1])
    return {word: rank for rank, (word, _count) in enumerate(ordered, start=1)}


@lru_cache(maxsize=1)
def _textstat() -> Any:
    with warnings.catch_warnings():  # textstat 0.7.3 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        import textstat

    return textstat


def _mattr(tokens: list[str], window: int = 50) -> float:
    """Moving-average type-token ratio: lexical diversity that does not fall with length."""
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, len(tokens)):
        out, new = tokens[i - window], tokens[i]
        counts[out] -= 1
        if counts[out] == 0:
            del counts[out]
        counts[new] += 1
        total += len(counts)
    return total / ((len(tokens) - window + 1) * window)


def _per_100(count: float, n_words: int) -> float:
    return 100.0 * count / max(n_words, 1)


def _sample(items: list[Sentence], limit: int) -> list[Sentence]:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def _span(sentence: Sentence, note: str) -> Evidence:
    return Evidence(sentence.text, sentence.start, sentence.end, note)


def _semantic(seg: Segmented, prompt: str, embedder: Embedder | None,
              values: dict[str, float], evidence: dict[str, list[Evidence]]
              ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Relevance and cohesion from sentence embeddings (zeros when no embedder is given).

    Returns the essay's mean sentence embedding and its mean token state (None when the embedder
    gives no states), both from the one forward pass over the sampled sentences.
    """
    for name in ("prompt_relevance", "sentence_cohesion", "paragraph_cohesion", "paragraph_focus"):
        values[name] = 0.0
    sentences = _sample([s for s in seg.sentences if len(words(s.text)) >= 3],
                        MAX_EMBEDDED_SENTENCES)
    if embedder is None or not sentences:
        return None, None
    texts = [s.text for s in sentences] + ([prompt] if prompt.strip() else [])
    states: np.ndarray | None = None
    if isinstance(embedder, StateEmbedder):
        encoded = embedder.encode_with_states(texts)
        vectors = encoded.vectors
        counts = encoded.tokens[: len(sentences)].astype(np.float64)  # pooled over the essay only
        pooled = counts @ encoded.states[: len(sentences)] / max(counts.sum(), 1.0)
        states = pooled.astype(np.float32)
    else:
        vectors = embedder.encode(texts)
    sent_vectors = vectors[: len(sentences)]
    centroid = sent_vectors.mean(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    if prompt.strip():
        prompt_vector = vectors[-1]
        values["prompt_relevance"] = float(centroid @ prompt_vector)
        sims = sent_vectors @ prompt_vector
        best = int(np.argmax(sims))
        evidence["on_topic"] = [_span(sentences[best], "closest to the prompt")]
        worst = int(np.argmin(sims))
        if sims[worst] < 0.1 and len(sentences) > 3:
            evidence["off_topic"] = [_span(sentences[worst], "furthest from the prompt")]
    if len(sentences) > 1:
        adjacent = np.sum(sent_vectors[:-1] * sent_vectors[1:], axis=1)
        values["sentence_cohesion"] = float(adjacent.mean())
        weakest = int(np.argmin(adjacent))
        evidence["weak_link"] = [_span(sentences[weakest + 1], "loosely connected to the "
                                                               "sentence before it")]
    by_paragraph: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_paragraph.setdefault(s.paragraph, []).append(i)
    if len(by_paragraph) > 1:
        means = []
        for indices in by_paragraph.values():
            v = sent_vectors[indices].mean(axis=0)
            means.append(v / (np.linalg.norm(v) or 1.0))
        matrix = np.vstack(means)
        values["paragraph_cohesion"] = float(np.mean(np.sum(matrix[:-1] * matrix[1:], axis=1)))
        values["paragraph_focus"] = float(np.mean(matrix @ centroid))
    else:
        values["paragraph_focus"] = float(np.mean(sent_vectors @ centroid))
    return centroid.astype(np.float32), states


def extract_features(text: str, prompt: str = "", embedder: Embedder | None = None
                     ) -> EssayFeatures:
    """Measure ``text`` (against ``prompt``); pass an embedder for relevance and cohesion."""
    seg = segment(text)
    tokens_raw = words(text)
    tokens = [t.lower().replace("’", "'") for t in tokens_raw]
    n_words = len(tokens)
    values: dict[str, float] = {}
    evidence: dict[str, list[Evidence]] = {}

    # Structure
    paragraphs = seg.paragraphs
    n_par = len(paragraphs)
    values["log_words"] = math.log1p(n_words)
    values["n_paragraphs"] = float(min(n_par, 12))
    values["words_per_paragraph"] = n_words / max(n_par, 1)
    values["single_paragraph"] = float(n_par <= 1)

    # Sentences
    lengths = [len(words(s.text)) for s in seg.sentences]
    lengths = [n for n in lengths if n > 0] or [0]
    mean_len = statistics.fmean(lengths)
    values["mean_sentence_words"] = min(mean_len, 80.0)
    values["sentence_length_cv"] = (statistics.pstdev(lengths) / mean_len) if mean_len else 0.0
    values["long_sentence_share"] = sum(n > 35 for n in lengths) / len(lengths)
    values["short_sentence_share"] = sum(0 < n < 6 for n in lengths) / len(lengths)
    long_ones = [s for s in seg.sentences if len(words(s.text)) > 35]
    if long_ones:
        evidence["long_sentence"] = [_span(s, "a very long sentence") for s in long_ones[:3]]

    # Vocabulary
    ranks = _ranks()
    values["mattr"] = _mattr(tokens)
    values["log_unique_words"] = math.log1p(len(set(tokens)))
    values["mean_word_length"] = statistics.fmean(len(t) for t in tokens) if tokens else 0.0
    values["long_word_share"] = sum(len(t) >= 7 for t in tokens) / max(n_words, 1)
    known_ranks = [ranks[t] for t in tokens if t in ranks]
    values["rare_word_share"] = sum(r > 3000 for r in known_ranks) / max(len(known_ranks), 1)
    values["mean_log_rank"] = (statistics.fmean(math.log(r) for r in known_ranks)
                               if known_ranks else 0.0)
    academic = [t for t in tokens if t in _ACADEMIC or t.rstrip("sd") in _ACADEMIC]
    values["academic_word_share"] = len(academic) / max(n_words, 1)

    # Spelling: skip capitalised words inside a sentence (names) and very short tokens.
    spell = _spell()
    candidates = [t for raw, t in zip(tokens_raw, tokens, strict=True)
                  if len(t) > 1 and not (raw[0].isupper() and raw[1:].islower() and len(raw) > 3
                                         and t not in ranks)]
    unknown = spell.unknown(candidates)
    misspelled_counts = Counter(t for t in candidates if t in unknown)
    values["spelling_errors_per_100"] = _per_100(sum(misspelled_counts.values()), n_words)
    english_share = (1.0 - len([t for t in tokens if t in unknown]) / n_words) if n_words else 0.0
    misspelled = []
    for word, _count in misspelled_counts.most_common(5):
        misspelled.append((word, spell.correction(word) or ""))
    if misspelled_counts:
        evidence["spelling"] = _find_words(seg, [w for w, _ in misspelled], "possible misspelling")

    # Grammar and mechanics proxies
    grammar_hits: list[Evidence] = []
    for pattern, why in _GRAMMAR_PATTERNS:
        for match in pattern.finditer(text):
            grammar_hits.append(Evidence(match.group(0), match.start(), match.end(), why))
    values["grammar_errors_per_100"] = _per_100(len(grammar_hits), n_words)
    if grammar_hits:
        evidence["grammar"] = _in_sentences(seg, grammar_hits)
    mechanics = sum(len(p.findall(text)) for p in _MECHANICS_PATTERNS)
    values["mechanics_errors_per_100"] = _per_100(mechanics, n_words)
    lower_i = re.findall(r"(?<![\w'])i(?![\w'])", text)
    values["lowercase_i_per_100"] = _per_100(len(lower_i), n_words)
    starts = [s.text.lstrip("\"'(“ ")[:1] for s in seg.sentences]
    starts = [c for c in starts if c.isalpha()]
    values["lowercase_start_share"] = sum(c.islower() for c in starts) / max(len(starts), 1)
    informal = [t for t in tokens if t in _INFORMAL]
    values["informal_per_100"] = _per_100(len(informal), n_words)
    values["commas_per_sentence"] = text.count(",") / max(len(seg.sentences), 1)
    trigrams = list(zip(tokens, tokens[1:], tokens[2:], strict=False))
    repeated = sum(c - 1 for c in Counter(trigrams).values() if c > 1)
    values["repeated_trigram_share"] = repeated / max(len(trigrams), 1)
    values["first_person_share"] = sum(t in _FIRST_PERSON for t in tokens) / max(n_words, 1)

    # Readability
    if n_words >= 3:
        ts = _textstat()
        sample = text if n_words <= 3000 else " ".join(tokens_raw[:3000])
        values["flesch_reading_ease"] = float(np.clip(ts.flesch_reading_ease(sample), -50, 121))
        values["fk_grade"] = float(np.clip(ts.flesch_kincaid_grade(sample), -5, 30))
        values["syllables_per_word"] = ts.syllable_count(sample) / max(len(words(sample)), 1)
    else:
        values["flesch_reading_ease"] = values["fk_grade"] = values["syllables_per_word"] = 0.0

    # Organisation and development
    transition_sentences = [s for s in seg.sentences if _TRANSITION_RE.search(s.text)]
    values["transitions_per_sentence"] = len(transition_sentences) / max(len(seg.sentences), 1)
    found = {m.group(1).lower() for m in _TRANSITION_RE.finditer(text)}
    values["distinct_transitions"] = float(min(len(found), 15))
    opening = [seg.sentences[p.sentences[0]] for p in paragraphs[1:] if p.sentences]
    values["paragraph_transition_share"] = (
        sum(bool(_TRANSITION_RE.match(s.text.lstrip())) for s in opening) / len(opening)
        if opening else 0.0)
    if transition_sentences:
        evidence["transitions"] = [_span(s, "uses a transition") for s in transition_sentences[:3]]
    intro = [seg.sentences[i] for i in paragraphs[0].sentences] if paragraphs else []
    thesis = next((s for s in intro if _THESIS_RE.search(s.text)), None)
    if thesis is None and len(paragraphs) == 1:
        thesis = next((s for s in seg.sentences[:3] if _THESIS_RE.search(s.text)), None)
    values["thesis_present"] = float(thesis is not None)
    if thesis is not None:
        evidence["thesis"] = [_span(thesis, "states a position")]
    last = paragraphs[-1] if len(paragraphs) > 1 else None
    closing = seg.sentences[last.sentences[0]] if last and last.sentences else None
    values["conclusion_present"] = float(closing is not None
                                         and bool(_CONCLUSION_RE.match(closing.text)))
    if closing is not None and values["conclusion_present"]:
        evidence["conclusion"] = [_span(closing, "opens the conclusion")]
    support = [s for s in seg.sentences if _SUPPORT_RE.search(s.text)]
    body = max(n_par - 2, 1) if n_par >= 3 else max(n_par, 1)
    values["support_per_paragraph"] = min(len(support) / body, 10.0)
    if support:
        evidence["support"] = [_span(s, "gives a reason or example") for s in support[:3]]
    citations = list(_CITATION_RE.finditer(text))
    values["citation_markers"] = float(min(len(citations), 10))
    if citations:
        evidence["citation"] = _in_sentences(
            seg, [Evidence(m.group(0), m.start(), m.end(), "cites a source") for m in citations])

    embedding, states = _semantic(seg, prompt, embedder, values, evidence)
    return EssayFeatures(values=values, evidence=evidence, segmented=seg, embedding=embedding,
                         states=states, english_share=english_share, word_count=n_words,
                         misspelled=misspelled)


def _sentence_at(seg: Segmented, offset: int) -> Sentence | None:
    for s in seg.sentences:
        if s.start <= offset < s.end:
            return s
    return None


def _in_sentences(seg: Segmented, hits: list[Evidence], limit: int = 3) -> list[Evidence]:
    """The sentences holding the first few hits (one quote per sentence), noting each hit."""
    out: list[Evidence] = []
    seen: set[int] = set()
    for hit in hits:
        sentence = _sentence_at(seg, hit.start)
        if sentence is None or sentence.start in seen:
            continue
        seen.add(sentence.start)
        out.append(Evidence(sentence.text, sentence.start, sentence.end,
                            f"{hit.note}: “{hit.text}”"))
        if len(out) == limit:
            break
    return out


def _find_words(seg: Segmented, targets: list[str], note: str) -> list[Evidence]:
    hits = []
    for word in targets:
        match = re.search(r"\b" + re.escape(word) + r"\b", seg.text, re.IGNORECASE)
        if match:
            hits.append(Evidence(match.group(0), match.start(), match.end(), note))
    hits.sort(key=lambda e: e.start)
    return _in_sentences(seg, hits)
