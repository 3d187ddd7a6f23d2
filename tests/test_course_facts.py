"""``bam.course``: the course's facts read from its files, without importing student code."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from bam import course
from bam.implementations import ImplementationUnavailable
from lessons import COURSE_ORDER


def test_lessons_and_exercises_are_the_packages_own():
    import importlib

    assert course.lessons() == COURSE_ORDER
    for lesson in course.lessons():
        module = importlib.import_module(f"solutions.{lesson}")
        assert course.exercises(lesson) == tuple(module.__all__)


def test_stubs_counts_what_is_left(tmp_path):
    assert all(not left for left in course.stubs(package="solutions").values())
    untouched = course.stubs()
    assert untouched == {lesson: list(course.exercises(lesson)) for lesson in course.lessons()}
    copy = tmp_path / "course"
    for folder in ("lessons", "solutions"):
        shutil.copytree(course.ROOT / folder, copy / folder)
    (copy / "lessons" / "metrics.py").write_text(
        (copy / "solutions" / "metrics.py").read_text("utf-8"), "utf-8"
    )
    (copy / "lessons" / "vgg.py").write_text("this is not python (\n", "utf-8")
    left = course.stubs(copy)
    assert left["metrics"] == [] and left["vgg"] == list(course.exercises("vgg"))


def test_reading_the_facts_imports_neither_torch_nor_student_code():
    probe = (
        "import sys; from bam import course; course.lessons(); course.stubs();"
        " print(sorted(m for m in ('torch', 'lessons.metrics', 'solutions') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_load_names_the_problem():
    assert course.load("rpn", "solutions").__name__ == "solutions.rpn"
    with pytest.raises(ImplementationUnavailable, match="choose one of"):
        course.load("rpn", "answers")
    with pytest.raises(course.CourseError, match="does not exist"):
        course.exercises("no_such_lesson")
