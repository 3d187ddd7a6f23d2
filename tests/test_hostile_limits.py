"""Time limits measure the exercise, not the search (issue 11).

A check's limit (``@exercise(timeout=...)``, or ``--check-timeout``) counts only the time spent in
student code, in the worker, and only until the check has found a failure: Hypothesis' shrinking
of a counterexample then runs with a per-call limit only. So a slow exercise with a logic error
is reported as the property it breaks, with the shrunk example, not as "timed out".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.grading import REPO_ROOT

SLOW_AND_WRONG = """

import time as _time

_right_box_iou = box_iou


def box_iou(boxes1, boxes2):
    _time.sleep(0.05)  # slow-ish: every call of the search costs time
    result = _right_box_iou(boxes1, boxes2)
    return result + 0.01 if len(boxes1) > 1 else result  # wrong with two boxes or more
"""


def test_shrinking_a_logic_error_does_not_eat_the_time_limit(tmp_path):
    package = tmp_path / "slow_copy"
    shutil.copytree(REPO_ROOT / "lessons", package, ignore=shutil.ignore_patterns("__pycache__"))
    source = (REPO_ROOT / "solutions" / "metrics.py").read_text(encoding="utf-8")
    (package / "metrics.py").write_text(source + SLOW_AND_WRONG, encoding="utf-8")
    results = tmp_path / "results.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "checks/test_metrics.py",
        "--package",
        "slow_copy",
        "--exercise",
        "metrics.box_iou",
        "--check-timeout",
        "2",
        "-q",
        "-p",
        "no:cacheprovider",
        "--gradescope",
        str(results),
    ]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO_ROOT)]))
    subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, timeout=600)
    tests = json.loads(results.read_text())["tests"]
    messages = [test["output"] for test in tests if test["status"] == "failed"]
    assert messages, "the logic error was not caught"
    assert not [m for m in messages if "timed out" in m], messages
    assert any("Falsifying example" in m for m in messages), messages
