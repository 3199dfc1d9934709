"""Rubrics: traits, scales and level descriptors; two built in, more from ``lamworks.toml``.

Built in:

- ``argumentative``: ideas/thesis, organization, evidence and support, language and style,
  conventions — each 1–5 in whole points, with a level descriptor per point.
- ``ell``: English-language-learner proficiency — Overall plus Cohesion, Syntax, Vocabulary,
  Phraseology, Grammar, Conventions — on 1.0–5.0 in half points (the ELLIPSE scale).

Each trait names a ``basis``: the family of explainable features the default (uncalibrated)
scorer uses for it and the suggestions it can make (see :data:`BASES` and
:mod:`lamworks_education.scorer`). An institution adds rubrics under
``[plugins.education.rubrics.<name>]``, each trait picking one of these bases::

    [plugins.education.rubrics.narrative]
    title = "Narrative writing (grade 8)"
    scale_min = 1
    scale_max = 4
    step = 1
    traits = [
      { key = "voice", name = "Voice", basis = "language",
        levels = ["Flat", "Emerging", "Clear", "Distinctive"] },
      { key = "mechanics", name = "Mechanics", basis = "conventions",
        levels = ["Many errors", "Several errors", "Few errors", "Almost none"] },
    ]

What does not live here: turning features into scores (:mod:`lamworks_education.scorer`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BASES",
    "BUILTIN_RUBRICS",
    "Basis",
    "Rubric",
    "RubricTrait",
    "available_rubrics",
    "get_rubric",
]

Basis = Literal["ideas", "organization", "evidence", "language", "conventions", "cohesion",
                "syntax", "vocabulary", "phraseology", "grammar", "overall"]
BASES: tuple[str, ...] = ("ideas", "organization", "evidence", "language", "conventions",
                          "cohesion", "syntax", "vocabulary", "phraseology", "grammar", "overall")


class RubricTrait(BaseModel):
    """One analytic trait: what it is called, what it measures and a descriptor per level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="Column name in CSV files, e.g. 'cohesion'.")
    name: str = Field(description="Shown to people, e.g. 'Cohesion'.")
    basis: Basis = Field(description="Feature family used to score it without calibration.")
    description: str = ""
    levels: tuple[str, ...] = Field(description="Descriptors from the lowest level up.")
    in_overall: bool = Field(True, description="Averaged into the overall score.")


class Rubric(BaseModel):
    """A named rubric: a scale and its traits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    title: str
    description: str = ""
    scale_min: float = 1.0
    scale_max: float = 5.0
    step: float = Field(1.0, gt=0)
    traits: tuple[RubricTrait, ...]
    overall_trait: str | None = Field(
        None, description="Key of a trait that is itself the holistic score (ELL 'overall').")

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be above scale_min")
        if not self.traits:
            raise ValueError("a rubric needs at least one trait")
        keys = [t.key for t in self.traits]
        if len(set(keys)) != len(keys):
            raise ValueError("trait keys must be unique")
        if self.overall_trait is not None and self.overall_trait not in keys:
            raise ValueError(f"overall_trait {self.overall_trait!r} is not a trait key")
        return self

    @property
    def analytic_traits(self) -> tuple[RubricTrait, ...]:
        """The traits other than the holistic one."""
        return tuple(t for t in self.traits if t.key != self.overall_trait)

    def trait(self, key: str) -> RubricTrait:
        for t in self.traits:
            if t.key == key:
                return t
        raise KeyError(key)

    def snap(self, value: float) -> float:
        """Clip to the scale and round to its step (half points round up)."""
        clipped = min(max(value, self.scale_min), self.scale_max)
        steps = math.floor((clipped - self.scale_min) / self.step + 0.5 + 1e-9)
        return round(self.scale_min + steps * self.step, 4)

    def descriptor(self, trait: RubricTrait, score: float) -> str:
        """The level descriptor for a score (levels spread evenly over the scale)."""
        fraction = (score - self.scale_min) / (self.scale_max - self.scale_min)
        index = min(int(round(fraction * (len(trait.levels) - 1))), len(trait.levels) - 1)
        return trait.levels[max(index, 0)]


_ARGUMENTATIVE = Rubric(
    name="argumentative",
    title="Argumentative writing",
    description="Analytic rubric for argumentative essays, 1 (beginning) to 5 (exemplary).",
    traits=(
        RubricTrait(key="ideas", name="Ideas and thesis", basis="ideas",
                    description="A clear, arguable position that answers the prompt.",
                    levels=(
                        "No clear position, or the essay does not address the prompt.",
                        "A position is hinted at but vague or drifts away from the prompt.",
                        "A clear position that addresses the prompt in general terms.",
                        "A clear, specific thesis that answers the prompt and guides the essay.",
                        "A precise, insightful thesis sustained throughout the essay.",
                    )),
        RubricTrait(key="organization", name="Organization", basis="organization",
                    description="Introduction, body and conclusion; logical order; transitions.",
                    levels=(
                        "No discernible structure; ideas are listed at random.",
                        "Some grouping of ideas, weak or missing introduction and conclusion.",
                        "Recognisable introduction, body and conclusion; basic transitions.",
                        "Logical paragraphs that each serve the argument; varied transitions.",
                        "Seamless progression; every paragraph builds on the one before.",
                    )),
        RubricTrait(key="evidence", name="Evidence and support", basis="evidence",
                    description="Reasons, examples and sources that support each claim.",
                    levels=(
                        "Claims are unsupported.",
                        "Little support; examples are general or repeated.",
                        "Some relevant reasons and examples; support is uneven.",
                        "Most claims are supported with relevant, specific evidence.",
                        "Every claim is developed with specific, well-chosen evidence.",
                    )),
        RubricTrait(key="language", name="Language and style", basis="language",
                    description="Precise vocabulary, varied sentences, appropriate register.",
                    levels=(
                        "Very limited vocabulary; sentences are fragmentary or repetitive.",
                        "Basic vocabulary and repetitive sentence patterns.",
                        "Adequate vocabulary with some variety in sentences.",
                        "Precise vocabulary and purposeful sentence variety.",
                        "Sophisticated, fluent style suited to an academic audience.",
                    )),
        RubricTrait(key="conventions", name="Conventions", basis="conventions",
                    description="Spelling, grammar, capitalisation and punctuation.",
                    levels=(
                        "Errors make the essay hard to read.",
                        "Frequent errors that sometimes obscure meaning.",
                        "Some errors that do not obscure meaning.",
                        "Few errors.",
                        "Virtually error-free.",
                    )),
    ),
)

_ELL_LEVELS = {
    "overall": ("Minimal command of written English; meaning often unclear.",
                "Limited command; frequent problems interfere with meaning.",
                "Developing command; meaning is generally clear despite errors.",
                "Good command; few problems, ideas are communicated effectively.",
                "Native-like command; precise, fluent and well organised."),
    "cohesion": ("Ideas are not connected; no organisation is apparent.",
                 "Few connections between ideas; organisation is hard to follow.",
                 "Some cohesive devices; organisation is mostly clear.",
                 "Ideas connect logically with a range of cohesive devices.",
                 "Text is tightly organised, with smooth, varied connections."),
    "syntax": ("Sentence structure is mostly incorrect or fragmentary.",
               "Simple sentences with frequent structural errors.",
               "Simple and some complex sentences; errors are noticeable.",
               "Varied sentence structures used with good control.",
               "A wide, flexible range of sentence structures, used accurately."),
    "vocabulary": ("Very limited vocabulary that obscures meaning.",
                   "Basic, repetitive vocabulary.",
                   "Adequate vocabulary with some precise words.",
                   "Varied vocabulary used precisely.",
                   "Wide, sophisticated vocabulary used naturally."),
    "phraseology": ("Word combinations are mostly unidiomatic.",
                    "Many awkward or repeated phrases.",
                    "Common phrases used correctly; some awkward combinations.",
                    "Natural collocations and varied phrasing.",
                    "Idiomatic, native-like phrasing throughout."),
    "grammar": ("Grammar errors impede understanding throughout.",
                "Frequent grammar errors that sometimes obscure meaning.",
                "Noticeable grammar errors that rarely obscure meaning.",
                "Occasional grammar errors.",
                "Grammar is accurate throughout."),
    "conventions": ("Spelling, capitalisation and punctuation errors throughout.",
                    "Frequent errors in spelling, capitalisation or punctuation.",
                    "Some errors in spelling, capitalisation or punctuation.",
                    "Few errors in spelling, capitalisation or punctuation.",
                    "Spelling, capitalisation and punctuation are accurate."),
}

_ELL = Rubric(
    name="ell",
    title="English language learner proficiency",
    description="Holistic and analytic proficiency, 1.0–5.0 in half points (ELLIPSE scale).",
    step=0.5,
    overall_trait="overall",
    traits=tuple(
        RubricTrait(key=key, name=key.capitalize(), basis=key,  # type: ignore[arg-type]
                    levels=levels, in_overall=key != "overall")
        for key, levels in _ELL_LEVELS.items()
    ),
)

BUILTIN_RUBRICS: Mapping[str, Rubric] = {"argumentative": _ARGUMENTATIVE, "ell": _ELL}


def available_rubrics(extra: Mapping[str, Rubric] | None = None) -> dict[str, Rubric]:
    """Built-in rubrics plus the institution's (which may replace a built-in by name)."""
    rubrics = dict(BUILTIN_RUBRICS)
    for name, rubric in (extra or {}).items():
        rubrics[name] = rubric.model_copy(update={"name": name})
    return rubrics


def get_rubric(name: str, extra: Mapping[str, Rubric] | None = None) -> Rubric:
    """The rubric called ``name``; a ``KeyError`` lists the known ones."""
    rubrics = available_rubrics(extra)
    key = name.strip().lower()
    aliases = {"ellipse": "ell", "english": "ell", "argument": "argumentative",
               "default": "argumentative"}
    key = aliases.get(key, key)
    if key not in rubrics:
        raise KeyError(f"unknown rubric {name!r}; known: {', '.join(sorted(rubrics))}")
    return rubrics[key]
