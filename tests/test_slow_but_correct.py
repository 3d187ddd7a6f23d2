"""A slow but correct exercise fails its speed check and nothing else.

The correctness checks' inputs are small (bounded Hypothesis sizes), so a readable double loop
over the pairs of boxes (``tests/fixtures/box_iou_double_loop.py``) is graded right there; only
the speed check, timing it on 1000 x 1000 boxes against torchvision, says it is too slow, and
says so in words.
"""

from __future__ import annotations

from tests.grading import REPO_ROOT, run_checks

LOOP = REPO_ROOT / "tests" / "fixtures" / "box_iou_double_loop.py"


def test_a_double_loop_box_iou_fails_only_its_speed_check():
    exit_code, verdicts = run_checks(
        str(REPO_ROOT / "checks" / "test_metrics.py"),
        str(REPO_ROOT / "checks" / "speed" / "test_metrics.py"),
        "--solutions",
        "--mutant",
        str(LOOP),
        "--exercise=metrics.box_iou.speed",
    )
    correctness = [v for v in verdicts if v.exercise == "metrics.box_iou"]
    speed = [v for v in verdicts if v.exercise == "metrics.box_iou.speed"]
    assert correctness and speed, [v.nodeid for v in verdicts]
    wrong = [f"{v.nodeid}: {v.outcome}\n{v.message}" for v in correctness if v.outcome != "passed"]
    assert not wrong, "a correct loop fails correctness checks:\n" + "\n\n".join(wrong)
    assert [v.outcome for v in speed] == ["failed"], speed
    assert "too slow" in speed[0].message and "loop" in speed[0].message, speed[0].message
    assert exit_code == 1
