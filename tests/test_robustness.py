"""Grading survives broken student code: each breakage gives a clear verdict for its exercise.

A temporary student package (``student_copy``: a copy of ``lessons/`` with broken ``metrics``
exercises) is graded by ``python -m pytest checks/test_metrics.py --package student_copy`` in a
child process, as a grader would: one run breaks every exercise of the lesson differently (an
infinite loop, an exception, a wrong shape, a NaN, a print flood, an in-place edit of the
inputs). Two short runs in this process (the harness turns ``SystemExit`` into a verdict, so
they are safe here) call ``sys.exit()`` at import time and inside an exercise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bam.checking import runner as checks_runner
from tests.grading import REPO_ROOT, Verdict, run_checks

CHECK_TIMEOUT = 4  # seconds per check in the run with the infinite loop
FLOOD_LINES = 20_000  # lines printed per call by the "print flood" exercise

BROKEN_EXERCISES = f"""

# ---- broken on purpose by tests/test_robustness.py


def mask_iou(pred, target):
    while True:  # an infinite loop
        pass


def dice_coefficient(pred, target):
    return pred.float().sum(dim=3)  # an exception: [B, H, W] has no dim 3


def dice_ce_loss(logits, target):
    return torch.tensor(float("nan"))  # a NaN


def box_iou(boxes1, boxes2):
    return torch.zeros(len(boxes1) * len(boxes2))  # a wrong shape: [N*M] instead of [N, M]


def average_precision(recall, precision):
    for step in range({FLOOD_LINES}):  # a print flood (and a wrong answer)
        print("debugging average_precision, step", step)
    return 0.123


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, num_classes=None):
    for truth in ground_truths:
        truth["boxes"][:, 2:] -= truth["boxes"][:, :2]  # an in-place edit of the inputs
    return {{"map": 0.0, "ap": {{}}}}
"""

EXIT_AT_IMPORT = "\n\nimport sys\n\nsys.exit(3)  # sys.exit() at import time\n"

EXIT_IN_FUNCTION = """

def box_iou(boxes1, boxes2):
    import sys

    sys.exit("done")  # sys.exit() inside an exercise
"""


@dataclass
class Graded:
    """One grading run: its verdicts per check, the terminal output and the Gradescope file."""

    exit_code: int
    output: str
    verdicts: list[checks_runner.Verdict]
    gradescope: dict

    def of(self, exercise: str) -> list[dict]:
        found = [verdict for verdict in self.verdicts if verdict.exercise == exercise]
        assert found, f"no verdict for {exercise}; output:\n{self.output[-3000:]}"
        return found


def make_student_copy(root: Path, appended: str, package: str = "student_copy") -> None:
    """``root/<package>``: the lessons, with ``appended`` at the end of ``metrics.py``."""
    package = root / package
    shutil.copytree(REPO_ROOT / "lessons", package, ignore=shutil.ignore_patterns("__pycache__"))
    metrics = package / "metrics.py"
    metrics.write_text(metrics.read_text(encoding="utf-8") + appended, encoding="utf-8")


def start_grading(
    root: Path, *exercise: str, check_timeout: float | None = None
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "checks/test_metrics.py",
        "--package",
        "student_copy",
        "-q",
        "--tb=short",
        "-p",
        "no:cacheprovider",
        "-p",
        "bam.checking.check_stream",
        "--bam-results",
        str(root / "verdicts.jsonl"),
        "--gradescope",
        str(root / "results.json"),
        *(f"--exercise={name}" for name in exercise),
        *(["--check-timeout", str(check_timeout)] if check_timeout else []),
    ]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(REPO_ROOT)]))
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=environment,
        stdout=(root / "output.txt").open("wb"),
        stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen, root: Path) -> Graded:
    try:
        exit_code = process.wait(timeout=400)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave a grading run behind
        process.wait()
        raise
    output = (root / "output.txt").read_text(encoding="utf-8", errors="replace")
    verdicts = checks_runner.read_verdicts(root / "verdicts.jsonl")  # the last line of a check wins
    results = root / "results.json"
    gradescope = json.loads(results.read_text()) if results.exists() else {}
    return Graded(exit_code, output, verdicts, gradescope)


@pytest.fixture(scope="module", autouse=True)
def broken_run(tmp_path_factory) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Starts grading the broken copy first thing; the in-process tests run meanwhile."""
    root = tmp_path_factory.mktemp("broken")
    make_student_copy(root, BROKEN_EXERCISES)
    process = start_grading(root, check_timeout=CHECK_TIMEOUT)
    yield process, root
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def broken(broken_run) -> Graded:
    return finish(*broken_run)


BOX_IOU_CHECKS = (
    (REPO_ROOT / "checks" / "test_metrics.py")
    .read_text("utf-8")
    .count('@exercise("metrics.box_iou"')
)


def grade_in_process(root: Path, package: str, monkeypatch) -> tuple[int, list[Verdict]]:
    """``pytest checks/test_metrics.py --package PACKAGE --exercise metrics.box_iou``, here."""
    monkeypatch.syspath_prepend(str(root))
    try:
        return run_checks(
            str(REPO_ROOT / "checks" / "test_metrics.py"),
            "--package",
            package,
            "--exercise",
            "metrics.box_iou",
        )
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == package]:
            del sys.modules[name]


def test_sys_exit_at_import_time_fails_each_check_clearly(tmp_path, monkeypatch):
    make_student_copy(tmp_path, EXIT_AT_IMPORT, package="exits_at_import")
    exit_code, verdicts = grade_in_process(tmp_path, "exits_at_import", monkeypatch)
    assert exit_code == 1 and len(verdicts) == BOX_IOU_CHECKS, [v.message for v in verdicts]
    for verdict in verdicts:
        assert verdict.outcome == "failed", verdict.message
        assert (
            "exits_at_import/metrics.py called sys.exit(3) while being imported" in verdict.message
        )


def test_sys_exit_inside_an_exercise_fails_its_checks_clearly(tmp_path, monkeypatch):
    make_student_copy(tmp_path, EXIT_IN_FUNCTION, package="exits_in_function")
    exit_code, verdicts = grade_in_process(tmp_path, "exits_in_function", monkeypatch)
    assert exit_code == 1 and len(verdicts) == BOX_IOU_CHECKS, [v.message for v in verdicts]
    for verdict in verdicts:
        assert verdict.outcome == "failed", verdict.message
        assert "box_iou called sys.exit(done); return a value instead" in verdict.message


def test_every_exercise_gets_a_verdict_and_the_scoreboard_comes_out(broken):
    assert broken.exit_code == 1, broken.output[-3000:]
    exercises = {verdict.exercise for verdict in broken.verdicts}
    expected = {f"metrics.{name}" for name in __import__("lessons.metrics").metrics.__all__}
    assert exercises == expected
    assert all(verdict.outcome == "failed" for verdict in broken.verdicts)
    assert "Boxes & Masks scoreboard (student_copy/)" in broken.output
    for exercise in expected:
        assert f"✗ {exercise}" in broken.output, f"{exercise} missing from the scoreboard"
    assert "TOTAL  0/6 exercises" in broken.output


def test_infinite_loop_times_out_with_advice(broken):
    for verdict in broken.of("metrics.mask_iou"):
        assert f"timed out after {CHECK_TIMEOUT:g} s" in verdict.message
        assert "infinite loop" in verdict.message
        assert verdict.seconds < CHECK_TIMEOUT + 5, "the time limit did not stop the check"


def test_exception_names_the_error(broken):
    verdicts = broken.of("metrics.dice_coefficient")
    assert all(verdict.outcome == "failed" for verdict in verdicts)
    messages = [verdict.message for verdict in verdicts]
    assert any("IndexError" in m and "Dimension out of range" in m for m in messages), messages


def test_nan_is_reported_as_nan(broken):
    messages = [verdict.message for verdict in broken.of("metrics.dice_ce_loss")]
    assert any("NaN or inf" in message for message in messages), messages


def test_wrong_shape_is_reported_with_both_shapes(broken):
    messages = [verdict.message for verdict in broken.of("metrics.box_iou")]
    assert any("returned shape (" in m and "expected (" in m for m in messages), messages


def test_in_place_edit_is_reported(broken):
    messages = [verdict.message for verdict in broken.of("metrics.mean_average_precision")]
    assert any("in place" in message for message in messages), messages


def test_print_flood_does_not_drown_the_report(broken):
    flood = FLOOD_LINES * len("debugging average_precision, step 10000\n")
    checks = len(broken.of("metrics.average_precision"))  # each check's output is capped
    assert broken.output.count("debugging average_precision") < 60 * checks
    assert "more characters of output cut" in broken.output
    assert len(broken.output) < flood / 2, f"{len(broken.output)} characters of output"
    assert all(verdict.outcome == "failed" for verdict in broken.of("metrics.average_precision"))


def test_gradescope_results_follow_the_format_and_stay_small(broken):
    results = broken.gradescope
    assert results["score"] == 0 and isinstance(results["execution_time"], int | float)
    assert results["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    assert len(results["tests"]) == len(broken.verdicts)
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(test)
        assert test["status"] in {"passed", "failed"} and test["score"] <= test["max_score"]
        assert test["name"].startswith("metrics.") and len(test["output"]) <= 4200
    assert len(json.dumps(results)) < 60_000
