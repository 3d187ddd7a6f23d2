"""No free points: a lesson file that implements nothing scores 0 in every lesson.

A null submission (``tests/null_submission.py``) returns, for every exercise, output of the right
shape that says nothing: zeros, a constant, or its input unchanged. Checks of properties such an
output has (symmetry, bounds, a zero gradient, an empty result for empty input) are marked
``@holds_for_constants`` and score only with a check of the same exercise that the null output
fails (``checks/scoring.py``). Proved through both graders a student meets: ``bam check`` (its
scoreboard and progress store) and Gradescope's ``run_autograder``. Each lesson is graded in one
null mode per grader (the modes rotate over the lessons, so each lesson meets two of the three);
``python -m tests.null_submission``-style sweeps of all three modes are how the marks were found.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from checks import scoring
from tests.grading import REPO_ROOT, lessons_with_checks, run_autograder
from tests.null_submission import MODES, null_lesson, write_null_lesson

LESSONS = lessons_with_checks()


def mode_for(lesson: str, shift: int) -> str:
    return MODES[(LESSONS.index(lesson) + shift) % len(MODES)]


# ----------------------------------------------------------------------------- the rule itself


def _verdict(exercise: str, outcome: str, marked: bool) -> SimpleNamespace:
    return SimpleNamespace(
        exercise=exercise, outcome=outcome, message="", holds_for_constants=marked
    )


def test_a_marked_check_scores_only_with_a_check_that_does_the_job():
    alone = [_verdict("m.f", "passed", True), _verdict("m.f", "failed", False)]
    scoring.final(alone, {})
    assert alone[0].outcome == "failed" and "[no free points]" in alone[0].message
    with_job = [_verdict("m.g", "passed", True), _verdict("m.g", "passed", False)]
    scoring.final(with_job, {})
    assert [v.outcome for v in with_job] == ["passed", "passed"]
    scoring.final(alone + with_job, {})  # applied twice: the same
    assert [v.outcome for v in alone + with_job] == ["failed", "failed", "passed", "passed"]


def test_from_scratch_zeroes_the_exercise_and_its_speed_check():
    verdicts = [_verdict("rpn.nms", "passed", False), _verdict("rpn.nms.speed", "passed", False)]
    scoring.final(verdicts, {"rpn.nms": "[from scratch] called torchvision.ops.nms"})
    assert all(v.outcome == "failed" and "[from scratch]" in v.message for v in verdicts)


def _checks_of(path: Path) -> list[tuple[str, bool]]:
    """(exercise, marked) for every check of a check file, read with ``ast``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.FunctionDef):
            continue
        names = [
            decorator.args[0].value
            for decorator in node.decorator_list
            if isinstance(decorator, ast.Call)
            and getattr(decorator.func, "id", None) == "exercise"
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
        ]
        marked = any(ast.unparse(d) == scoring.MARKER for d in node.decorator_list)
        found += [(name, marked) for name in names]
    return found


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_a_check_a_constant_cannot_pass(lesson):
    """Otherwise the exercise could never score: its marked checks wait for one."""
    checks = _checks_of(REPO_ROOT / "checks" / f"test_{lesson}.py")
    marked_only = {name for name, _ in checks} - {name for name, marked in checks if not marked}
    assert checks and not marked_only, f"exercises with only marked checks: {marked_only}"


def test_a_null_lesson_keeps_the_names_and_says_nothing():
    source = null_lesson((REPO_ROOT / "solutions" / "metrics.py").read_text("utf-8"), "ones")
    namespace: dict = {"__name__": "null_metrics"}
    exec(compile(source, "null_metrics.py", "exec"), namespace)
    import torch

    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 9.0]])
    assert torch.equal(namespace["box_iou"](boxes, boxes), torch.ones(2, 2))


# ----------------------------------------------------------------------------- through bam check


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A student release of the course (no solutions/), as students and Gradescope get it."""
    from bam.release.student import make_student_release

    folder = tmp_path_factory.mktemp("null") / "release"
    make_student_release(REPO_ROOT, folder, docs=False, log=lambda line: None)
    return folder


@pytest.mark.slow  # every lesson's checks on a null file: about 40 s a lesson on 2 busy cores
@pytest.mark.parametrize("lesson", LESSONS)
def test_a_null_lesson_scores_zero_through_bam_check(lesson, release, tmp_path, monkeypatch):
    from bam.checking import progress as progress_store
    from bam.checking import watch as watch_mode

    course = tmp_path / "course"
    shutil.copytree(release, course, ignore=shutil.ignore_patterns("docs", "notebooks"))
    for path in (REPO_ROOT / "solutions").glob("*.py"):  # the lessons it builds on: done
        if path.name != "__init__.py":
            shutil.copy(path, course / "lessons" / path.name)
    write_null_lesson(REPO_ROOT / "solutions", lesson, mode_for(lesson, 0), course / "lessons")
    monkeypatch.setenv("BAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    checker = watch_mode.Checker(course)
    run, screen = checker.check([lesson])
    assert run.verdicts and not run.broke, screen
    scored = [v for v in run.verdicts if v.outcome == "passed"]
    assert not scored, "a null lesson scored:\n" + "\n".join(
        f"{v.exercise}: {v.description}" for v in scored
    )
    assert " 0/" in screen.splitlines()[0], screen
    progress = progress_store.load_progress(checker.progress_path)
    assert progress and "passed" not in progress.values(), progress


# ----------------------------------------------------------------------------- run_autograder


@pytest.mark.slow  # the whole course's checks, once: 8-10 min on 2 busy cores
def test_null_lessons_score_zero_through_run_autograder(release, tmp_path):
    root = tmp_path / "autograder"
    shutil.copytree(release, root / "source" / "course", ignore=shutil.ignore_patterns("docs"))
    submission = root / "submission"
    submission.mkdir()
    for lesson in LESSONS:
        write_null_lesson(REPO_ROOT / "solutions", lesson, mode_for(lesson, 1), submission)
    # no privilege drop: the scores are the point here
    process = run_autograder(root, drop_privileges=False, timeout=1800)
    results = json.loads((root / "results" / "results.json").read_text("utf-8"))
    tests = results["tests"]
    assert {test["number"].split(".")[0] for test in tests} == set(LESSONS), process.stdout[-3000:]
    scored = [f"{test['name']} ({test['score']})" for test in tests if test["score"]]
    assert results["score"] == 0 and not scored, "null lessons scored:\n" + "\n".join(scored)
