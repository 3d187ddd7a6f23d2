"""``bam release student``: a copy without solutions whose checks still grade, and the graders' files.

The release is graded in a child process started from the release folder, with the editable
install's import hook removed, so that ``solutions`` cannot be imported from the instructors'
checkout: exactly what a student who installed the release sees.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from bam.release import classroom, gradescope
from bam.release.stubs import ReleaseError, stub_problems
from bam.release.student import (
    check_points,
    github_classroom_files,
    lesson_points,
    make_student_release,
    modules_needing_solutions,
    release_gitignore,
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
         "-p", "bam.checking.check_stream", "--bam-results", "verdicts.jsonl"]))
    print("REPORT", json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "boxes-and-masks"
    make_student_release(REPO_ROOT, out, github_classroom=True, log=lambda note: None)
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


def _report_in(folder: Path, script: str, *arguments: str, **environment: str) -> dict:
    """Runs ``script`` (which prints ``REPORT {json}``) in ``folder`` with no PYTHONPATH; the
    report, with the run's output under ``"output"``."""
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "BAM_STATE_DIR"}}
    done = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        cwd=folder,
        env=clean | environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    report["output"] = done.stdout + done.stderr
    return report


def test_in_the_release_every_check_is_not_implemented_and_none_errors(release):
    report = _report_in(release, GRADE_THE_RELEASE)
    verdicts = [json.loads(line) for line in (release / "verdicts.jsonl").read_text().splitlines()]
    assert verdicts and report["exit_code"] == 1, report["output"][-3000:]
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


def test_github_classroom_workflow_gives_each_check_its_own_points(release):
    yaml = pytest.importorskip("yaml")
    files = github_classroom_files(REPO_ROOT)
    for relative, text in files.items():
        assert (release / relative).read_text("utf-8") == text
    points = dict(lesson_points(REPO_ROOT))
    by_lesson = check_points(REPO_ROOT)
    exercises = {name: worth for lesson in points for name, worth in by_lesson[lesson].items()}
    # the "autograding tests" page format: one test per exercise, worth its points
    tests = json.loads(files[".github/classroom/autograding.json"])["tests"]
    assert [test["run"].split("--exercise ")[1].split()[0] for test in tests] == list(exercises)
    assert [test["points"] for test in tests] == list(exercises.values())
    workflow = yaml.safe_load(files[".github/workflows/classroom.yml"])
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [step for step in steps if "bam.release.classroom" in step.get("run", "")]
    assert {step["run"].split()[3]: int(step["run"].split()[-1]) for step in graders} == points
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"].split(",") == [step["id"] for step in graders]
    for step in graders:
        assert reporter["env"][f"{step['id'].upper()}_RESULTS"] == (
            "${{steps." + step["id"] + ".outputs.result}}"
        )


def test_classroom_runner_results_give_partial_credit_per_check():
    gradescope_payload = {
        "tests": [
            {"name": "metrics.box_iou: a", "score": 4, "max_score": 4, "status": "passed",
             "output": "passed"},
            {"name": "metrics.box_iou: b", "score": 0, "max_score": 2, "status": "failed",
             "output": "IoU of each pair differs"},
            {"name": "metrics.mask_iou: c", "score": 3, "max_score": 3, "status": "passed",
             "output": "passed"},
        ]
    }  # fmt: skip
    results = classroom.runner_results(gradescope_payload, max_score=9)
    assert results["max_score"] == 9 and results["status"] == "fail"
    assert [test["score"] for test in results["tests"]] == [4, 0, 3]  # 7 of 9, not 0 of 9
    assert results["tests"][1]["message"] == "IoU of each pair differs"
    died = classroom.runner_results({"tests": [], "output": "pytest stopped early"}, 9)
    assert died["status"] == "error" and sum(t["score"] for t in died["tests"]) == 0


def test_classroom_step_grades_a_lesson_and_writes_github_output(tmp_path):
    output = tmp_path / "github_output"
    environment = dict(os.environ, GITHUB_OUTPUT=str(output), PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bam.release.classroom", "vgg", "--max-score", "99"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "vgg: 0/99 points" in done.stdout  # the stubs: every check not implemented
    (line,) = output.read_text("utf-8").splitlines()
    results = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert results["max_score"] == 99 and results["tests"]
    assert all(test["status"] == "fail" and test["score"] == 0 for test in results["tests"])


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
    assert '--gradescope "$RESULTS"' in script and "bam.release.gradescope collect" in script


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


# ----------------------------------------------------------------------------- no answers leak

STUB = '''"""A lesson."""

__all__ = ["box_iou", "Head", "CONFIG"]

CONFIG = NotImplemented


def _helper(x):
    return x + 1


def box_iou(a, b):
    """IoU."""
    # TODO: the intersection over the union
    raise NotImplementedError


class Head:
    def __init__(self):
        self.given = True

    def forward(self, x):
        """Forward."""
        raise NotImplementedError()
'''
FILLED = STUB.replace(
    "    # TODO: the intersection over the union\n    raise NotImplementedError\n",
    "    return a @ b.T\n",
)


def _tiny_course(root: Path, metrics: str) -> Path:
    (root / "lessons").mkdir(parents=True)
    (root / "lessons" / "__init__.py").write_text('COURSE_ORDER = ("metrics",)\n', "utf-8")
    (root / "lessons" / "metrics.py").write_text(metrics, "utf-8")
    (root / "checks").mkdir()
    (root / "checks" / "conftest.py").write_text("", "utf-8")
    return root


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_every_lesson_of_the_course_is_a_pristine_stub():
    for path in sorted((REPO_ROOT / "lessons").glob("*.py")):
        assert stub_problems(path.read_text("utf-8"), f"lessons/{path.name}") == []


def test_stub_problems_name_each_filled_in_exercise():
    assert stub_problems(STUB, "lessons/metrics.py") == []
    assert stub_problems(FILLED, "lessons/metrics.py") == [
        "lessons/metrics.py: `box_iou` is filled in"
    ]
    done_class = STUB.replace(
        '        """Forward."""\n        raise NotImplementedError()\n', "        return x\n"
    )
    assert stub_problems(done_class, "m.py") == ["m.py: class `Head` has no method left to write"]
    config = STUB.replace("CONFIG = NotImplemented", "CONFIG = [64, 'M']")
    assert "m.py: `CONFIG` is filled in" in stub_problems(config, "m.py")[0]


def test_release_takes_the_committed_stubs_not_the_filled_in_working_tree(tmp_path):
    course = _tiny_course(tmp_path / "course", STUB)
    _git(course, "init", "-q")
    _git(course, "add", "-A")
    _git(course, "commit", "-qm", "stubs")
    (course / "lessons" / "metrics.py").write_text(FILLED, "utf-8")  # the instructor's answers
    notes: list[str] = []
    make_student_release(course, tmp_path / "out", log=notes.append)
    assert (tmp_path / "out" / "lessons" / "metrics.py").read_text("utf-8") == STUB
    assert notes == [
        "note: lessons/metrics.py has uncommitted changes; the release takes the committed stub"
        " (HEAD)"
    ]
    _git(course, "commit", "-qam", "oops, the answers")
    with pytest.raises(ReleaseError, match=r"lessons/metrics\.py: `box_iou` is filled in"):
        make_student_release(course, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
    (course / "lessons" / "rpn.py").write_text(STUB, "utf-8")
    with pytest.raises(ReleaseError, match=r"lessons/rpn\.py is not committed"):
        make_student_release(course, tmp_path / "out3")


def test_outside_git_a_filled_in_lesson_stops_the_release(tmp_path):
    course = _tiny_course(tmp_path / "course", FILLED)
    with pytest.raises(
        ReleaseError, match=r"working tree lessons .*\n  lessons/metrics\.py: `box_iou`"
    ):
        make_student_release(course, tmp_path / "out")


# ----------------------------------------------------------------------------- it stands on its own


def test_release_has_its_own_readme_pytest_config_and_docs_assets(release):
    readme = (release / "README.md").read_text("utf-8")
    assert readme == (REPO_ROOT / "release" / "README.md").read_text("utf-8")
    for word in ("solutions", "tests/", "mistakes", "--solutions", "instructor"):
        assert word not in readme, word
    for command in ("bam check --watch", "bam check metrics.box_iou", "bam hint", "venv"):
        assert command in readme, command
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in readme
    pyproject = tomllib.loads((release / "pyproject.toml").read_text("utf-8"))
    assert pyproject["tool"]["pytest"]["ini_options"]["testpaths"] == ["checks"]
    manifest = json.loads((release / "docs" / "figures" / "figures.json").read_text("utf-8"))
    assert manifest["figures"] and all(
        (release / "docs" / "figures" / f"{name}.png").is_file() for name in manifest["figures"]
    )
    assert (release / "docs" / "assets" / "katex" / "katex.min.js").is_file()
    gitignore = (release / ".gitignore").read_text("utf-8")
    assert "docs/figures/" not in gitignore and "docs/assets/katex/" not in gitignore
    assert release_gitignore("a/\ndocs/figures/\nb\n") == "a/\nb\n"


def test_pytest_exercise_works_from_the_release_root(release):
    """``pytest --exercise X`` without naming checks/ (the root conftest.py registers the
    grader's options), and with it, the grader loaded once."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for paths in ([], ["checks"]):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *paths, "--exercise", "metrics.box_iou", "-q"],
            cwd=release,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 1 and "unrecognized arguments" not in output, output[-3000:]
        assert output.count("Boxes & Masks scoreboard") == 1, output[-3000:]
        assert "not implemented" in output and "metrics.box_iou" in output, output[-3000:]


def _readme_commands(readme: str) -> list[str]:
    """The commands of the README's ```bash blocks, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


# This machine cannot reach download.pytorch.org, and a fresh venv would download torch again:
# the venv shares the system's packages (`--system-site-packages`: torch is installed there)
# and pip uses this machine's configured package index instead of the CPU-torch one. Every
# other word of each README command runs as written. Commands that wait for the student
# (`mkdocs serve`, watch mode) run in their one-shot form. MkDocs runs as `python -m mkdocs`:
# a venv that shares the system's packages keeps the system's mkdocs, whose script starts the
# system's Python, which does not see the course installed in the venv (a student's own venv
# installs mkdocs itself, whose script starts the venv's Python).
MKDOCS = re.compile(r"(?<![\w.-])mkdocs (?:serve|build)\b(?: --strict)?")
OFFLINE = {
    "python3 -m venv .venv": "python3 -m venv --system-site-packages .venv",
    "pip install --extra-index-url https://download.pytorch.org/whl/cpu": "pip install -q",
    "bam check --watch": "bam check --watch --once",
}


@pytest.mark.slow  # a venv, an install and each README command: 3-5 min on 2 busy cores
def test_the_release_installs_in_a_fresh_venv_and_its_readme_commands_work(release):
    commands = _readme_commands((release / "README.md").read_text("utf-8"))
    assert commands[0].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "BAM_STATE_DIR", "VIRTUAL_ENV"}
    }
    environment |= {"OMP_NUM_THREADS": "1", "NO_COLOR": "1", "NO_MKDOCS_2_WARNING": "1"}
    outputs = {}
    for command in commands:
        earlier = [done for written, done in outputs.items() if written.endswith(f"&& {command}")]
        if earlier:  # `bam check` ends the set-up command too: it ran already
            outputs[command] = earlier[0]
            continue
        ran = command
        for written, offline in OFFLINE.items():
            ran = ran.replace(written, offline)
        ran = MKDOCS.sub("python -m mkdocs build --strict", ran)
        if not ran.startswith("python3 -m venv"):
            ran = f". .venv/bin/activate && {ran}"
        *steps, last = ran.split(" && ")
        script = f"{' && '.join(steps)} || exit 97\n{last}" if steps else last  # 97: set-up broke
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=release,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        outputs[command] = done
        # `bam check` and `pytest` exit 1 on a fresh copy: nothing is done yet
        allowed = {0, 1} if re.search(r"bam check|pytest", command) else {0}
        assert done.returncode in allowed, f"{ran}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if command == commands[0]:
            _the_venv_runs_the_release(release, environment)
    _check_readme_outputs(release, commands, outputs)


def _the_venv_runs_the_release(release: Path, environment: dict[str, str]) -> None:
    probe = subprocess.run(
        [
            "bash",
            "-c",
            ". .venv/bin/activate && python -c 'import bam, importlib.util as u;"
            ' print(bam.__file__, u.find_spec("solutions"))\'',
        ],
        cwd=release,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.split() == [str(release / "bam" / "__init__.py"), "None"], probe


def _check_readme_outputs(release: Path, commands: list[str], outputs: dict) -> None:
    setup = outputs[commands[0]].stdout
    assert "Course ▕" in setup and "not implemented" in setup
    check_one = outputs["bam check metrics.box_iou"].stdout
    assert "metrics.box_iou" in check_one and "Next: metrics.box_iou" in check_one
    assert "not implemented yet" in outputs["pytest"].stdout
    assert "Hint 1/" in outputs["bam hint metrics.box_iou"].stdout
    assert "not implemented yet" in outputs["bam bench"].stdout
    assert (release / "figures" / "anchors-one-location.png").is_file()
    assert (release / "site" / "index.html").is_file()
    assert "not available" not in "".join(done.stdout + done.stderr for done in outputs.values())


def test_bam_release_help_lists_its_commands(capsys):
    from bam.cli import main

    assert main(["release", "--help"]) == 0
    out = capsys.readouterr().out
    assert "release student" in out and "unknown command" not in out
    assert main(["release"]) == 2
    assert "did you mean 'bam release student'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- it trains

# runs a `bam` command in a release folder as a student's install would (no editable-install
# finder: nothing of the instructors' checkout is importable), then names the modules it used
RUN_BAM_IN_THE_RELEASE = textwrap.dedent(
    """
    import importlib.util, json, sys
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    assert importlib.util.find_spec("solutions") is None, "solutions is importable"
    from bam.cli import main
    code = main(sys.argv[1:])
    course = {"bam", "given", "lessons", "solutions", "checks"}
    used = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
            if name.split(".")[0] in course}
    print("REPORT", json.dumps({"exit_code": code, "modules": used}))
    """
)


def _run_bam_in(folder: Path, *arguments: str) -> dict:
    return _report_in(
        folder, RUN_BAM_IN_THE_RELEASE, *arguments, OMP_NUM_THREADS="1", MPLBACKEND="Agg"
    )


def test_a_release_with_its_lessons_finished_trains_the_detector(release, tmp_path):
    """A student who finished every lesson trains the detector in their copy: one short epoch on
    a few images, with the copy's own lessons (the solutions pasted in), given/ and bam/."""
    from bam import course
    from bam.train.loop import CHECKPOINT
    from tests.test_train_detector import TINY

    copy = tmp_path / "student"
    shutil.copytree(release, copy, ignore=shutil.ignore_patterns("verdicts.jsonl", "docs"))
    for lesson in course.lessons(copy):
        # the finished code, as is: lessons import each other relatively (`from .metrics`),
        # so the reference works unchanged in a student's lessons/
        finished = (REPO_ROOT / "solutions" / f"{lesson}.py").read_text("utf-8")
        assert "import solutions" not in finished and "from solutions" not in finished
        (copy / "lessons" / f"{lesson}.py").write_text(finished, "utf-8")
    assert all(not left for left in course.stubs(copy).values())
    options = [word if word != "solutions" else "lessons" for word in TINY]
    assert options[options.index("--impl") + 1] == "lessons"
    run_dir = tmp_path / "run"
    report = _run_bam_in(
        copy, "train", "detector", *options, "--epochs", "1", "--out", str(run_dir)
    )
    assert report["exit_code"] == 0, report["output"][-3000:]
    modules = report["modules"]
    assert modules["lessons.detector"] == str(copy / "lessons" / "detector.py")
    assert modules["given.detection"] == str(copy / "given" / "detection.py")
    outside = {
        name: path for name, path in modules.items() if path and copy not in Path(path).parents
    }
    assert not outside, f"modules from outside the release: {outside}"
    assert not [name for name in modules if name.split(".")[0] == "solutions"]
    assert (run_dir / CHECKPOINT).is_file()
    assert json.loads((run_dir / "config.json").read_text("utf-8"))["impl"] == "lessons"


def test_bam_figures_works_in_a_release_without_solutions(release, tmp_path):
    """The release has no solutions/ to draw with: bam figures hands out the prebuilt ones."""
    assert not (release / "solutions").exists()
    report = _run_bam_in(release, "figures", str(tmp_path / "figures"))
    assert report["exit_code"] == 0, report["output"][-3000:]
    manifest = json.loads((release / "docs" / "figures" / "figures.json").read_text("utf-8"))
    drawn = sorted(path.stem for path in (tmp_path / "figures").glob("*.png"))
    assert drawn == sorted(manifest["figures"]) and "anchors-one-location" in drawn
    assert not [name for name in report["modules"] if name.split(".")[0] == "solutions"]
