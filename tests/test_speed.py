"""The speed checks (checks/speed/): the reference passes, stubs are "not implemented", a
slow but correct op keeps its correctness points and fails only its speed check, quickly, and a
fast but wrong op earns no speed points."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.grading import REPO_ROOT, run_checks

SLOW_BOX_IOU = '''

def box_iou(boxes1, boxes2):
    """A double Python loop over the pairs: right, and 1000x slower than torchvision."""
    if boxes1.dtype in (torch.float16, torch.bfloat16):  # areas overflow: work in float32
        boxes1, boxes2 = boxes1.float(), boxes2.float()
    out = torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype)
    for i in range(len(boxes1)):
        for j in range(len(boxes2)):
            a, b = boxes1[i], boxes2[j]
            w = (torch.minimum(a[2], b[2]) - torch.maximum(a[0], b[0])).clamp(min=0)
            h = (torch.minimum(a[3], b[3]) - torch.maximum(a[1], b[1])).clamp(min=0)
            inter = w * h
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            out[i, j] = inter / union
    return out
'''

FAST_BUT_WRONG_NMS = """

def nms(boxes, scores, iou_threshold):
    return torch.argsort(scores, descending=True)  # keeps everything: fast, wrong
"""


def test_every_speed_check_passes_on_solutions_and_is_not_implemented_on_stubs():
    code, verdicts = run_checks(str(REPO_ROOT / "checks" / "speed"), "--solutions")
    failing = [(v.nodeid, v.message) for v in verdicts if v.outcome != "passed"]
    assert code == 0 and verdicts and not failing, failing
    assert all(v.exercise.endswith(".speed") for v in verdicts)
    code, verdicts = run_checks(str(REPO_ROOT / "checks" / "speed"))
    assert code == 1 and {v.outcome for v in verdicts} == {"not implemented"}


def _student_copy(tmp_path: Path, lesson: str, extra: str) -> None:
    package = tmp_path / "student_copy"
    shutil.copytree(REPO_ROOT / "solutions", package, ignore=shutil.ignore_patterns("__pycache__"))
    path = package / f"{lesson}.py"
    path.write_text(path.read_text("utf-8") + extra, "utf-8")


def _bam_check(tmp_path: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
        BAM_STATE_DIR=str(tmp_path / "state"),
        NO_COLOR="1",
        OMP_NUM_THREADS="1",
    )
    command = [sys.executable, "-m", "bam", "check", *targets, "--package", "student_copy"]
    return subprocess.run(
        [*command, "--course", str(REPO_ROOT)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_slow_but_correct_keeps_its_points_and_fails_only_speed_fast(tmp_path):
    _student_copy(tmp_path, "metrics", SLOW_BOX_IOU)
    started = time.monotonic()
    done = _bam_check(tmp_path, "metrics.box_iou")
    seconds = time.monotonic() - started
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    (row,) = [line for line in out.splitlines() if re.match(r"  [✓✗] metrics\.box_iou +\d", line)]
    got, worth = row.split()[2].split("/")
    assert row.split()[0] == "✓" and got == worth, row  # every correctness point
    (speed,) = [line for line in out.splitlines() if "⏱   speed" in line]
    assert "0/1" in speed and "too slow" in speed
    assert f"Lesson 3 metrics       1/1 exercises  {worth}/{int(worth) + 1} points" in out
    assert "⏱ metrics.box_iou is correct but too slow" in out
    assert "Python loop over the pairs of boxes" in out and "x torchvision's" in out
    # the 1000 x 1000 input would take over a minute: the check stops after a small run
    assert "predicted from one call on a smaller input" in out
    assert seconds < 60, f"bam check took {seconds:.0f} s"


def test_fast_but_wrong_earns_no_speed_points(tmp_path):
    _student_copy(tmp_path, "rpn", FAST_BUT_WRONG_NMS)
    done = _bam_check(tmp_path, "rpn.nms")
    assert "✗ rpn.nms" in done.stdout and "✗ rpn.nms fails:" in done.stdout
    (speed,) = [line for line in done.stdout.splitlines() if "⏱   speed" in line]
    assert "0/1" in speed and "waits for a right result" in speed


@pytest.mark.parametrize("lesson", ["metrics", "rpn", "roi"])
def test_speed_checks_are_named_after_an_exercise_of_their_lesson(lesson):
    import ast
    import importlib

    exported = set(importlib.import_module(f"solutions.{lesson}").__all__)
    tree = ast.parse((REPO_ROOT / "checks" / "speed" / f"test_{lesson}.py").read_text("utf-8"))
    names = [
        decorator.args[0].value
        for node in ast.walk(tree)
        for decorator in getattr(node, "decorator_list", [])
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "exercise"
    ]
    assert names and all(name.endswith(".speed") for name in names)
    assert {name.removesuffix(".speed").split(".", 1)[1] for name in names} <= exported
