"""The from-scratch rule (``checks/from_scratch.py``): library calls from a lesson score 0.

The mechanism is tried in a fresh Python process (it rewires torchvision for good) on a small
lesson package written here, route by route; then known delegating submissions go through the
real grader, which must give each such exercise 0 with a message naming the call.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bam import course
from tests.grading import REPO_ROOT

LESSON = """
import functools
import importlib

import albumentations as A
import torch
import torchvision
from torchvision.ops import boxes as box_ops
from torchvision.ops.boxes import _box_inter_union

import helper

BOXES = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
SCORES = torch.tensor([0.9, 0.8])


def public():
    return torchvision.ops.nms(BOXES, SCORES, 0.5)


def private():
    return _box_inter_union(BOXES, BOXES)


def compiled():
    return torch.ops.torchvision.nms(BOXES, SCORES, 0.5)


def compiled_overload():
    return torch.ops.torchvision.nms.default(BOXES, SCORES, 0.5)


def reloaded():
    fresh = importlib.reload(box_ops)
    return fresh.box_iou(BOXES, BOXES)


def partial():
    return functools.partial(torchvision.ops.box_iou, BOXES)(BOXES)


def executed():
    return eval("torchvision.ops.box_area(BOXES)")


def built():
    return A.HorizontalFlip(p=1.0)


class Pool(torchvision.ops.RoIPool):
    def __init__(self):
        super().__init__((2, 2), 1.0)


def subclassed():
    return Pool()


def given_code():  # a course helper (given/, bam/) may use the library
    return helper.uses_nms(BOXES, SCORES)


def reference(nms):  # a reference the check hands in
    return nms(BOXES, SCORES, 0.5)


def module_given(pool):  # a library module the check built and hands in
    return pool(torch.ones(1, 1, 4, 4), [BOXES])


def clean():
    return BOXES.sum()
"""

HELPER = """
import torchvision


def uses_nms(boxes, scores):
    return torchvision.ops.nms(boxes, scores, 0.5)
"""

DRIVER = """
import json, sys
import torch, torchvision
from checks import from_scratch

from_scratch.install("fakelessons")
import fakelessons.lesson as lesson

pool = torchvision.ops.RoIPool((2, 2), 1.0)  # built by trusted code: not a violation
found = {}
for name in sys.argv[1:]:
    args = ()
    if name == "reference":
        args = (from_scratch.sanctioned(torchvision.ops.nms),)
    if name == "module_given":
        args = (pool,)
    getattr(lesson, name)(*args)
    found[name] = [r[2] for r in from_scratch.attach({}).get("library_calls", [])]
print(json.dumps(found))
"""

CALLED = {
    "public": ["torchvision.ops.nms"],
    "private": ["torchvision.ops.boxes._box_inter_union"],
    "compiled": ["torch.ops.torchvision.nms"],
    "compiled_overload": ["torch.ops.torchvision.nms.default"],
    "reloaded": ["torchvision.ops.boxes.box_iou"],  # the fresh module's own name
    "partial": ["torchvision.ops.box_iou"],
    "executed": ["torchvision.ops.box_area"],
    "built": ["albumentations.augmentations.geometric.flip.HorizontalFlip"],
    "subclassed": ["torchvision.ops.roi_pool.RoIPool"],
    "given_code": [],
    "reference": [],
    "module_given": [],
    "clean": [],
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("from_scratch")
    (root / "fakelessons").mkdir()
    (root / "fakelessons" / "__init__.py").write_text("")
    (root / "fakelessons" / "lesson.py").write_text(LESSON)
    (root / "helper.py").write_text(HELPER)
    (root / "driver.py").write_text(DRIVER)
    done = subprocess.run(
        [sys.executable, str(root / "driver.py"), *CALLED],
        cwd=root,
        env={"PYTHONPATH": f"{root}:{REPO_ROOT}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("route", list(CALLED))
def test_each_route_is_recorded_or_not(recorded, route):
    """A call from the lesson file is recorded by route; course code and references are not."""
    assert recorded[route] == CALLED[route], f"{route}: recorded {recorded[route]}"


def test_violations_name_the_call_and_the_exercise():
    records = [("rpn", "nms", "torchvision.ops.nms"), ("rpn", "_helper", "torchvision.ops.nms")]
    found = checks_violations(records, "rpn.propose")
    assert set(found) == {"rpn.nms", "rpn.propose"}
    assert found["rpn.nms"].startswith(
        "[from scratch] lessons/rpn.py::nms called torchvision.ops.nms"
    )


def test_exempt_exercise_and_other_lessons_helpers_do_not_count():
    assert not checks_violations(
        [("augment", "build_pipeline", "albumentations.core.composition.Compose")],
        "augment.build_pipeline",
    )
    assert checks_violations(
        [("augment", "hflip", "albumentations.augmentations.geometric.flip.HorizontalFlip")],
        "augment.hflip",
    )
    assert not checks_violations([("metrics", "_helper", "torchvision.ops.nms")], "rpn.nms")


def checks_violations(records, graded):
    from checks import from_scratch

    return from_scratch.violations(records, graded, "lessons")


def test_every_lesson_names_what_it_must_not_call():
    for lesson in course.lessons():
        prefixes, why = course.FROM_SCRATCH[lesson]
        assert prefixes and why, lesson
        assert set(prefixes) <= set(course.LIBRARIES), lesson
    for exercise in course.EXEMPT:
        lesson, name = exercise.split(".")
        assert name in course.exercises(lesson), exercise


def test_the_docs_state_the_rule():
    grading = (REPO_ROOT / "docs" / "instructors-grading.md").read_text(encoding="utf-8")
    start = (REPO_ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    assert "From scratch" in grading and "From scratch" in start
    for lesson in course.lessons():
        prefixes, _ = course.FROM_SCRATCH[lesson]
        row = next((line for line in grading.splitlines() if f"| {lesson} |" in line), "")
        assert row and all(f"`{p}`" in row for p in prefixes), f"{lesson}: no row in the table"
    assert all(exercise in grading for exercise in course.EXEMPT)


DELEGATING = [
    "rpn/delegates_nms_to_torchvision",
    "rpn/delegates_anchors_to_anchor_generator",
    "rpn/delegates_encode_to_box_coder",
    "rpn/delegates_assign_to_matcher",
    "rpn/delegates_sample_to_sampler",
    "roi/delegates_pool_to_torchvision",
    "roi/delegates_align_to_torch_ops",
    "head/delegates_head_to_torchvision",
    "head/delegates_loss_to_fastrcnn_loss",
    "head/delegates_postprocess_to_roi_heads",
    "detector/delegates_to_torchvision_rpn_and_roi_heads",
    "metrics/delegates_box_iou_to_private_torchvision",
    "vgg/delegates_backbone_to_torchvision",
    "augment/delegates_hflip_to_torchvision",
]


@pytest.mark.parametrize("mistake", DELEGATING)
def test_delegating_exercise_scores_zero_with_the_call_named(mistake, tmp_path):
    """Through the grader (Gradescope's results.json): 0 points, the call and the rule named."""
    lesson = mistake.split("/")[0]
    path = REPO_ROOT / "tests" / "mistakes" / f"{mistake}.py"
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "pytest", f"checks/test_{lesson}.py", "--solutions"]
    command += ["--mutant", str(path), "-x", "-q", "-p", "no:cacheprovider"]
    command += ["--hypothesis-profile=mistakes", "--gradescope", str(results)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    tests = json.loads(results.read_text())["tests"]
    assert tests, done.stdout[-3000:]
    assert all(test["score"] == 0 for test in tests), tests
    message = tests[-1]["output"]
    assert message.startswith("[from scratch] solutions/"), message
    assert " called " in message and "scores 0" in message, message
    assert "From scratch:" in done.stdout  # the scoreboard states the rule
