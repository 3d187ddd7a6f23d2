"""``bam check``: the scoreboard, the course progress bar, watch mode, and surviving a dying run."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bam.commands import check
from bam.commands.check import Checker, Run, Verdict
from tests.grading import REPO_ROOT


def verdict(exercise: str, outcome: str, message: str = "", points: int = 1) -> Verdict:
    return Verdict(exercise, points, f"property of {exercise}", outcome, message)


HALF_DONE = Run(
    [
        verdict("metrics.mask_iou", "passed", points=2),
        verdict("metrics.mask_iou", "passed"),
        verdict("metrics.box_iou", "passed"),
        verdict(
            "metrics.box_iou",
            "failed",
            "IoU of each pair of boxes: 1 of 4 values differ\nFalsifying example: boxes1=...",
            points=2,
        ),
        verdict("metrics.average_precision", "not implemented", "not implemented yet: ..."),
    ]
)


@pytest.fixture
def course(tmp_path) -> Path:
    """A course folder with the real lessons/ and an empty checks file for metrics only."""
    root = tmp_path / "course"
    shutil.copytree(REPO_ROOT / "lessons", root / "lessons")
    (root / "checks").mkdir()
    (root / "checks" / "conftest.py").write_text("", "utf-8")
    (root / "checks" / "test_metrics.py").write_text("", "utf-8")
    return root


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("BAM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_pytest_command_selects_lessons_and_exercises(tmp_path):
    results = tmp_path / "r.jsonl"
    command = check.pytest_command(REPO_ROOT, ["metrics.box_iou", "rpn"], results, solutions=True)
    assert command[:3] == [sys.executable, "-m", "pytest"]
    assert "checks/test_metrics.py" in command and "checks/test_rpn.py" in command
    assert {"--exercise=metrics.box_iou", "--exercise=rpn", "--solutions"} <= set(command)
    assert command[command.index("--bam-results") + 1] == str(results)
    everything = check.pytest_command(REPO_ROOT, [], results, package="copy", check_timeout=3)
    assert "checks" in everything and "--solutions" not in everything
    assert everything[everything.index("--package") + 1] == "copy"
    assert everything[everything.index("--check-timeout") + 1] == "3"


def test_scoreboard_next_step_and_progress_bar(course):
    screen = check.render(
        HALF_DONE, course, {"metrics.mask_iou": "passed"}, check.Style(False), "lessons"
    )
    lines = screen.splitlines()
    assert lines[0].startswith("Lesson 3 metrics") and "1/3 exercises  4/7 points" in lines[0]
    assert "✓ metrics.mask_iou" in screen and "3/3" in screen and "done" in screen
    assert "✗ metrics.box_iou" in screen and "1/3" in screen and "failed" in screen
    assert "✗ metrics.average_precision" in screen and "not implemented" in screen
    # the first unfinished exercise, with the property and Hypothesis' counterexample
    assert "✗ metrics.box_iou fails: property of metrics.box_iou" in screen
    assert "  Falsifying example: boxes1=..." in screen and "bam hint metrics.box_iou" in screen
    total = sum(len(check.exercises_of(course, lesson)) for lesson in check.course_order(course))
    assert lines[-1].startswith("Course ▕█") and f"1/{total} exercises" in lines[-1]


def test_progress_is_remembered_for_lessons_only(course, state, monkeypatch):
    monkeypatch.setattr(check, "run_checks", lambda *args, **kwargs: HALF_DONE)
    Checker(course).check(["metrics"])
    progress = check.load_progress(state / "progress.json")
    assert progress == {
        "metrics.mask_iou": "passed",
        "metrics.box_iou": "failed",
        "metrics.average_precision": "not implemented",
    }
    Checker(course, solutions=True).check(["metrics"])  # grading solutions/ changes nothing
    assert check.load_progress(state / "progress.json") == progress


def test_next_step_for_a_stub_and_for_a_finished_lesson(course):
    stub = Run([verdict("metrics.box_iou", "not implemented")])
    text = "\n".join(check.next_step(stub, course, check.Style(False)))
    assert "Next: metrics.box_iou is not implemented yet (lessons/metrics.py)" in text
    done = Run([verdict("metrics.box_iou", "passed")])
    assert "All checks pass" in "\n".join(check.next_step(done, course, check.Style(False)))


def test_a_run_that_dies_says_so():
    died = Run([verdict("metrics.box_iou", "passed")], exit_code=3, output_tail="Fatal error\n")
    assert died.broke
    assert "stopped early (pytest exit status 3)" in "\n".join(check.broken_run_lines(died))


def test_watch_rechecks_the_saved_lesson_and_shows_the_first_failure(course, monkeypatch):
    calls = []

    def fake_run_checks(root, targets, **options):
        calls.append(targets)
        return HALF_DONE

    monkeypatch.setattr(check, "run_checks", fake_run_checks)
    saves = iter([None, course / "lessons" / "metrics.py", None, course / "lessons" / "rpn.py"])

    def sleep(seconds):  # each poll: maybe "save" a file (a newer modification time)
        path = next(saves)
        if path is not None:
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    out = io.StringIO()
    assert check.watch(Checker(course), max_events=2, out=out, sleep=sleep, clear=False) == 0
    screens = out.getvalue()
    assert calls == [["metrics"]], "only the saved lesson with checks is run"
    assert "watching lessons/" in screens and "lessons/metrics.py saved at" in screens
    assert "✗ metrics.box_iou fails: property of metrics.box_iou" in screens
    assert "rpn.py was saved, but lesson 'rpn' has no checks" in screens
    assert screens.count("Course ▕") == 2  # at the start and after the metrics run


def test_changed_files_orders_by_modification_time():
    a, b = Path("a.py"), Path("b.py")
    assert check.changed_files({a: 1, b: 1}, {a: 5, b: 3}) == [b, a]
    assert check.changed_files({a: 1}, {a: 1}) == []


def test_unknown_lesson_is_a_clear_error(capsys):
    code = check.run(_parse(["metrics", "nope.box_iou", "--course", str(REPO_ROOT)]))
    assert code == 2
    assert "unknown lesson 'nope.box_iou'" in capsys.readouterr().err


def _parse(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    return parser.parse_args(argv)


ONE_DONE_ONE_DYING = """

import os

import torchvision


def box_iou(boxes1, boxes2):
    return torchvision.ops.box_iou(boxes1, boxes2)


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, num_classes=None):
    os._exit(3)  # kills the whole Python process: no exception to catch
"""


def test_bam_check_survives_a_student_module_that_kills_python(tmp_path):
    """The real thing, in a child process: the exercise that kills its (worker) process fails
    with a sentence saying so, and every other verdict and the scoreboard come out."""
    package = tmp_path / "student_copy"
    shutil.copytree(REPO_ROOT / "lessons", package, ignore=shutil.ignore_patterns("__pycache__"))
    metrics = package / "metrics.py"
    metrics.write_text(metrics.read_text("utf-8") + ONE_DONE_ONE_DYING, "utf-8")
    command = [
        sys.executable,
        "-m",
        "bam",
        "check",
        "metrics.box_iou",
        "metrics.mean_average_precision",
    ]
    command += ["--package", "student_copy", "--course", str(REPO_ROOT)]
    environment = dict(os.environ, PYTHONPATH=str(tmp_path), BAM_STATE_DIR=str(tmp_path / "s"))
    done = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✓ metrics.box_iou" in done.stdout and "4/4" in done.stdout
    assert "✗ metrics.mean_average_precision" in done.stdout
    assert "ended the grading process: os._exit(3)" in done.stdout
    assert "Course ▕" in done.stdout
