"""``lamworks edu ...``: calibrate the essay scorer on the institution's own scored essays, and
score a whole class set.

CSV columns (names matched case-insensitively): an id (``id``, ``essay_id``, ``text_id`` ...),
the essay text (``text``, ``essay``, ``full_text``), optionally the prompt (``prompt``), and for
calibration one column per rubric trait key (``overall``, ``cohesion`` ...).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["edu_cli"]

edu_cli = typer.Typer(help="Essay scoring: calibration on your own scored essays, class sets.",
                      no_args_is_help=True)

_ID = ("id", "essay_id", "text_id", "text_id_kaggle", "student_id")
_TEXT = ("text", "essay", "full_text", "essay_text")


def _column(header: list[str], names: tuple[str, ...], what: str, required: bool = True
            ) -> str | None:
    lower = {h.lower().strip(): h for h in header}
    for name in names:
        if name in lower:
            return lower[name]
    if required:
        raise typer.BadParameter(f"no {what} column (expected one of {', '.join(names)}); "
                                 f"found {', '.join(header)}")
    return None


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _service():  # noqa: ANN202 - returns EssayService; imported lazily to keep the CLI fast
    from lamworks.cli import current_config

    from .service import EssayService
    from .settings import EducationSettings

    config = current_config()
    raw = config.plugins.settings_for("education")
    return EssayService(config.data_dir, EducationSettings.model_validate(raw))


@edu_cli.command()
def calibrate(
    essays: Annotated[Path, typer.Option(help="CSV of human-scored essays.")],
    rubric: Annotated[str, typer.Option(help="Rubric the scores follow.")] = "",
) -> None:
    """Fit the per-trait scoring model on your institution's scored essays and store it."""
    from rich.progress import track

    from .calibration import calibration_path, fit_calibration
    from .features import extract_features

    service = _service()
    chosen = service.rubric(rubric)
    header, rows = _read(essays)
    text_col = _column(header, _TEXT, "essay text")
    prompt_col = _column(header, ("prompt",), "prompt", required=False)
    lower = {h.lower().strip(): h for h in header}
    keys = [t.key for t in chosen.traits if t.key.lower() in lower]
    if chosen.overall_trait is None and "overall" in lower:
        keys.append("overall")
    if not keys:
        raise typer.BadParameter(f"no score columns for rubric {chosen.name!r} (expected some "
                                 f"of {', '.join(t.key for t in chosen.traits)})")
    usable = [r for r in rows if (r[text_col] or "").strip()
              and all((r[lower[k]] or "").strip() for k in keys)]
    embedder = service.embedder
    features, texts, prompts = [], [], []
    for row in track(usable, description="Measuring essays"):
        text = row[text_col]
        prompt = row[prompt_col] if prompt_col else ""
        features.append(extract_features(text, prompt, embedder))
        texts.append(text)
        prompts.append(prompt)
    targets = {k: [float(r[lower[k]]) for r in usable] for k in keys}
    try:
        model = fit_calibration(features, texts, prompts, targets, rubric=chosen.name,
                                scale=(chosen.scale_min, chosen.scale_max, chosen.step),
                                holistic=("overall",) if chosen.overall_trait is None
                                else (chosen.overall_trait,))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    path = model.save(calibration_path(service.data_dir, chosen.name))
    typer.echo(f"Calibrated {chosen.name!r} on {len(usable)} essays "
               f"({model.meta['prompts']} prompts); cross-validated RMSE per trait: "
               + ", ".join(f"{k} {v}" for k, v in model.meta["cv_rmse"].items()))
    typer.echo(f"Stored in {path}")


@edu_cli.command()
def score(
    essays: Annotated[Path, typer.Option(help="CSV with an id, the essay text, optional prompt.")],
    out: Annotated[Path, typer.Option(help="Where to write the scores CSV.")],
    rubric: Annotated[str, typer.Option(help="Rubric to score with.")] = "",
) -> None:
    """Score a class set: one output row per essay with every trait score."""
    from rich.progress import track

    from .scorer import EssayInputError

    service = _service()
    chosen = service.rubric(rubric)
    header, rows = _read(essays)
    id_col = _column(header, _ID, "id")
    text_col = _column(header, _TEXT, "essay text")
    prompt_col = _column(header, ("prompt",), "prompt", required=False)
    trait_keys = [t.key for t in chosen.traits]
    columns = ["id", "status", "overall", *[k for k in trait_keys if k != "overall"],
               "next_steps"]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in track(rows, description=f"Scoring ({chosen.name})"):
            record: dict[str, object] = {"id": row[str(id_col)]}
            try:
                report = service.feedback(row[str(text_col)],
                                          row[prompt_col] if prompt_col else "", chosen.name)
            except EssayInputError as exc:
                record.update(status="empty", next_steps=str(exc))
                writer.writerow(record)
                continue
            record.update(status=report.status, overall=report.overall,
                          next_steps=" | ".join(report.next_steps))
            record.update({k: v for k, v in report.scores().items() if k in columns})
            writer.writerow(record)
    typer.echo(f"Scored {len(rows)} essays with {chosen.name!r}"
               f"{' (calibrated)' if service.calibration(chosen.name) else ''} -> {out}")
