"""``bam check``: the scoreboard, the course progress bar, watch mode, and surviving a dying run."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bam.checking import progress as progress_store
from bam.checking import runner as checks_runner
from bam.checking import scoreboard
from bam.checking import watch as watch_mode
from bam.checking.runner import Run, Verdict
from bam.checking.watch import Checker
from bam.commands import check
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
    command = checks_runner.pytest_command(
        REPO_ROOT, ["metrics.box_iou", "rpn"], results, solutions=True
    )
    assert command[:3] == [sys.executable, "-m", "pytest"]
    assert "checks/test_metrics.py" in command and "checks/test_rpn.py" in command
    assert {"--exercise=metrics.box_iou", "--exercise=rpn", "--solutions"} <= set(command)
    assert command[command.index("--bam-results") + 1] == str(results)
    everything = checks_runner.pytest_command(
        REPO_ROOT, [], results, package="copy", check_timeout=3
    )
    assert "checks" in everything and "--solutions" not in everything
    assert everything[everything.index("--package") + 1] == "copy"
    assert everything[everything.index("--check-timeout") + 1] == "3"


def test_scoreboard_next_step_and_progress_bar(course):
    screen = scoreboard.render(
        HALF_DONE, course, {"metrics.mask_iou": "passed"}, scoreboard.Style(False), "lessons"
    )
    lines = screen.splitlines()
    assert lines[0].startswith("Lesson 3 metrics") and "1/3 exercises  4/7 points" in lines[0]
    assert "✓ metrics.mask_iou" in screen and "3/3" in screen and "done" in screen
    assert "✗ metrics.box_iou" in screen and "1/3" in screen and "failed" in screen
    assert "✗ metrics.average_precision" in screen and "not implemented" in screen
    # the first unfinished exercise, with the property and Hypothesis' counterexample
    assert "✗ metrics.box_iou fails: property of metrics.box_iou" in screen
    assert "  Falsifying example: boxes1=..." in screen and "bam hint metrics.box_iou" in screen
    total = sum(
        len(checks_runner.exercises_of(course, lesson))
        for lesson in checks_runner.course_order(course)
    )
    assert lines[-1].startswith("Course ▕█") and f"1/{total} exercises" in lines[-1]


def test_progress_is_remembered_for_lessons_only(course, state, monkeypatch):
    monkeypatch.setattr(watch_mode, "run_checks", lambda *args, **kwargs: HALF_DONE)
    Checker(course).check(["metrics"])
    progress = progress_store.load_progress(state / "progress.json")
    assert progress == {
        "metrics.mask_iou": "passed",
        "metrics.box_iou": "failed",
        "metrics.average_precision": "not implemented",
    }
    Checker(course, solutions=True).check(["metrics"])  # grading solutions/ changes nothing
    assert progress_store.load_progress(state / "progress.json") == progress


def test_next_step_for_a_stub_and_for_a_finished_lesson(course):
    stub = Run([verdict("metrics.box_iou", "not implemented")])
    text = "\n".join(scoreboard.next_step(stub, course, scoreboard.Style(False)))
    assert "Next: metrics.box_iou is not implemented yet (lessons/metrics.py)" in text
    every = checks_runner.exercises_of(course, "metrics")
    done = Run([verdict(name, "passed") for name in every])
    text = "\n".join(scoreboard.next_step(done, course, scoreboard.Style(False)))
    assert "the lesson is done" in text and "On to lesson 4, sam: bam check sam" in text


def test_one_exercise_passing_is_not_the_end_of_the_lesson(course):
    """`bam check metrics.mask_iou` names the lesson's next exercise, not the next lesson."""
    one = Run([verdict("metrics.mask_iou", "passed"), verdict("metrics.mask_iou", "passed")])
    text = "\n".join(scoreboard.next_step(one, course, scoreboard.Style(False), progress={}))
    assert "On to the next lesson" not in text and "lesson is done" not in text
    assert "✓ All checks of metrics.mask_iou pass. Next: metrics.dice_coefficient" in text
    assert "(5 left in this lesson)" in text
    progress = {f"metrics.{name}": "passed" for name in ("dice_coefficient", "dice_ce_loss")}
    text = "\n".join(scoreboard.next_step(one, course, scoreboard.Style(False), progress=progress))
    assert "Next: metrics.box_iou (3 left in this lesson)" in text


def test_a_syntax_error_keeps_the_course_total(course):
    every = checks_runner.exercises_of(course, "metrics")
    (course / "checks" / "test_metrics.py").write_text(
        "".join(f'@exercise("{name}")\ndef test_{i}(): ...\n' for i, name in enumerate(every))
        + '@exercise("metrics.box_iou.speed")\ndef test_speed(): ...\n',
        "utf-8",
    )
    style = scoreboard.Style(False)
    before = scoreboard.course_progress_line(course, {}, style)
    metrics = course / "lessons" / "metrics.py"
    metrics.write_text(metrics.read_text("utf-8") + "\ndef broken(:\n", "utf-8")
    assert checks_runner.exercises_of(course, "metrics") == every  # from the checks: no speed entry
    assert scoreboard.course_progress_line(course, {}, style) == before  # 0/42, not 0/36
    assert watch_mode.syntax_problem(metrics).startswith("line ")


def test_a_speed_check_has_its_own_row_and_points(course):
    run = Run(
        [
            verdict("metrics.box_iou", "passed", points=4),
            verdict("metrics.box_iou.speed", "failed", "box_iou took 48x torchvision's", 2),
        ]
    )
    lines = scoreboard.scoreboard(run, course, scoreboard.Style(False))
    assert "1/1 exercises  4/6 points" in lines[0]  # correct: done; slow: the speed points lost
    assert "✓ metrics.box_iou" in lines[1] and "4/4" in lines[1]
    assert "⏱   speed" in lines[2] and "0/2" in lines[2] and "too slow" in lines[2]
    text = "\n".join(scoreboard.next_step(run, course, scoreboard.Style(False)))
    assert "⏱ metrics.box_iou is correct but too slow" in text and "48x" in text
    command = checks_runner.pytest_command(REPO_ROOT, ["metrics.box_iou"], Path("r"))
    assert "--exercise=metrics.box_iou.speed" in command


def test_a_run_that_dies_says_so():
    died = Run([verdict("metrics.box_iou", "passed")], exit_code=3, output_tail="Fatal error\n")
    assert died.broke
    assert "stopped early (pytest exit status 3)" in "\n".join(scoreboard.broken_run_lines(died))


def test_watch_checks_on_start_then_the_saved_exercise_and_says_so_at_once(course, monkeypatch):
    calls = []

    def fake_run_checks(root, targets, **options):
        calls.append(targets)
        return HALF_DONE

    monkeypatch.setattr(watch_mode, "run_checks", fake_run_checks)
    metrics = course / "lessons" / "metrics.py"
    rpn = course / "lessons" / "rpn.py"

    def fill_in_box_iou():
        text = metrics.read_text("utf-8")
        start = text.index("def box_iou(")
        end = text.index("raise NotImplementedError", start) + len("raise NotImplementedError")
        metrics.write_text(
            text[:start]
            + text[start:end].replace("raise NotImplementedError", "return None")
            + text[end:],
            "utf-8",
        )

    def touch(path):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    saves = iter([None, fill_in_box_iou, None, lambda: touch(rpn)])

    def sleep(seconds):  # each poll: maybe "save" a file
        action = next(saves)
        if action is not None:
            action()
            touch(metrics) if action is fill_in_box_iou else None

    out = io.StringIO()
    assert watch_mode.watch(Checker(course), max_events=3, out=out, sleep=sleep, clear=False) == 0
    screens = out.getvalue()
    # at start: the most recently saved lesson with checks (only metrics has a checks file)
    assert calls == [["metrics"], ["metrics.box_iou"]], "start-up run, then the changed exercise"
    assert "checking metrics (starting the checks process)…" in screens
    assert "checking metrics.box_iou…" in screens
    assert screens.index("checking metrics.box_iou…") < screens.index("checked metrics.box_iou in")
    assert "✗ metrics.box_iou fails: property of metrics.box_iou" in screens
    assert "rpn.py was saved, but lesson 'rpn' has no checks" in screens
    assert screens.count("Course ▕") == 3  # at the start, after each metrics run


def test_watch_shows_a_syntax_error_without_running_the_checks(course, monkeypatch):
    monkeypatch.setattr(watch_mode, "run_checks", lambda *a, **k: pytest.fail("must not run"))
    metrics = course / "lessons" / "metrics.py"
    metrics.write_text(metrics.read_text("utf-8") + "\ndef broken(:\n", "utf-8")
    screen = Checker(course).handle_change(metrics, None)
    assert "lessons/metrics.py does not parse: line" in screen


def test_changed_files_orders_by_modification_time():
    a, b = Path("a.py"), Path("b.py")
    assert watch_mode.changed_files({a: 1, b: 1}, {a: 5, b: 3}) == [b, a]
    assert watch_mode.changed_files({a: 1}, {a: 1}) == []


def test_unknown_lesson_is_a_clear_error(capsys):
    code = check.run(_parse(["metrics", "nope.box_iou", "--course", str(REPO_ROOT)]))
    assert code == 2
    assert "unknown lesson 'nope.box_iou'" in capsys.readouterr().err


def test_unknown_exercise_lists_the_lessons_exercises_and_a_likely_one(capsys):
    code = check.run(_parse(["yolo.grid", "--course", str(REPO_ROOT)]))
    error = capsys.readouterr().err
    assert code == 2
    assert "lesson yolo has no exercise 'grid' (did you mean" in error and "grid_targets" in error
    assert "its exercises: yolo.grid_targets, yolo.yolo_loss" in error
    assert check.run(_parse(["yolp", "--course", str(REPO_ROOT)])) == 2
    assert "(did you mean yolo?)" in capsys.readouterr().err
    assert check._target_problem(REPO_ROOT, ["metrics"], "metrics.box_iou.speed") is None


def test_solutions_in_a_copy_without_them_is_a_clear_error(course, capsys):
    (course / "lessons" / "__init__.py").write_text('COURSE_ORDER = ("metrics",)\n', "utf-8")
    code = check.run(_parse(["--solutions", "--course", str(course)]))
    assert code == 2
    assert "this copy of the course has no solutions/" in capsys.readouterr().err


def _parse(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    return parser.parse_args(argv)


ONE_DONE_ONE_DYING = """

import os

import torch


def box_iou(boxes1, boxes2):  # written out: calling torchvision.ops.box_iou would score 0
    if boxes1.dtype in (torch.float16, torch.bfloat16):
        boxes1, boxes2 = boxes1.float(), boxes2.float()
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    low = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    high = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    overlap = (high - low).clamp(min=0).prod(dim=-1)
    return overlap / (area1[:, None] + area2[None, :] - overlap)


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
    assert re.search(r"✓ metrics\.box_iou\s+(\d+)/\1\s+done", done.stdout), done.stdout
    assert "✗ metrics.mean_average_precision" in done.stdout
    assert "ended the grading process: os._exit(3)" in done.stdout
    assert "Course ▕" in done.stdout


def test_the_warm_process_gives_the_verdicts_of_a_fresh_one_and_survives_a_dying_run(
    tmp_path, monkeypatch
):
    """The real thing: torch imported once, a fork per run; a run whose student code calls
    os._exit fails those checks (its grading worker is replaced), and the next run is served
    as before."""
    from bam.checking.warm import WarmRunner

    package = tmp_path / "student_copy"
    shutil.copytree(REPO_ROOT / "lessons", package, ignore=shutil.ignore_patterns("__pycache__"))
    metrics = package / "metrics.py"
    metrics.write_text(metrics.read_text("utf-8") + ONE_DONE_ONE_DYING, "utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    runner = WarmRunner(REPO_ROOT, checks_runner.check_environment(REPO_ROOT))
    try:
        targets = ["metrics.box_iou"]
        warm = checks_runner.run_checks(REPO_ROOT, targets, runner=runner, package="student_copy")
        pid = runner.process.pid
        dying = checks_runner.run_checks(
            REPO_ROOT, ["metrics.mean_average_precision"], runner=runner, package="student_copy"
        )
        again = checks_runner.run_checks(REPO_ROOT, targets, runner=runner, package="student_copy")
        assert runner.process.pid == pid, "the warm process was restarted"
    finally:
        runner.stop()
    cold = checks_runner.run_checks(REPO_ROOT, targets, package="student_copy")
    outcomes = [(v.exercise, v.description, v.outcome) for v in cold.verdicts]
    assert outcomes and all(outcome == "passed" for *_, outcome in outcomes), [
        v.message for v in cold.verdicts
    ]
    assert [(v.exercise, v.description, v.outcome) for v in warm.verdicts] == outcomes
    assert [(v.exercise, v.description, v.outcome) for v in again.verdicts] == outcomes
    # the student's os._exit ends its grading worker, not the run: its checks fail, saying so
    assert dying.exit_code == 1 and not dying.broke
    assert dying.verdicts and all(v.outcome == "failed" for v in dying.verdicts)
    assert any("ended the grading process" in v.message for v in dying.verdicts)


def test_streamed_verdicts_give_way_to_the_final_ones(tmp_path):
    """bam.checking.check_stream writes each check as it ends, then every check again as it finally
    scores (checks/scoring.py): the final line wins, in the order the checks ran."""
    path = tmp_path / "results.jsonl"
    lines = [
        {"nodeid": "a", "exercise": "rpn.nms", "outcome": "passed", "message": ""},
        {"nodeid": "b", "exercise": "rpn.nms", "outcome": "failed", "message": "[from scratch] x"},
        {"nodeid": "a", "exercise": "rpn.nms", "outcome": "failed", "message": "[from scratch] x"},
    ]
    common = {"points": 1, "description": "d"}
    text = "".join(f"{json.dumps({**common, **line})}\n" for line in lines) + '{"nodeid": "c", '
    path.write_text(text, "utf-8")
    verdicts = checks_runner.read_verdicts(path)
    assert [(v.outcome, v.message) for v in verdicts] == [("failed", "[from scratch] x")] * 2


def test_bam_check_scores_a_delegating_exercise_zero_with_its_speed_check(tmp_path, monkeypatch):
    """The from-scratch rule through bam check (tests/mistakes/rpn/delegates_nms_to_torchvision):
    every check of rpn.nms, its speed check too, fails naming the call, and so does what the
    progress store records, as in Gradescope's results.json."""
    package = tmp_path / "student_copy"
    shutil.copytree(REPO_ROOT / "lessons", package, ignore=shutil.ignore_patterns("__pycache__"))
    mistake = REPO_ROOT / "tests" / "mistakes" / "rpn" / "delegates_nms_to_torchvision.py"
    rpn = package / "rpn.py"
    rpn.write_text(rpn.read_text("utf-8") + "\n\n" + mistake.read_text("utf-8"), "utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    run, screen = Checker(REPO_ROOT, package="student_copy").check(["rpn.nms"])
    assert {v.exercise for v in run.verdicts} == {"rpn.nms", "rpn.nms.speed"}, screen
    assert all(v.outcome == "failed" for v in run.verdicts), screen
    assert all(v.message.startswith("[from scratch]") for v in run.verdicts), screen
    assert "called torchvision.ops.nms" in screen and " 0/" in screen.splitlines()[0]
    assert set(progress_store.update_progress({}, run).values()) == {"failed"}


def test_watch_checks_the_saved_exercise_first_then_the_rest_of_the_lesson(course, monkeypatch):
    """A save that passes shows its verdict at once, then the rest of the lesson is checked and
    the screen shows both; a save that fails stops at its own verdict."""
    calls = []

    def fake_run_checks(root, targets, **options):
        calls.append(targets)
        if targets == ["metrics.box_iou"]:
            return Run([verdict("metrics.box_iou", "passed", points=2)], seconds=0.5)
        return Run([verdict(name, "not implemented", "not implemented yet") for name in targets])

    monkeypatch.setattr(watch_mode, "run_checks", fake_run_checks)
    metrics = course / "lessons" / "metrics.py"
    before = watch_mode.exercise_sources(metrics)
    text = metrics.read_text("utf-8")
    start = text.index("def box_iou(")
    end = text.index("raise NotImplementedError", start)
    metrics.write_text(text[:start] + text[start:end] + "return None  #" + text[end:], "utf-8")
    screens = []
    final = Checker(course).handle_change(metrics, before, announce=screens.append)
    rest = [
        name for name in checks_runner.exercises_of(course, "metrics") if name != "metrics.box_iou"
    ]
    assert calls == [["metrics.box_iou"], rest]
    assert "checking metrics.box_iou…" in screens[0]
    assert (
        "✓ metrics.box_iou" in screens[1] and "checking the rest of lesson metrics…" in screens[1]
    )
    assert "✓ metrics.box_iou" in final and "Next: metrics." in final
    assert "the rest of lesson metrics" in final.splitlines()[1]
    calls.clear()
    monkeypatch.setattr(
        watch_mode, "run_checks", lambda root, targets, **o: calls.append(targets) or HALF_DONE
    )
    Checker(course).handle_change(metrics, before)
    assert calls == [["metrics.box_iou"]]  # it fails: nothing more to run


def test_next_step_shows_a_failing_property_before_one_waiting_for_it():
    waiting = "[no free points] this property holds, but ..."
    run = Run(
        [
            verdict("metrics.box_iou", "failed", waiting),
            verdict("metrics.box_iou", "failed", "IoU of each pair: 3 of 4 values differ"),
        ]
    )
    exercise, shown = scoreboard.first_unfinished(run)
    assert exercise == "metrics.box_iou" and shown.message.startswith("IoU of each pair")
