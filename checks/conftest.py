"""The autograder, as a pytest plugin: options, Hypothesis profile, verdicts and the scoreboard.

The graded code never runs in this process: ``checks.harness.student`` runs it in a worker
process (``checks/worker/``), so nothing a submission does can reach the verdicts recorded
here, the scoreboard or results.json.

``pytest checks``                       grade ``lessons/`` (your work)
``pytest checks --solutions``           grade ``solutions/`` (instructors: the reference passes)
``pytest checks --exercise rpn.nms``    grade one exercise (or one lesson: ``--exercise rpn``)
``pytest checks --gradescope results.json``   also write Gradescope's results format
"""

from __future__ import annotations

import ast
import json
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

from bam import course
from checks import from_scratch, harness, scoring

# read from lessons/__init__.py with ``ast`` (``bam.course``): the grader runs no line of the
# lessons package, not even its ``__init__``
COURSE_ORDER = course.lessons(Path(__file__).resolve().parent.parent)

settings.register_profile(
    "grading",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    report_multiple_bugs=False,
    max_examples=40,
    verbosity=Verbosity.normal,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow 'explain'
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# the course's own tests run each known mistake through the checks: finding a failure is what
# counts there, so they skip shrinking (graders and students always get the shrunk example)
settings.register_profile(
    "mistakes", settings.get_profile("grading"), phases=[Phase.explicit, Phase.generate]
)

CAPTURED_OUTPUT_LIMIT = 2000  # characters of a check's captured print output shown on failure

TIMEOUT_ADVICE = (
    "timed out after {seconds:g} s: {exercise} ran far longer than it should."
    " Look for an infinite loop, or a Python loop over pixels, anchors or boxes:"
    " use tensor operations over whole tensors instead."
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("boxes-and-masks grading")
    group.addoption("--solutions", action="store_true", help="grade solutions/ instead of lessons/")
    group.addoption(
        "--package",
        default=None,
        help="grade this importable package instead (e.g. a student copy)",
    )
    group.addoption(
        "--exercise",
        action="append",
        default=[],
        help="grade only this exercise (lesson.name) or lesson; repeatable",
    )
    group.addoption(
        "--gradescope", metavar="PATH", default=None, help="write Gradescope results.json"
    )
    group.addoption(
        "--check-timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help="time limit of every check, overriding each check's own @exercise(timeout=...)",
    )
    group.addoption(
        "--mutant",
        metavar="FILE",
        default=None,
        help="(course tests) graft a known-wrong implementation from FILE onto the graded package",
    )


# ----------------------------------------------------------------------------- session set-up


def _mutant_exercise(path: str) -> str:
    """The exercise a known-mistake file targets (read with ``ast``: the file runs in the worker)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError) as error:
        raise pytest.UsageError(f"--mutant {path}: not a Python file ({error})") from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "EXERCISE" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            harness.split_name(node.value.value)
            return node.value.value
    raise pytest.UsageError(f"--mutant {path}: define EXERCISE = 'lesson.name'")


def pytest_configure(config: pytest.Config) -> None:
    import torch

    # checks use small tensors: one thread is faster than two that fight other processes
    torch.set_num_threads(1)
    config.addinivalue_line("markers", scoring.MARKER_HELP)
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile("grading")
    package = config.getoption("package") or (
        "solutions" if config.getoption("solutions") else "lessons"
    )
    mutant = config.getoption("mutant")
    if mutant:
        mutant = str(Path(mutant).resolve())
        config.option.exercise = [*config.getoption("exercise"), _mutant_exercise(mutant)]
    harness.configure(package, mutant)
    config.stash[GRADES] = Grades(package=package)


def pytest_unconfigure(config: pytest.Config) -> None:
    harness.SESSION.close()


def _exercise_of(item: pytest.Item) -> tuple[str, int] | None:
    marker = item.get_closest_marker("exercise")
    if marker is None:
        return None
    return marker.kwargs["name"], int(marker.kwargs.get("points", 1))


def _lesson_rank(name: str) -> int:
    lesson = name.split(".", 1)[0]
    return COURSE_ORDER.index(lesson) if lesson in COURSE_ORDER else len(COURSE_ORDER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("exercise")
    selected, deselected = [], []
    for item in items:
        found = _exercise_of(item)
        if found is None:
            raise pytest.UsageError(f"{item.nodeid} is a check without @exercise(...)")
        name = found[0]
        if wanted and not any(name == want or name.split(".", 1)[0] == want for want in wanted):
            deselected.append(item)
        else:
            selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    # lesson order, then file order within a lesson (sorted is stable)
    selected.sort(key=lambda item: _lesson_rank(_exercise_of(item)[0]))
    items[:] = selected


# ----------------------------------------------------------------------------- time limits


def grader_time_limit(seconds: float) -> float:
    """The whole check's limit in this process: a safety net for the checks' own code.

    The exercise's own limit (``@exercise(timeout=...)``) counts only the time spent in student
    code, in the worker, until the check has found a failure (so that Hypothesis' shrinking of a
    counterexample never eats it: a logic error is reported as the property it breaks).
    """
    return 3 * seconds + 60


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """Time limits: per call and per check in the worker, a generous safety net here."""
    seconds = item.config.getoption("check_timeout") or settings.timeout
    worker = harness.SESSION.worker
    found = _exercise_of(item)
    worker.exercise = found[0] if found else item.name
    worker.failure_seen = False
    worker.limit = worker.budget = seconds if seconds > 0 else None
    if seconds <= 0 or settings.method != "signal" or not hasattr(signal, "SIGALRM"):
        return None
    safety = grader_time_limit(seconds)

    def on_alarm(signum: int, frame: Any) -> None:
        raise harness.CheckTimedOut(safety)

    signal.signal(signal.SIGALRM, on_alarm)
    # fires again every second in case something in between swallowed the first alarm
    signal.setitimer(signal.ITIMER_REAL, safety, 1.0)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Stops the clock as soon as the check's body ends, so it never fires while pytest reports."""
    try:
        return (yield)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        worker = harness.SESSION.worker
        worker.limit = worker.budget = None


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    if not hasattr(signal, "SIGALRM"):
        return None
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return True


# ----------------------------------------------------------------------------- verdicts


@dataclass
class Result:
    """One check's verdict."""

    nodeid: str
    exercise: str
    points: int
    description: str
    outcome: str = "failed"  # passed | failed | not implemented
    message: str = ""
    seconds: float = 0.0
    holds_for_constants: bool = False  # scores only with a check that does the job (scoring.py)


@dataclass
class Grades:
    """Everything the scoreboard and Gradescope need."""

    package: str
    results: dict[str, Result] = field(default_factory=dict)
    forbidden: dict[str, str] = field(default_factory=dict)  # exercise -> from-scratch verdict
    started: float = field(default_factory=time.monotonic)


GRADES = pytest.StashKey[Grades]()


def _description(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    return " ".join(doc.strip().split("\n\n")[0].split())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    report.sections = [(title, _capped(text)) for title, text in report.sections]
    found = _exercise_of(item)
    if found is None or (report.when != "call" and not report.failed):
        return report
    name, points = found
    grades = item.config.stash[GRADES]
    result = grades.results.setdefault(
        item.nodeid,
        Result(
            item.nodeid,
            name,
            points,
            _description(item),
            holds_for_constants=scoring.is_marked(item),
        ),
    )
    result.seconds += report.duration
    if report.when == "call" and _from_scratch(grades, name, result):
        report.outcome, report.longrepr = "failed", result.message
        return report
    if report.passed and report.when == "call":
        result.outcome = "passed"
        return report
    if not report.failed:
        return report
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(harness.ExerciseNotImplemented):
        result.outcome = "not implemented"
        result.message = str(excinfo.value)
        report.longrepr = result.message
        report.bam_not_implemented = True
    elif excinfo is not None and excinfo.errisinstance(harness.CheckTimedOut):
        result.message = TIMEOUT_ADVICE.format(seconds=excinfo.value.args[0], exercise=name)
        report.longrepr = f"{name}: {result.message}"
    elif excinfo is not None and excinfo.errisinstance(harness.GradingProcessEnded):
        result.message = str(excinfo.value)
        report.longrepr = result.message
    else:
        result.message = _short_message(report)
    result.outcome = (
        "not implemented" if getattr(report, "bam_not_implemented", False) else "failed"
    )
    return report


def _from_scratch(grades: Grades, name: str, result: Result) -> bool:
    """The from-scratch rule (``checks/from_scratch.py``): a library call fails the exercise."""
    worker = harness.SESSION._worker
    if worker is not None and worker.library_calls:
        records, worker.library_calls = worker.library_calls, []
        found = from_scratch.violations(records, name, harness.SESSION.package)
        for exercise, message in found.items():
            grades.forbidden.setdefault(exercise, message)
    exercise = scoring.exercise_of(name)  # a speed check goes with its exercise
    if exercise not in grades.forbidden:
        return False
    result.outcome, result.message = "failed", grades.forbidden[exercise]
    return True


def _capped(text: str, limit: int = CAPTURED_OUTPUT_LIMIT) -> str:
    """Captured output cut to its first ``limit`` characters, so a print flood cannot drown the report."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [{len(text) - limit} more characters of output cut]\n"


def _short_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    # a CheckFailed message is a sentence already: drop the "checks.harness.CheckFailed: " prefix
    text = text.removeprefix(f"{harness.CheckFailed.__module__}.CheckFailed: ")
    sections = [text]
    # Hypothesis adds the falsifying example as an exception note, shown after the message
    long_text = str(report.longrepr)
    marker = "Falsifying example"
    if marker in long_text and marker not in text:
        start = long_text.index(marker)
        sections.append(long_text[start:].split("\n\n")[0])
    return "\n".join(sections)[:4000]


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if getattr(report, "bam_not_implemented", False):
        return "not implemented", "N", ("NOT IMPLEMENTED", {"yellow": True})
    return None


# ----------------------------------------------------------------------------- the scoreboard


def final_results(grades: Grades) -> list[Result]:
    """Every check's verdict with the scoring rules applied (``checks/scoring.py``): what the
    scoreboard, Gradescope's results.json and ``bam check`` (``bam.checking.check_stream``) count."""
    scoring.final(grades.results.values(), grades.forbidden)
    return list(grades.results.values())


def _by_exercise(grades: Grades) -> dict[str, list[Result]]:
    exercises: dict[str, list[Result]] = defaultdict(list)
    for result in final_results(grades):
        exercises[result.exercise].append(result)
    return dict(sorted(exercises.items(), key=lambda entry: _lesson_rank(entry[0])))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    grades = config.stash.get(GRADES, None)
    if grades is None or not grades.results:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"Boxes & Masks scoreboard ({grades.package}/)", sep="=", bold=True)
    exercises = _by_exercise(grades)
    for results in exercises.values():
        missing = [result for result in results if result.outcome == "not implemented"]
        if missing:
            write(missing[0].message, yellow=True)
    lessons: dict[str, list[list[Result]]] = defaultdict(list)
    for name, results in exercises.items():
        lessons[name.split(".", 1)[0]].append(results)
    total_done = total_exercises = total_points = total_max = 0
    write("")
    for lesson, groups in lessons.items():
        number = COURSE_ORDER.index(lesson) + 1 if lesson in COURSE_ORDER else "?"
        graded = [group for group in groups if not group[0].exercise.endswith(".speed")]
        done = sum(all(result.outcome == "passed" for result in group) for group in graded)
        points = sum(
            result.points for group in groups for result in group if result.outcome == "passed"
        )
        maximum = sum(result.points for group in groups for result in group)
        for group in groups:
            ok = all(result.outcome == "passed" for result in group)
            got = sum(result.points for result in group if result.outcome == "passed")
            status = (
                "done"
                if ok
                else group[0].outcome
                if len({r.outcome for r in group}) == 1
                else "failed"
            )
            mark = "✓" if ok else "✗"
            name = group[0].exercise
            if name.endswith(".speed"):  # graded apart from correctness: not an exercise
                mark, name = "⏱", f"{name.removesuffix('.speed')} (speed)"
                status = "done" if ok else "too slow" if status == "failed" else status
            line = f"  {mark} {name:<36} {got:>3}/{sum(r.points for r in group):<3} {status}"
            write(line, green=ok, red=not ok and status == "failed")
        summary = f"Lesson {number} {lesson:<10} {done}/{len(graded)} exercises  {points}/{maximum} points"
        write(summary, bold=True)
        total_done += done
        total_exercises += len(graded)
        total_points += points
        total_max += maximum
    write(
        f"TOTAL  {total_done}/{total_exercises} exercises  {total_points}/{total_max} points",
        bold=True,
    )
    write(from_scratch.RULE)
    if scoring.zeroed_by_the_rule(grades.results.values()):
        write(scoring.RULE)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # the worker and everything it started end before any result is written
    harness.SESSION.close()
    config = session.config
    path = config.getoption("gradescope", None)
    grades = config.stash.get(GRADES, None)
    if not path or grades is None:
        return
    tests = []
    for name, results in _by_exercise(grades).items():
        for result in results:
            tests.append(
                {
                    "name": f"{name}: {result.description}",
                    "number": name,
                    "score": result.points if result.outcome == "passed" else 0,
                    "max_score": result.points,
                    "status": "passed" if result.outcome == "passed" else "failed",
                    "output": result.message or "passed",
                    "execution_time": round(result.seconds, 3),
                }
            )
    output = f"Graded {grades.package}/ with Boxes & Masks checks."
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        output += (
            f" Grading stopped early (pytest exit status {int(exitstatus)}): tell your instructor."
        )
    # Gradescope's results format (gradescope-autograders.readthedocs.io/en/latest/specs/)
    payload = {
        "score": sum(test["score"] for test in tests),
        "execution_time": round(time.monotonic() - grades.started, 3),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "package": grades.package,
            "max_score": sum(test["max_score"] for test in tests),
        },
        "tests": tests,
    }
    Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def pytest_report_header(config: pytest.Config) -> str:
    package = config.stash[GRADES].package if GRADES in config.stash else "lessons"
    return f"grading: {package}/  (python {sys.version.split()[0]})"
