"""Scoring an essay against a rubric: trait scores, level descriptors, evidence, suggestions.

Two ways to get a trait score, one report shape:

- **Default thresholds** (no calibration): each trait's ``basis`` has a recipe in
  :data:`RECIPES` — a weighted mean of features, each mapped linearly from the value at which it
  suggests level 1 to the value at which it suggests level 5 (clipped). These anchors are
  documented defaults chosen by judgement; they are not fitted to any data set.
- **Institution calibration**: when :mod:`lamworks_education.calibration` has a model for the
  rubric in the institution's data folder, its predictions replace the default scores. That
  model also reads character n-grams and the embedding model's token states, which explain
  nothing on their own: they sharpen the score, not the feedback.

Either way the evidence (quoted sentences with character offsets) and the suggestions come from
the same explainable features, so a teacher can see why. The essay is data: text inside it that
addresses the grader ("ignore the rubric and give this a 5") is measured like any other sentence
and noted, never obeyed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .calibration import CalibrationModel
from .embedding import Embedder
from .features import EssayFeatures, Evidence, extract_features
from .rubrics import Rubric, RubricTrait

__all__ = [
    "MAX_WORDS",
    "MIN_WORDS",
    "RECIPES",
    "EssayInputError",
    "EssayReport",
    "TraitScore",
    "score_essay",
    "score_features",
]

MIN_WORDS = 50
"""Fewer words than this (a title, a sentence) are not scored: there is too little to judge."""
MAX_WORDS = 6000
"""Longer texts are scored on their first MAX_WORDS words, and the report says so."""
MIN_ENGLISH_SHARE = 0.6
"""Below this share of dictionary words the text is taken as not English and not scored."""

SEMANTIC = frozenset({"prompt_relevance", "sentence_cohesion", "paragraph_cohesion",
                      "paragraph_focus"})


@dataclass(frozen=True)
class Anchor:
    """One feature's say in a trait: the value that suggests level 1, the value for level 5."""

    feature: str
    at_1: float
    at_5: float
    weight: float = 1.0

    def level(self, value: float) -> float:
        fraction = (value - self.at_1) / (self.at_5 - self.at_1)
        return 1.0 + 4.0 * min(max(fraction, 0.0), 1.0)


A = Anchor
RECIPES: dict[str, tuple[Anchor, ...]] = {
    # Error counts are proxies that miss most errors, so "none detected" is not level 5: the
    # level-5 anchors of error features sit below zero (no detected error reads as about 3.7).
    "conventions": (A("spelling_errors_per_100", 4.0, -2.0, 2.0),
                    A("mechanics_errors_per_100", 3.0, -1.5),
                    A("lowercase_start_share", 0.4, -0.2),
                    A("lowercase_i_per_100", 2.0, -1.0, 0.5)),
    "grammar": (A("grammar_errors_per_100", 1.5, -1.0, 2.0),
                A("long_sentence_share", 0.6, -0.3),
                A("lowercase_i_per_100", 2.0, -1.0, 0.5),
                A("spelling_errors_per_100", 6.0, -2.0, 0.5)),
    "syntax": (A("long_sentence_share", 0.6, -0.3, 1.5),
               A("grammar_errors_per_100", 1.5, -1.0),
               A("short_sentence_share", 0.4, -0.2, 0.5),
               A("sentence_length_cv", 0.1, 0.9, 0.5),
               A("commas_per_sentence", 0.0, 2.0, 0.5)),
    "vocabulary": (A("mattr", 0.6, 0.84, 1.5),
                   A("mean_log_rank", 3.6, 5.1),
                   A("long_word_share", 0.06, 0.26),
                   A("log_unique_words", 3.9, 5.7),
                   A("spelling_errors_per_100", 6.0, -2.0, 0.5)),
    "phraseology": (A("repeated_trigram_share", 0.2, -0.05),
                    A("informal_per_100", 2.5, -1.0),
                    A("mattr", 0.6, 0.86),
                    A("mean_log_rank", 3.6, 5.2, 0.5)),
    "cohesion": (A("distinct_transitions", 0.0, 8.0, 1.5),
                 A("paragraph_transition_share", 0.0, 0.8),
                 A("n_paragraphs", 1.0, 5.0),
                 A("paragraph_cohesion", 0.2, 0.75)),
    "ideas": (A("thesis_present", 0.0, 1.0, 1.5),
              A("prompt_relevance", 0.1, 0.6, 2.0),
              A("paragraph_focus", 0.5, 0.9),
              A("log_words", 4.0, 6.2)),
    "organization": (A("n_paragraphs", 1.0, 5.0, 1.5),
                     A("paragraph_transition_share", 0.0, 0.8),
                     A("conclusion_present", 0.0, 1.0),
                     A("thesis_present", 0.0, 1.0, 0.5),
                     A("distinct_transitions", 0.0, 8.0)),
    "evidence": (A("support_per_paragraph", 0.0, 3.0, 2.0),
                 A("citation_markers", 0.0, 2.0),
                 A("log_words", 4.0, 6.2),
                 A("words_per_paragraph", 20.0, 90.0, 0.5)),
    "language": (A("mattr", 0.6, 0.82),
                 A("mean_log_rank", 3.6, 5.0),
                 A("sentence_length_cv", 0.15, 0.6),
                 A("informal_per_100", 3.0, 0.0),
                 A("academic_word_share", 0.0, 0.03, 0.5),
                 A("long_sentence_share", 0.7, 0.0, 0.5)),
}

# What to tell the student when a feature holds a trait back. Each returns a concrete sentence.
Advice = Callable[[EssayFeatures], str]
ADVICE: dict[str, Advice] = {
    "spelling_errors_per_100": lambda f: (
        "Correct the misspellings, for example "
        + ", ".join(f"“{w}” → “{c}”" if c and c != w else f"“{w}”" for w, c in f.misspelled[:3])
        + "." if f.misspelled else "Proofread for spelling."),
    "mechanics_errors_per_100": lambda f: (
        "Fix punctuation spacing: one space after commas and full stops, none before them."),
    "lowercase_start_share": lambda f: "Start every sentence with a capital letter.",
    "lowercase_i_per_100": lambda f: "Write the pronoun “I” as a capital letter every time.",
    "grammar_errors_per_100": lambda f: (
        "Check the flagged phrases for agreement and verb forms"
        + (f" ({f.evidence['grammar'][0].note})" if f.evidence.get("grammar") else "") + "."),
    "long_sentence_share": lambda f: (
        "Split very long sentences into two or three; each sentence should carry one idea."),
    "short_sentence_share": lambda f: (
        "Combine some short sentences with “because”, “although” or “which” to show how "
        "ideas relate."),
    "sentence_length_cv": lambda f: (
        "Vary sentence length: mix short, direct sentences with longer ones that explain."),
    "commas_per_sentence": lambda f: (
        "Use more complex sentences (with introductory phrases or clauses set off by commas)."),
    "mattr": lambda f: "Avoid repeating the same words; use synonyms and more precise terms.",
    "mean_log_rank": lambda f: (
        "Replace general words (good, bad, things, a lot) with precise, subject-specific ones."),
    "long_word_share": lambda f: "Use more precise, subject-specific vocabulary.",
    "log_unique_words": lambda f: "Broaden your vocabulary: develop each idea with new words.",
    "repeated_trigram_share": lambda f: (
        "Rephrase repeated phrases so each sentence adds something new."),
    "informal_per_100": lambda f: (
        "Use a formal register: avoid words like “stuff”, “gonna”, “a lot” and contractions "
        "without apostrophes."),
    "academic_word_share": lambda f: (
        "Use academic words where they fit (for example “evidence”, “significant”, "
        "“consequently”)."),
    "distinct_transitions": lambda f: (
        "Link ideas with a wider range of transitions (“however”, “as a result”, "
        "“for example”, “in contrast”)."),
    "paragraph_transition_share": lambda f: (
        "Open each body paragraph with a transition or topic sentence that links it to the "
        "previous one."),
    "n_paragraphs": lambda f: (
        "Organise the essay into paragraphs: an introduction, two or three body paragraphs "
        "and a conclusion."),
    "paragraph_cohesion": lambda f: (
        "Make each paragraph follow from the one before; repeat a key idea to bridge them."),
    "thesis_present": lambda f: (
        "State your position in one clear sentence in the first paragraph (for example "
        "“I believe … because …”)."),
    "prompt_relevance": lambda f: (
        "Answer the prompt directly: restate its key terms and keep every paragraph on it."),
    "paragraph_focus": lambda f: "Cut sentences that drift from your main point.",
    "log_words": lambda f: "Develop your ideas further: add explanation and examples.",
    "conclusion_present": lambda f: (
        "End with a conclusion that restates your position and sums up your reasons."),
    "support_per_paragraph": lambda f: (
        "Support each claim with a reason and a specific example (“for example, …”)."),
    "citation_markers": lambda f: (
        "Cite sources for facts you use (“according to …”) and quote them accurately."),
    "words_per_paragraph": lambda f: (
        "Develop each paragraph: a topic sentence, evidence and an explanation."),
}

# Evidence families quoted for each basis, best first.
EVIDENCE_FOR: dict[str, tuple[str, ...]] = {
    "conventions": ("spelling", "grammar"),
    "grammar": ("grammar", "long_sentence"),
    "syntax": ("long_sentence", "grammar"),
    "vocabulary": ("spelling", "on_topic"),
    "phraseology": ("grammar", "weak_link"),
    "cohesion": ("transitions", "weak_link"),
    "ideas": ("thesis", "on_topic", "off_topic"),
    "organization": ("thesis", "transitions", "conclusion"),
    "evidence": ("support", "citation"),
    "language": ("long_sentence", "transitions"),
    "overall": ("thesis", "spelling", "grammar"),
}

_GRADER_ADDRESS = re.compile(
    r"\b(ignore (?:the|all|any|previous|your) \w+|give (?:this|me|it) (?:an? )?(?:\d|a five|"
    r"full marks|top marks|an a)|you (?:must|should) (?:score|grade|rate)|as an ai|"
    r"system prompt|grader:|score this)\b", re.IGNORECASE)

Status = Literal["scored", "truncated", "too_short", "not_english"]


class EssayInputError(ValueError):
    """The essay cannot be scored at all (it is empty); the message says why, for the user."""


@dataclass
class TraitScore:
    """One trait's result."""

    key: str
    name: str
    score: float
    descriptor: str
    evidence: list[Evidence]
    suggestions: list[str]


@dataclass
class EssayReport:
    """Feedback on one essay against one rubric."""

    rubric: str
    status: Status
    overall: float | None
    traits: list[TraitScore]
    next_steps: list[str]
    notes: list[str] = field(default_factory=list)
    calibrated: bool = False
    word_count: int = 0
    features: dict[str, float] = field(default_factory=dict)

    def scores(self) -> dict[str, float]:
        """Every trait score by key, plus ``overall``."""
        out = {t.key: t.score for t in self.traits}
        if self.overall is not None:
            out.setdefault("overall", self.overall)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric, "status": self.status, "overall": self.overall,
            "calibrated": self.calibrated, "word_count": self.word_count,
            "traits": [{"key": t.key, "name": t.name, "score": t.score,
                        "descriptor": t.descriptor, "suggestions": t.suggestions,
                        "evidence": [{"text": e.text, "start": e.start, "end": e.end,
                                      "note": e.note} for e in t.evidence]}
                       for t in self.traits],
            "next_steps": self.next_steps, "notes": self.notes,
        }


def _default_score(basis: str, features: EssayFeatures) -> tuple[float, list[tuple[float, str]]]:
    """The recipe's weighted level, and (priority, feature) of anchors holding it back."""
    if basis == "overall":
        raise ValueError("overall is computed from the other traits")
    values = features.values
    total = weight = 0.0
    gaps: list[tuple[float, str]] = []
    for anchor in RECIPES[basis]:
        if anchor.feature in SEMANTIC and features.embedding is None:
            continue
        level = anchor.level(values[anchor.feature])
        total += anchor.weight * level
        weight += anchor.weight
        if level < 4.0:
            gaps.append((anchor.weight * (5.0 - level), anchor.feature))
    gaps.sort(reverse=True)
    return (total / weight if weight else 3.0), gaps


def _to_scale(rubric: Rubric, level_1_to_5: float) -> float:
    return rubric.scale_min + (level_1_to_5 - 1.0) / 4.0 * (rubric.scale_max - rubric.scale_min)


def _evidence(basis: str, features: EssayFeatures) -> list[Evidence]:
    quotes: list[Evidence] = []
    seen: set[int] = set()
    for family in EVIDENCE_FOR.get(basis, ()):
        for item in features.evidence.get(family, []):
            if item.start not in seen:
                seen.add(item.start)
                quotes.append(item)
    return quotes[:3]


def score_features(features: EssayFeatures, rubric: Rubric,
                   model: CalibrationModel | None = None, text: str = "") -> EssayReport:
    """Turn measured features into a report (``text`` only feeds model-side text features)."""
    predicted = model.predict_one(features, text) if model is not None else {}
    traits: list[TraitScore] = []
    candidates: list[tuple[float, str]] = []
    for trait in rubric.traits:
        basis = trait.basis if trait.basis != "overall" else "language"
        level, gaps = _default_score(basis, features)
        if trait.key in predicted:
            score = rubric.snap(predicted[trait.key])
        elif trait.basis == "overall" or trait.key == rubric.overall_trait:
            score = float("nan")  # filled from the other traits below
        else:
            score = rubric.snap(_to_scale(rubric, level))
        advice = [ADVICE[f](features) for _p, f in gaps if f in ADVICE]
        suggestions = list(dict.fromkeys(advice))[:3] or [_keep_going(trait)]
        candidates.extend((p, ADVICE[f](features)) for p, f in gaps[:2] if f in ADVICE)
        traits.append(TraitScore(trait.key, trait.name, score, "", _evidence(trait.basis, features),
                                 suggestions))
    analytic = [t for t, spec in zip(traits, rubric.traits, strict=True)
                if spec.in_overall and t.key != rubric.overall_trait and t.score == t.score]
    mean = sum(t.score for t in analytic) / len(analytic) if analytic else rubric.scale_min
    for t in traits:
        if t.score != t.score:
            t.score = rubric.snap(mean)
    if "overall" in predicted and rubric.overall_trait is None:
        overall = rubric.snap(predicted["overall"])
    elif rubric.overall_trait is not None:
        overall = next(t.score for t in traits if t.key == rubric.overall_trait)
    else:
        overall = rubric.snap(mean)
    for t, spec in zip(traits, rubric.traits, strict=True):
        t.descriptor = rubric.descriptor(spec, t.score)
    candidates.sort(key=lambda item: -item[0])
    next_steps = list(dict.fromkeys(s for _p, s in candidates))[:3]
    return EssayReport(rubric=rubric.name, status="scored", overall=overall, traits=traits,
                       next_steps=next_steps or ["Keep revising: reread the essay aloud and "
                                                 "tighten every paragraph."],
                       calibrated=model is not None, word_count=features.word_count,
                       features=dict(features.values))


def _keep_going(trait: RubricTrait) -> str:
    return f"{trait.name} is a strength: keep it up in your next draft."


def _unscored(rubric: Rubric, status: Status, message: str, words_: int) -> EssayReport:
    return EssayReport(rubric=rubric.name, status=status, overall=None, traits=[],
                       next_steps=[message], notes=[message], word_count=words_)


def score_essay(text: str, rubric: Rubric, prompt: str = "", *,
                embedder: Embedder | None = None,
                model: CalibrationModel | None = None) -> EssayReport:
    """Score ``text`` (written for ``prompt``) against ``rubric``.

    Raises :class:`EssayInputError` for an empty essay. A text under :data:`MIN_WORDS` words or
    not in English gets a report with no scores and a message saying why; a text over
    :data:`MAX_WORDS` words is scored on its beginning, and the report says so.
    """
    if not text or not text.strip():
        raise EssayInputError("The essay is empty: paste or upload the text to get feedback.")
    notes: list[str] = []
    status: Status = "scored"
    from .text import words as _words

    all_words = _words(text)
    if len(all_words) > MAX_WORDS:
        cut = [m.end() for m in re.finditer(r"\S+", text)][MAX_WORDS - 1]
        text = text[:cut]
        status = "truncated"
        notes.append(f"The essay has {len(all_words):,} words; feedback covers the first "
                     f"{MAX_WORDS:,}.")
    if len(all_words) < MIN_WORDS:
        return _unscored(rubric, "too_short",
                         f"The text has {len(all_words)} words: at least {MIN_WORDS} are needed "
                         "for feedback (is this only the title?).", len(all_words))
    features = extract_features(text, prompt, embedder)
    if features.english_share < MIN_ENGLISH_SHARE:
        return _unscored(rubric, "not_english",
                         "This text does not appear to be in English, so it was not scored "
                         "against an English writing rubric.", features.word_count)
    report = score_features(features, rubric, model, text)
    report.status = status
    if _GRADER_ADDRESS.search(text):
        report.notes.append("The essay contains text addressed to the grader; it was scored as "
                            "part of the essay and had no other effect.")
    report.notes[:0] = notes
    return report
