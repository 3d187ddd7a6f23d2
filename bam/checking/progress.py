"""The progress store: each exercise's last outcome, in ``.bam/progress.json`` of the course.

So that the course-wide progress bar counts lessons checked earlier too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bam.checking.runner import Run, Verdict


def load_progress(path: Path) -> dict[str, str]:
    """``{"metrics.box_iou": "passed" | "failed" | "not implemented"}`` from earlier runs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return {str(key): str(value) for key, value in data.get("exercises", {}).items()}


def save_progress(path: Path, progress: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"exercises": dict(sorted(progress.items())), "updated": time.time()}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def exercise_outcome(verdicts: list[Verdict]) -> str:
    """``passed`` when every check of the exercise passed; ``not implemented`` when all say so."""
    outcomes = {verdict.outcome for verdict in verdicts}
    if outcomes == {"passed"}:
        return "passed"
    if outcomes == {"not implemented"}:
        return "not implemented"
    return "failed"


def update_progress(progress: dict[str, str], run: Run) -> dict[str, str]:
    updated = dict(progress)
    for exercise, verdicts in run.by_exercise().items():
        updated[exercise] = exercise_outcome(verdicts)
    return updated
