"""Runs the checks in-process and collects each check's verdict (used by the course's tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Verdict:
    nodeid: str
    exercise: str
    outcome: str  # passed | failed | not implemented | error
    message: str


class _Collector:
    def __init__(self) -> None:
        self.exercise_of: dict[str, str] = {}
        self.verdicts: dict[str, Verdict] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            marker = item.get_closest_marker("exercise")
            self.exercise_of[item.nodeid] = marker.kwargs["name"] if marker else "?"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        exercise = self.exercise_of.get(report.nodeid, "?")
        if report.when == "call" or report.failed:
            if getattr(report, "bam_not_implemented", False):
                outcome = "not implemented"
            elif report.when != "call":
                outcome = "error"
            else:
                outcome = report.outcome
            previous = self.verdicts.get(report.nodeid)
            if previous is None or previous.outcome == "passed":
                self.verdicts[report.nodeid] = Verdict(
                    report.nodeid, exercise, outcome, str(report.longrepr or "")[-3000:]
                )


def run_checks(*args: str) -> tuple[int, list[Verdict]]:
    """``pytest checks ARGS`` in this process; returns the exit code and one verdict per check."""
    collector = _Collector()
    exit_code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "--rootdir", str(REPO_ROOT), *args], plugins=[collector]
    )
    return int(exit_code), list(collector.verdicts.values())


def lessons_with_checks() -> list[str]:
    """Lessons (in course order) that have a checks file."""
    from lessons import COURSE_ORDER

    return [
        lesson for lesson in COURSE_ORDER if (REPO_ROOT / "checks" / f"test_{lesson}.py").exists()
    ]


def mistake_files() -> list[Path]:
    return sorted((REPO_ROOT / "tests" / "mistakes").glob("*/*.py"))


def run_autograder(
    root: Path, *, drop_privileges: bool, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Gradescope's own ``grading/gradescope/run_autograder`` with ``AUTOGRADER_ROOT=root``.

    ``root/source/course`` (a student release) and ``root/submission`` must be in place; the
    grader writes ``root/results/results.json``. ``drop_privileges``: the student's code runs as
    the unprivileged worker user (needs root); otherwise ``BAM_WORKER_USER`` is empty and it
    runs as this user. This machine's ``PYTHONPATH`` (the whole course) is not passed on.
    """
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), BAM_PYTHON=sys.executable)
    env.pop("PYTHONPATH", None)
    if drop_privileges:
        env.pop("BAM_WORKER_USER", None)
    else:
        env["BAM_WORKER_USER"] = ""
    return subprocess.run(
        ["bash", str(REPO_ROOT / "grading" / "gradescope" / "run_autograder")],
        cwd=root.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
