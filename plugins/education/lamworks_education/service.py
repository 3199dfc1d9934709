"""The essay-feedback service shared by the tools, the CLI and the UI page.

It holds the institution's rubrics, the lazily loaded embedding model and the institution's
calibration models (reloaded when their file changes, e.g. after ``lamworks edu calibrate``).
The plugin's ``startup`` hook publishes one instance as ``services["education.essays"]``.
"""

from __future__ import annotations

from pathlib import Path

from .calibration import CalibrationModel, calibration_path
from .embedding import Embedder, default_embedder
from .rubrics import Rubric, available_rubrics, get_rubric
from .scorer import EssayReport, score_essay
from .settings import EducationSettings

__all__ = ["EssayService"]


class EssayService:
    """Scores essays for one institution."""

    def __init__(self, data_dir: Path, settings: EducationSettings | None = None, *,
                 embedder: Embedder | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.settings = settings or EducationSettings()
        self._embedder = embedder
        self._models: dict[str, tuple[float, CalibrationModel]] = {}

    @property
    def rubrics(self) -> dict[str, Rubric]:
        return available_rubrics(self.settings.rubrics)

    def rubric(self, name: str = "") -> Rubric:
        return get_rubric(name or self.settings.default_rubric, self.settings.rubrics)

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder is None and self.settings.use_embeddings:
            self._embedder = default_embedder()
        return self._embedder

    def calibration(self, rubric: str) -> CalibrationModel | None:
        """The institution's model for ``rubric`` (cached until its file changes)."""
        path = calibration_path(self.data_dir, rubric)
        if not path.exists():
            self._models.pop(rubric, None)
            return None
        mtime = path.stat().st_mtime
        cached = self._models.get(rubric)
        if cached is None or cached[0] != mtime:
            cached = (mtime, CalibrationModel.load(path))
            self._models[rubric] = cached
        return cached[1]

    def feedback(self, essay: str, prompt: str = "", rubric: str = "") -> EssayReport:
        """Score ``essay`` against ``rubric`` (the institution's default when empty)."""
        chosen = self.rubric(rubric)
        return score_essay(essay, chosen, prompt, embedder=self.embedder,
                           model=self.calibration(chosen.name))
