"""``bam release student``: a copy without solutions whose checks still grade, and the graders' files.

The release is graded in a child process started from the release folder, with the editable
install's import hook removed, so that ``solutions`` cannot be imported from the instructors'
checkout: exactly what a student who installed the release sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from bam import gradescope
from bam.release import (
    ReleaseError,
    check_points,
    github_classroom_files,
    lesson_points,
    make_student_release,
    modules_needing_solutions,
)
from tests.grading import REPO_ROOT

# runs in the release folder: no editable-install finder, so no way to reach ../solutions
GRADE_THE_RELEASE = textwrap.dedent(
    """
    import importlib.util, json, sys
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    assert importlib.util.find_spec("solutions") is None, "solutions is importable"

    from bam.implementations import ImplementationUnavailable, default_impl, lesson_module
    try:
        lesson_module("metrics", "solutions")
    except ImplementationUnavailable as error:
        impl_message = str(error)
    else:
        impl_message = "no error"
    report = {"default_impl": default_impl(), "impl_message": impl_message,
              "lessons_module": lesson_module("metrics", "lessons").__name__}

    import pytest
    report["exit_code"] = int(pytest.main(
        ["checks", "-q", "--tb=line", "-p", "no:cacheprovider",
         "-p", "bam.check_stream", "--bam-results", "verdicts.jsonl"]))
    print("REPORT", json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "boxes-and-masks"
    make_student_release(REPO_ROOT, out, github_classroom=True)
    return out


def test_release_holds_the_course_without_solutions(release):
    names = {path.name for path in release.iterdir()}
    assert {"bam", "checks", "lessons", "data", "docs", "README.md", "pyproject.toml"} <= names
    assert not {"solutions", "tests", "grading", ".git", ".notes"} & names
    assert (release / "bam" / "hints" / "metrics.toml").exists()
    assert (release / "data" / "water").is_dir() and (release / "data" / "shapes").is_dir()
    assert not list(release.rglob("__pycache__")) and not list(release.rglob("*.egg-info"))
    for path in release.rglob("*.py"):  # no module anywhere names the solutions package
        if path.parts[-2] in {"lessons", "checks"}:
            assert "import solutions" not in path.read_text("utf-8")
            assert "from solutions" not in path.read_text("utf-8")


def test_checks_and_the_bam_modules_they_import_never_import_solutions():
    roots = sorted((REPO_ROOT / "checks").glob("*.py"))
    assert modules_needing_solutions(REPO_ROOT, roots) == []


def test_a_check_needing_solutions_blocks_the_release(tmp_path):
    course = tmp_path / "course"
    (course / "checks").mkdir(parents=True)
    (course / "bam").mkdir()
    (course / "bam" / "__init__.py").write_text("", "utf-8")
    (course / "bam" / "helper.py").write_text("from solutions.metrics import box_iou\n", "utf-8")
    (course / "checks" / "test_x.py").write_text("from bam.helper import box_iou\n", "utf-8")
    assert modules_needing_solutions(course, [course / "checks" / "test_x.py"]) == [
        "checks/test_x.py -> bam/helper.py imports solutions.metrics"
    ]
    with pytest.raises(ReleaseError, match=r"bam/helper\.py imports solutions\.metrics"):
        make_student_release(course, tmp_path / "out")


def test_release_refuses_to_overwrite_or_nest(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine", "utf-8")
    with pytest.raises(ReleaseError, match="not empty"):
        make_student_release(REPO_ROOT, tmp_path / "taken")
    with pytest.raises(ReleaseError, match="inside the course"):
        make_student_release(REPO_ROOT, REPO_ROOT / "dist" / "student")


def test_in_the_release_every_check_is_not_implemented_and_none_errors(release):
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "BAM_STATE_DIR"}}
    done = subprocess.run(
        [sys.executable, "-c", GRADE_THE_RELEASE],
        cwd=release,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    verdicts = [json.loads(line) for line in (release / "verdicts.jsonl").read_text().splitlines()]
    assert verdicts and report["exit_code"] == 1, done.stdout[-3000:]
    others = [
        (v["nodeid"], v["outcome"], v["message"])
        for v in verdicts
        if v["outcome"] != "not implemented"
    ]
    assert not others, others
    graded = {verdict["exercise"] for verdict in verdicts}
    assert graded == {name for names in check_points(REPO_ROOT).values() for name in names}
    # pipelines run the student's code by default, and asking for solutions says why not
    assert report["default_impl"] == "lessons" and report["lessons_module"] == "lessons.metrics"
    assert "this copy of the course has none" in report["impl_message"]
    assert "Use --impl lessons" in report["impl_message"]


def test_github_classroom_workflow_grades_each_lesson_for_its_points(release):
    yaml = pytest.importorskip("yaml")
    files = github_classroom_files(REPO_ROOT)
    for relative, text in files.items():
        assert (release / relative).read_text("utf-8") == text
    points = dict(lesson_points(REPO_ROOT))
    tests = json.loads(files[".github/classroom/autograding.json"])["tests"]
    assert [test["points"] for test in tests] == list(points.values())
    assert all(test["run"].startswith("python -m pytest checks --exercise ") for test in tests)
    workflow = yaml.safe_load(files[".github/workflows/classroom.yml"])
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [step for step in steps if "autograding-command-grader" in step.get("uses", "")]
    assert {step["with"]["test-name"]: step["with"]["max-score"] for step in graders} == points
    reporter = steps[-1]
    assert reporter["with"]["runners"].split(",") == [step["id"] for step in graders]
    for step in graders:
        assert reporter["env"][f"{step['id'].upper()}_RESULTS"] == (
            "${{steps." + step["id"] + ".outputs.result}}"
        )


def test_gradescope_zip_has_the_scripts_at_its_root_and_no_solutions(tmp_path):
    path = gradescope.build_autograder_zip(REPO_ROOT, tmp_path / "autograder.zip")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder"} <= set(names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "course/checks/conftest.py" in names and "course/lessons/metrics.py" in names
    assert not [name for name in names if name.startswith(("course/solutions", "course/tests"))]
    script = (REPO_ROOT / "grading" / "gradescope" / "run_autograder").read_text("utf-8")
    assert '--gradescope "$RESULTS"' in script and "bam.gradescope collect" in script


def test_gradescope_collects_submitted_lessons_wherever_they_are(tmp_path):
    lessons = tmp_path / "course" / "lessons"
    lessons.mkdir(parents=True)
    for name in ("__init__", "metrics", "rpn", "vgg"):
        (lessons / f"{name}.py").write_text("# stub\n", "utf-8")
    submission = tmp_path / "submission"
    (submission / "repo" / "lessons").mkdir(parents=True)
    (submission / "repo" / "lessons" / "metrics.py").write_text("# mine, in lessons/\n", "utf-8")
    (submission / "metrics.py").write_text("# a stray copy\n", "utf-8")
    (submission / "rpn.py").write_text("# uploaded alone\n", "utf-8")
    (submission / "__init__.py").write_text("COURSE_ORDER = ()\n", "utf-8")
    chosen = gradescope.collect_submission(submission, lessons)
    assert sorted(chosen) == ["metrics", "rpn"]
    assert (lessons / "metrics.py").read_text("utf-8") == "# mine, in lessons/\n"
    assert (lessons / "rpn.py").read_text("utf-8") == "# uploaded alone\n"
    assert (lessons / "vgg.py").read_text("utf-8") == "# stub\n"
    assert (lessons / "__init__.py").read_text("utf-8") == "# stub\n"


def test_gradescope_fallback_results_when_grading_died(tmp_path):
    results, log = tmp_path / "results" / "results.json", tmp_path / "log.txt"
    log.write_text("x" * 10_000 + "Fatal Python error: Segmentation fault\n", "utf-8")
    assert gradescope.ensure_results(results, log) is True
    payload = json.loads(results.read_text("utf-8"))
    assert payload["score"] == 0 and payload["tests"] == []
    assert "did not finish" in payload["output"] and len(payload["output"]) <= 4000
    assert gradescope.ensure_results(results, log) is False  # a valid file is left alone
