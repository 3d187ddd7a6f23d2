"""A corpus of hostile submissions: each tries to fool the grader, and none can.

Every attack is a lesson-3 module (``metrics.py``): the reference implementation (so an honest
copy scores full marks), with one exercise cheated (``box_iou`` returns zeros) and an attack
added. It is graded as a student's work is, in a student release of the course (no
``solutions/``), by ``python -m pytest checks/test_metrics.py --gradescope results.json`` in a
child process. Each attack must score 0 on what it attacks and leave every other check's verdict
exactly as the honest module's; each test's docstring says what the attack tried and what
stopped it. What stops them all: the student's code runs only in a worker process
(``checks/worker/``), the checks, verdicts and results.json stay in the grader, and what comes
back is data (``checks/wire.py``).

The last tests run attacks through Gradescope's own ``grading/gradescope/run_autograder`` as root
(with ``AUTOGRADER_ROOT`` in a temporary folder), so the privilege drop is exercised: the
student's code runs as an unprivileged user. They are skipped when the tests do not run as root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.grading import REPO_ROOT

EXERCISES = ("metrics.mask_iou", "metrics.box_iou", "metrics.average_precision")
ATTACKED = "metrics.box_iou"
SOLUTION = (REPO_ROOT / "solutions" / "metrics.py").read_text(encoding="utf-8")
CHEAT = """

def box_iou(boxes1, boxes2):  # the cheat: no IoU computed at all, not even the right shape
    return torch.zeros(len(boxes1) + 1, len(boxes2))  # (an empty-input check would pass zeros)
"""
RESULTS_PATH = """
import sys as _sys

_RESULTS = _sys.argv[_sys.argv.index("--gradescope") + 1] if "--gradescope" in _sys.argv else None
_FORGED = {"score": 999, "output": "full marks", "tests": []}
"""


@dataclass
class Graded:
    """One grading run of a (hostile) metrics.py."""

    exit_code: int
    output: str
    results: dict
    folder: Path
    ended: float  # time.time() when the grading process had ended

    def verdicts(self) -> dict[str, tuple[str, int, str]]:
        return {
            test["name"]: (test["number"], test["score"], test["status"])
            for test in self.results.get("tests", [])
        }

    def messages(self, exercise: str) -> list[str]:
        return [t["output"] for t in self.results.get("tests", []) if t["number"] == exercise]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A student release of the course (no solutions/), and a stand-in for 'not installed'."""
    from bam.release.student import make_student_release

    root = tmp_path_factory.mktemp("hostile")
    make_student_release(REPO_ROOT, root / "release")
    # this machine has the whole course installed (editable): make `solutions` unimportable,
    # as it is where students are graded (Gradescope installs the release only)
    shadow = root / "not-installed" / "solutions"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'solutions\'", name="solutions")\n'
    )
    return root


def grade(
    root: Path,
    name: str,
    attack: str,
    *,
    exercises: tuple[str, ...] = EXERCISES,
    options: tuple[str, ...] = (),
    environment: dict[str, str] | None = None,
) -> Graded:
    folder = root / name
    course = folder / "course"
    shutil.copytree(root / "release", course, ignore=shutil.ignore_patterns("data", "docs"))
    (course / "lessons" / "metrics.py").write_text(SOLUTION + attack, encoding="utf-8")
    results = folder / "results.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "checks/test_metrics.py",
        "-q",
        "--tb=short",
        "-p",
        "no:cacheprovider",
        "--gradescope",
        str(results),
        *(f"--exercise={exercise}" for exercise in exercises),
        *options,
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(course), str(root / "not-installed")]),
        **(environment or {}),
    )
    env.pop("BAM_WORKER_USER", None)
    process = subprocess.run(
        command, cwd=course, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    ended = time.time()
    data = json.loads(results.read_text()) if results.exists() else {}
    return Graded(process.returncode, process.stdout + process.stderr, data, folder, ended)


@pytest.fixture(scope="module")
def honest(release) -> Graded:
    graded = grade(release, "honest", "")
    assert graded.results["score"] == graded.results["extra_data"]["max_score"], graded.output
    return graded


def assert_contained(graded: Graded, honest: Graded, attacked: tuple[str, ...] = (ATTACKED,)):
    """The attacked exercises score 0; every other check's verdict is the honest run's."""
    ours, theirs = graded.verdicts(), honest.verdicts()
    assert set(ours) == set(theirs), graded.output[-3000:]
    for name, (exercise, score, status) in ours.items():
        if exercise in attacked:
            assert score == 0 and status == "failed", (name, graded.output[-3000:])
        else:
            assert (exercise, score, status) == theirs[name], (name, graded.output[-3000:])
    points = sum(t["max_score"] for t in honest.results["tests"] if t["number"] in attacked)
    assert graded.results["score"] == honest.results["score"] - points
    assert "Boxes & Masks scoreboard" in graded.output


# ----------------------------------------------------------------------------- the corpus


def test_patching_the_checks_helpers(release, honest):
    """Tried: replace expect/expect_close/expect_tensor (in checks.harness and in every check
    module) by functions that accept anything. Stopped: the checks run in the grader; the
    student's code patched the worker's copies, which no check uses."""
    attack = """
import sys as _sys

import checks.harness as _harness

_harness.expect = lambda *args, **kwargs: None
_harness.expect_close = lambda *args, **kwargs: None
_harness.expect_tensor = lambda value, *args, **kwargs: value
for _module in list(_sys.modules.values()):
    if getattr(_module, "__name__", "").startswith("checks."):
        for _name in ("expect", "expect_close", "expect_tensor"):
            if hasattr(_module, _name):
                setattr(_module, _name, getattr(_harness, _name))
"""
    assert_contained(grade(release, "helpers", attack + CHEAT), honest)


def test_patching_torch_comparisons(release, honest):
    """Tried: make torch.isclose/allclose/equal say "equal" to anything.
    Stopped: those are the worker's torch; the grader's comparisons are untouched."""
    attack = """
torch.isclose = lambda a, b, *args, **kwargs: torch.ones(torch.broadcast_shapes(
    torch.as_tensor(a).shape, torch.as_tensor(b).shape), dtype=torch.bool)
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
"""
    assert_contained(grade(release, "torch", attack + CHEAT), honest)


def test_a_tensor_subclass_that_equals_anything(release, honest):
    """Tried: return a Tensor subclass whose comparisons are always true. Stopped: only exact
    torch.Tensor crosses to the grader; the check fails with a sentence naming the type."""
    attack = """

class _Anything(torch.Tensor):
    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.isclose, torch.Tensor.__eq__, torch.equal, torch.allclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def box_iou(boxes1, boxes2):
    return torch.zeros(len(boxes1), len(boxes2)).as_subclass(_Anything)
"""
    graded = grade(release, "subclass", attack)
    assert_contained(graded, honest)
    assert any("tensor subclass" in m for m in graded.messages(ATTACKED)), graded.output[-2000:]


def test_an_object_with_its_own_eq(release, honest):
    """Tried: return an object that equals anything and converts to any number. Stopped: the
    answer must be data; the check fails saying what was returned."""
    attack = """

class _Liar:
    shape = property(lambda self: (1, 1))
    __eq__ = lambda self, other: True
    __float__ = lambda self: 1.0


def box_iou(boxes1, boxes2):
    return _Liar()
"""
    graded = grade(release, "liar", attack)
    assert_contained(graded, honest)
    assert any("_Liar" in m and "does not accept" in m for m in graded.messages(ATTACKED))


def test_forging_the_graders_records(release, honest):
    """Tried: find the grader's records of each check (through sys.modules and gc) and mark
    every check passed; replace the results writer. Stopped: those records live in the
    grader's memory, not in the worker's (which got a copy when it was forked)."""
    attack = """
import gc as _gc
import sys as _sys

for _object in _gc.get_objects():
    try:
        if type(_object).__name__ == "Result" and hasattr(_object, "outcome"):
            _object.outcome, _object.message = "passed", ""
    except Exception:
        pass
for _name, _module in list(_sys.modules.items()):
    if hasattr(_module, "Grades") and hasattr(_module, "pytest_sessionfinish"):
        _module.Result.outcome = "passed"
        _module.pytest_sessionfinish = lambda session, exitstatus: None
        _module.pytest_runtest_makereport = lambda item, call: None
import _pytest.reports as _reports

_reports.TestReport.outcome = "passed"
"""
    assert_contained(grade(release, "records", attack + CHEAT), honest)


def test_an_atexit_hook_that_rewrites_the_results(release, honest):
    """Tried: register atexit hooks (and patch os._exit) to write full marks into results.json
    when grading ends. Stopped: the worker is killed, never exits through Python, and
    results.json is written by the grader after the worker has ended."""
    attack = (
        RESULTS_PATH
        + """
import atexit as _atexit
import json as _json
import os as _os


def _forge(*args):
    with open(_RESULTS, "w") as _file:
        _json.dump(_FORGED, _file)


_atexit.register(_forge)
_real_exit = _os._exit
_os._exit = lambda code: (_forge(), _real_exit(code))
"""
    )
    graded = grade(release, "atexit", attack + CHEAT)
    assert_contained(graded, honest)
    time.sleep(1.0)
    assert json.loads((graded.folder / "results.json").read_text()) == graded.results


def test_os_exit_inside_a_check(release, honest):
    """Tried: os._exit(0) while a check runs, to end grading with no failure recorded.
    Stopped: the grader sees its worker end, fails that check with a sentence, starts a new
    worker for the next checks and prints the scoreboard."""
    attack = """

def box_iou(boxes1, boxes2):
    import os

    os._exit(0)
"""
    graded = grade(release, "os-exit", attack)
    assert_contained(graded, honest)
    assert all("ended the grading process: os._exit(0)" in m for m in graded.messages(ATTACKED)), (
        graded.messages(ATTACKED)
    )


def test_a_segfault(release, honest):
    """Tried: crash Python itself (a segmentation fault) inside a check. Stopped: only the
    worker dies; that check fails saying so, the others run in a fresh worker."""
    attack = """

def box_iou(boxes1, boxes2):
    import ctypes

    return ctypes.string_at(0)
"""
    graded = grade(release, "segfault", attack)
    assert_contained(graded, honest)
    assert all("segmentation fault" in m for m in graded.messages(ATTACKED))


def test_a_forked_process_that_outlives_grading(release, honest):
    """Tried: fork a process (in a new session, orphaned on purpose) that keeps writing full
    marks into results.json after grading. Stopped: before writing results.json the grader
    kills its worker's session and every orphan that left it (the grader adopts them as a child
    subreaper); under Gradescope, every process of the worker's user."""
    attack = (
        RESULTS_PATH
        + """
import json as _json
import os as _os
import time as _time

_MARKS = _os.path.join(_os.path.dirname(_RESULTS), "forger.txt")
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        for _ in range(400):
            with open(_MARKS, "a") as _file:
                _file.write(f"{_time.time()}\\n")
            with open(_RESULTS, "w") as _file:
                _json.dump(_FORGED, _file)
            _time.sleep(0.05)
    _os._exit(0)
"""
    )
    graded = grade(release, "forker", attack + CHEAT)
    assert_contained(graded, honest)
    time.sleep(1.5)
    assert json.loads((graded.folder / "results.json").read_text()) == graded.results
    marks = (graded.folder / "forger.txt").read_text().split()
    assert marks and float(marks[-1]) <= graded.ended, "the forger outlived the grading"


def test_importing_or_reading_the_solutions(release, honest):
    """Tried: import the reference solutions, or read them from the course folder. Stopped:
    a student release (what students and Gradescope get) has no solutions/."""
    attack = """
from pathlib import Path as _Path

try:
    from solutions.metrics import box_iou
except ImportError:
    _found = [p for p in _Path(__file__).resolve().parents[1].rglob("solutions/metrics.py")]
    if _found:
        exec(_found[0].read_text())
    else:
        def box_iou(boxes1, boxes2):
            return torch.zeros(len(boxes1) + 1, len(boxes2))
"""
    assert_contained(grade(release, "solutions", attack), honest)


def test_writing_into_the_checks_and_the_course(release, honest):
    """Tried: rewrite checks/test_metrics.py and checks/conftest.py (checks that always pass).
    Stopped: here, the grader had collected and imported the checks before any student code
    ran, so this run is unchanged; under Gradescope the worker's user cannot write them at all
    (see test_run_autograder_as_root)."""
    attack = """
from pathlib import Path as _Path

_checks = _Path(__file__).resolve().parents[1] / "checks"
for _name in ("test_metrics.py", "conftest.py"):
    try:
        (_checks / _name).write_text("def test_everything():\\n    pass\\n")
    except OSError:
        pass
"""
    assert_contained(grade(release, "write-checks", attack + CHEAT), honest)


def test_a_print_flood(release, honest):
    """Tried: print 100 MB in one call, to drown the report or fill the disk. Stopped: the
    worker may not write more than 64 MiB to a file (its output is one), so the flood fails
    that check; a call's output reaches the report cut to a few thousand characters."""
    attack = """

def box_iou(boxes1, boxes2):
    line = "x" * 999
    for _ in range(100_000):
        print(line)
    return torch.zeros(len(boxes1), len(boxes2))
"""
    graded = grade(release, "flood", attack)
    assert_contained(graded, honest)
    assert len(graded.output) < 200_000


def test_a_memory_blow_up(release, honest):
    """Tried: allocate far more memory than the machine has, to get the grader killed.
    Stopped: the worker has its own address-space limit (BAM_WORKER_MEMORY_GB, here 1): the
    allocation fails in the worker, and that check fails saying so."""
    attack = """

def box_iou(boxes1, boxes2):
    hoard = [bytearray(1 << 28) for _ in range(64)]  # 16 GiB
    return torch.zeros(len(boxes1), len(boxes2)) + len(hoard)
"""
    graded = grade(release, "memory", attack, environment={"BAM_WORKER_MEMORY_GB": "1"})
    assert_contained(graded, honest)
    assert any("MemoryError" in m for m in graded.messages(ATTACKED)), graded.messages(ATTACKED)


def test_hanging_forever(release, honest):
    """Tried: never return (and ignore signals). Stopped: the grader waits for each answer with
    a deadline, kills the worker when it passes and fails that check as too slow."""
    attack = """

def box_iou(boxes1, boxes2):
    import signal
    import time

    for number in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
    time.sleep(10**6)
"""
    graded = grade(release, "hang", attack, options=("--check-timeout", "3"))
    assert_contained(graded, honest)
    assert all("timed out after 3 s" in m for m in graded.messages(ATTACKED))


def test_forging_the_workers_answers(release, honest):
    """Tried: write forged answers into the worker's connection to the grader at import time.
    Stopped: answers are decoded strictly (a malformed one ends that worker and fails the
    check); a well-formed one could only ever carry data for the module's own exercises, and
    this module broke all of them by doing it."""
    attack = """
import os as _os

for _fd in range(3, 64):
    try:
        _os.write(_fd, b"W" + (40).to_bytes(8, "little") + b"{" * 40)
    except OSError:
        pass
"""
    graded = grade(release, "protocol", attack)
    assert_contained(graded, honest, attacked=EXERCISES)
    assert "could not read" in json.dumps(graded.results) or "protocol" in json.dumps(
        graded.results
    )


# ----------------------------------------------------------------------------- Gradescope


ROOT_ONLY = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="the privilege drop needs root"
)
GRADESCOPE_ATTACK = (
    RESULTS_PATH
    + """
import json as _json
import os as _os
import signal as _signal
import time as _time
from pathlib import Path as _Path

_REPORT = "/tmp/bam-hostile-report.txt"


def _note(text):
    try:
        with open(_REPORT, "a") as file:
            file.write(text + "\\n")
    except OSError:
        pass


_course = _Path(__file__).resolve().parents[1]
for _target in (
    _course / "checks" / "test_metrics.py",
    _course / "checks" / "conftest.py",
    _course / "lessons" / "dataset.py",
    _Path(_RESULTS),
    _Path(_RESULTS).parent / "extra.json",
):
    try:
        with open(_target, "a") as _file:
            _file.write("# hostile")
        _note(f"WROTE {_target}")
    except OSError as _error:
        _note(f"refused {_target.name}: {type(_error).__name__}")
for _secret in ("source/course/checks/conftest.py", "submission/metrics.py"):
    try:
        _Path(_RESULTS).parents[1].joinpath(_secret).read_text()
        _note(f"READ {_secret}")
    except OSError as _error:
        _note(f"refused {_secret}: {type(_error).__name__}")
try:
    _os.kill(_os.getppid(), _signal.SIGKILL)
    _note("KILLED the grader")
except OSError as _error:
    _note(f"refused kill: {type(_error).__name__}")
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        for _ in range(600):
            try:
                with open(_RESULTS, "w") as _file:
                    _json.dump(_FORGED, _file)
                _note("WROTE forged results")
            except OSError:
                pass
            _time.sleep(0.05)
    _os._exit(0)
"""
)


@ROOT_ONLY
def test_run_autograder_as_root(tmp_path, release, honest):
    """Tried, through Gradescope's own run_autograder (as root): write the checks, the course
    copy and results/; read the autograder's source and the submission; kill the grader; leave
    a process that forges results.json later. Stopped: the student's code runs as an
    unprivileged user who may do none of these; every process of that user is killed before
    results.json is written, and it is written by root."""
    report = Path("/tmp/bam-hostile-report.txt")
    report.unlink(missing_ok=True)
    root = tmp_path / "autograder"
    shutil.copytree(release / "release", root / "source" / "course")
    (root / "submission").mkdir()
    (root / "submission" / "metrics.py").write_text(SOLUTION + GRADESCOPE_ATTACK + CHEAT)
    from tests.grading import run_autograder

    process = run_autograder(root, drop_privileges=True, timeout=900)
    time.sleep(1.5)
    results = json.loads((root / "results" / "results.json").read_text())
    notes = report.read_text().splitlines() if report.exists() else []
    assert not [n for n in notes if n.startswith(("WROTE", "READ", "KILLED"))], notes
    assert any(n.startswith("refused kill") for n in notes), (notes, process.stdout[-3000:])
    metrics = [t for t in results["tests"] if t["number"].startswith("metrics.")]
    points = {t["number"]: 0 for t in metrics}
    for test in metrics:
        points[test["number"]] += test["score"]
    assert points[ATTACKED] == 0
    attacked = {ATTACKED, f"{ATTACKED}.speed"}  # the cheat's speed check fails with it
    honest_points = sum(t["max_score"] for t in metrics if t["number"] not in attacked)
    assert sum(points.values()) == honest_points, process.stdout[-3000:]
    assert results["score"] == honest_points  # the other lessons are stubs: 0
    listed = subprocess.run(
        ["ps", "-u", "bam-student", "-o", "pid=,stat="], capture_output=True, text=True
    ).stdout.split("\n")
    # a killed process stays a zombie until its parent reaps it: where PID 1 of a container
    # reaps nothing, the double-forked forger's corpse lingers; it is dead and can do nothing
    alive = [line for line in listed if line.split()[1:2] and not line.split()[1].startswith("Z")]
    assert alive == [], f"a process of the student's user survived grading: {alive}"


def test_the_grader_never_imports_the_graded_code(tmp_path, monkeypatch):
    """One code path: grading in this very process (as `pytest checks` does) imports the graded
    lesson only in the worker; the grader's interpreter never holds a student module."""
    from tests.grading import run_checks

    package = tmp_path / "never_imported"
    shutil.copytree(REPO_ROOT / "lessons", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "metrics.py").write_text(SOLUTION, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    exit_code, verdicts = run_checks(
        str(REPO_ROOT / "checks" / "test_metrics.py"),
        "--package",
        "never_imported",
        "--exercise",
        "metrics.box_iou",
    )
    assert exit_code == 0 and verdicts and all(v.outcome == "passed" for v in verdicts)
    assert not [name for name in sys.modules if name.startswith("never_imported")]


def test_a_spawned_worker_stops_the_same_attack(release, honest):
    """Where fork is not used (macOS, Windows: a fresh Python process, connecting back with a
    one-time token), os._exit inside a check is contained the same way. Forced here with
    BAM_WORKER_START=spawn."""
    attack = """

def box_iou(boxes1, boxes2):
    import os

    os._exit(0)
"""
    graded = grade(release, "spawn", attack, environment={"BAM_WORKER_START": "spawn"})
    assert_contained(graded, honest)
    assert all("ended the grading process: os._exit(0)" in m for m in graded.messages(ATTACKED))
