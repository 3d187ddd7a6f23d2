"""Mutation testing of the checks: mutmut mutates ``solutions/<lesson>.py``, the checks must fail.

    python tools/mutate.py vgg dataset        # one or more lessons (default: all ten)
    python tools/mutate.py vgg --jobs 2       # mutants run two at a time
    python tools/mutate.py vgg --markdown out.md
    python tools/mutate.py vgg --resume       # finish a stopped run in the same scratch copy

Each lesson runs in a scratch copy of the course (``--workdir``, default
``/tmp/bam-mutate/<lesson>``): ``solutions/``, ``checks/``, ``lessons/`` and ``bam/`` are
copied, ``data/`` is linked, and a ``pyproject.toml`` there configures mutmut to mutate
``solutions/<lesson>.py`` only, with ``pytest checks/test_<lesson>.py --solutions`` as the test
suite (no Hypothesis shrinking and ``-x``: finding one failure is what counts). The repository
itself is never touched.

A *survivor* is a mutant that passes every check of its lesson: either an equivalent mutant (it
computes the same thing on every valid input, e.g. an error message's text, ``ReLU(inplace=)``)
or a missing check. Equivalent mutants are listed, with the reason, in
``tests/mutation_equivalents.toml`` (matched by lesson and the changed lines, not by mutmut's
numbering, which moves when the code does); every other survivor is printed with its diff.

The score per lesson is ``killed / (mutants - equivalent)``; ``timeout`` counts as killed by
mutmut but is reported apart. The run is too long for CI (minutes per lesson); it is
reproducible: same sources, same checks, same mutants.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LESSONS = (
    "dataset",
    "augment",
    "metrics",
    "sam",
    "vgg",
    "rpn",
    "roi",
    "head",
    "detector",
    "yolo",
    "instances",
)
EQUIVALENTS = REPO / "tests" / "mutation_equivalents.toml"
COPIED = ("solutions", "checks", "lessons", "bam")

# Left out of the mutation suite: a mutant must be killed by a property, not by a training run
# that fails to converge within a time limit (it stays in the course's checks).
# Given code inside a lesson file (the stub ships it unchanged; students do not write it): not
# mutated. Each entry: (first line of the region, first line after it).
GIVEN_CODE = {
    "detector": (("    def __init__(", "    def forward("),),
    "yolo": (("def check_yolo_options(", "class YOLO("), ("    def __init__(", "    def forward(")),
}

SLOW_CHECKS = {
    "detector": ("checks/test_detector.py::test_overfits_three_bundled_images",),
    "yolo": ("checks/test_yolo.py::test_yolo_learns_a_toy_batch",),
}

CONFIG = """\
[tool.mutmut]
source_paths = ["solutions/"]
only_mutate = ["solutions/{lesson}.py"]
also_copy = ["checks/", "bam/", "lessons/", "data"]
pytest_add_cli_args = ["--solutions", "-p", "no:cacheprovider", "-q", "-x",
                       "--hypothesis-profile=mistakes", {deselect}]
pytest_add_cli_args_test_selection = ["checks/test_{lesson}.py"]
"""


@dataclass
class Mutant:
    name: str
    status: str
    diff: list[str] = field(default_factory=list)  # the changed lines, "-old" then "+new"
    context: str = ""  # the whole diff, with the lines around the change
    reason: str | None = None  # why it is equivalent, when it is


@dataclass
class LessonResult:
    lesson: str
    mutants: list[Mutant]
    seconds: float

    def count(self, *statuses: str) -> int:
        return sum(mutant.status in statuses for mutant in self.mutants)

    @property
    def equivalent(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status != "killed" and m.reason]

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status == "survived" and not m.reason]

    @property
    def score(self) -> float:
        relevant = len(self.mutants) - len(self.equivalent)
        killed = self.count("killed", "timeout")
        return killed / relevant if relevant else 1.0


def scratch_copy(lesson: str, workdir: Path) -> Path:
    root = workdir / lesson
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    (root / "data").symlink_to(REPO / "data")
    source = root / "solutions" / f"{lesson}.py"
    text = source.read_text(encoding="utf-8")
    for start, end in GIVEN_CODE.get(lesson, ()):
        head, found, rest = text.partition(start)
        middle, found_end, tail = rest.partition(end)
        if found and found_end:
            text = (
                f"{head}    # pragma: no mutate start\n{start}{middle}"
                f"    # pragma: no mutate end\n{end}{tail}"
            )
    source.write_text(text, encoding="utf-8")
    deselect = ", ".join(f'"--deselect", "{check}"' for check in SLOW_CHECKS.get(lesson, ()))
    config = CONFIG.format(lesson=lesson, deselect=deselect).replace(", ]", "]")
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    return root


# ``python -m mutmut`` with one fix: mutmut 3.8's fork runner collects a result with
# ``os.wait()``, which returns *any* child, and fails with a KeyError on one that is not its
# worker. The checks' grading worker (``checks/worker/``) makes the process that starts it a
# child subreaper, and mutmut runs the checks in its own process to collect its stats: from then
# on, the grading process a killed mutant leaves behind is re-parented to mutmut, and the first
# such orphan stops the run with the slowest mutants (the last ones) "not checked". Here an
# orphan is reaped and skipped.
MUTMUT = """
import os, runpy, sys
from mutmut.workers import isolation

def wait_for_result(self, timeout=None):
    if self._no_tests_results:
        return self._no_tests_results.pop(0)
    while True:
        pid, wait_status = os.wait()
        if pid in self._running:  # else: an adopted orphan, now reaped
            break
    worker = self._running.pop(pid)
    duration = (isolation.datetime.now() - worker.start_time).total_seconds()
    return isolation.MutantResult(
        mutant_name=worker.mutant_name,
        exit_code=os.waitstatus_to_exitcode(wait_status),
        duration=duration,
    )

isolation.ForkRunner.wait_for_result = wait_for_result
sys.argv = ["mutmut", *sys.argv[1:]]
runpy.run_module("mutmut", run_name="__main__", alter_sys=True)
"""


def mutmut(root: Path, *args: str, quiet: bool = True, with_stderr: bool = False) -> str:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    completed = subprocess.run(
        [sys.executable, "-c", MUTMUT, *args],
        cwd=root,
        env=environment,
        capture_output=quiet,
        text=True,
        check=False,
    )
    if with_stderr:
        return (completed.stdout or "") + (completed.stderr or "")
    return completed.stdout or ""


def changed_lines(diff: str) -> list[str]:
    return [
        line.rstrip()
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def load_equivalents() -> list[dict]:
    if not EQUIVALENTS.exists():
        return []
    return tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8")).get("equivalent", [])


def normalise(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


STRING = re.compile(r"""[rbfu]*("([^"\\]|\\.)*"|'([^'\\]|\\.)*')""", re.IGNORECASE)


def without_strings(line: str) -> str:
    return STRING.sub('""', line[1:]).replace("None", '""').strip()


def generic_reason(mutant: Mutant) -> str | None:
    """Mutants that are equivalent by construction, whatever the lesson."""
    removed = [normalise(line[1:]) for line in mutant.diff if line.startswith("-")]
    added = [normalise(line[1:]) for line in mutant.diff if line.startswith("+")]
    old, new = " ".join(removed), " ".join(added)
    lines = mutant.context.splitlines()
    first = next(
        (
            i
            for i, line in enumerate(lines)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ),
        len(lines),
    )
    before_change = [
        line for line in lines[:first] if not line.startswith(("---", "+++", "@@", "#"))
    ][-8:]
    in_raise = "raise " in old or any("raise " in line for line in before_change)
    if in_raise and re.sub(STRING, '""', old).replace("None", '""') == re.sub(
        STRING, '""', new
    ).replace("None", '""'):
        return "only the text of an error message changes (the exception type is the contract)"
    if in_raise and re.fullmatch(r"raise \w+\(None\)", new):
        return "only the text of an error message changes (the exception type is the contract)"
    if in_raise and new in {"None", ""} and all(STRING.fullmatch(part) for part in removed):
        return "only the text of an error message changes (the exception type is the contract)"

    def closing(text: str) -> str:
        return re.sub(r"\s*,?\s*\)", ")", text)

    strict = re.compile(r",?\s*strict=(True|False|None)\s*,?")
    if "zip(" in old + " ".join(before_change) and closing(strict.sub("", old)) == closing(
        strict.sub("", new)
    ):
        return "zip's strict= only matters for unequal lengths, which the inputs never have"
    device = re.compile(
        r"(,\s*)?device=[\w.\[\]]+|(?<=\.to\()([\w.]+\.device|None),\s*|\.to\(None\)"
    )

    def tidy(text: str) -> str:
        return closing(device.sub("", text))

    if tidy(old) == tidy(new) and old != new:
        return "device only: the checks run on a CPU, where every tensor is on one device"
    return None


def reason_for(lesson: str, mutant: Mutant, equivalents: list[dict]) -> str | None:
    lines = [normalise(line) for line in mutant.diff]
    generic = generic_reason(mutant)
    if generic:
        return generic
    for entry in equivalents:
        if entry["lesson"] != lesson:
            continue
        if "name_contains" in entry:
            if entry["name_contains"] in mutant.name:
                return entry["reason"]
            continue
        wanted = [normalise(line) for line in entry["diff"]]
        if lines == wanted:
            return entry["reason"]
    return None


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # mutmut's progress line, redrawn many times a second


def unchecked(root: Path) -> int:
    """How many mutants of the last run have no result yet ("not checked")."""
    return sum(
        line.rstrip().endswith(": not checked")
        for line in mutmut(root, "results", "--all", "true").splitlines()
    )


def run_until_checked(root: Path, jobs: int, attempts: int = 6) -> None:
    """``mutmut run`` again until every mutant has a result, or a run makes no progress.

    mutmut 3.8's fork runner waits with ``os.wait()`` for *any* child and crashes with a
    ``KeyError`` when the child is not one of its workers: the checks' grading worker
    (``checks/worker/``), started while mutmut collects its stats in its own process, is such a
    child, and when it exits the run stops, leaving the slowest mutants (the last ones) "not
    checked". A new ``mutmut run`` resumes with exactly those. Each run's output is kept in
    ``mutmut-run-<n>.log`` in the scratch folder.
    """
    left = None
    for attempt in range(1, attempts + 1):
        log = mutmut(root, "run", "--max-children", str(jobs), with_stderr=True)
        lines = [line for line in log.replace("\r", "\n").splitlines() if line.strip()]
        kept = [
            line for i, line in enumerate(lines) if i + 1 == len(lines) or line[:1] not in SPINNER
        ]
        (root / f"mutmut-run-{attempt}.log").write_text("\n".join(kept) + "\n", encoding="utf-8")
        now = unchecked(root)
        if now == 0 or now == left:
            return
        left = now
        print(f"{root.name}: {now} mutants not checked after run {attempt}; resuming", flush=True)


def run_lesson(
    lesson: str, workdir: Path, jobs: int, rerun: bool = True, resume: bool = False
) -> LessonResult:
    root = workdir / lesson
    start = time.monotonic()
    if resume and (root / "mutants").exists():
        run_until_checked(root, jobs)
    elif rerun or not (root / "mutants").exists():
        root = scratch_copy(lesson, workdir)
        run_until_checked(root, jobs)
    seconds = time.monotonic() - start
    equivalents = load_equivalents()
    mutants = []
    for line in mutmut(root, "results", "--all", "true").splitlines():
        match = re.match(r"\s*(\S+): (\S.*?)\s*$", line)
        if not match:
            continue
        mutant = Mutant(match.group(1), match.group(2))
        if mutant.status != "killed":
            mutant.context = mutmut(root, "show", mutant.name)
            mutant.diff = changed_lines(mutant.context)
            mutant.reason = reason_for(lesson, mutant, equivalents)
        mutants.append(mutant)
    return LessonResult(lesson, mutants, seconds)


def markdown(results: list[LessonResult]) -> str:
    lines = [
        "| lesson | mutants | killed | timeout | equivalent | survived | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {result.lesson} | {len(result.mutants)} | {result.count('killed')}"
            f" | {result.count('timeout')} | {len(result.equivalent)} | {len(result.survivors)}"
            f" | {100 * result.score:.1f}% |"
        )
    for result in results:
        lines += ["", f"### {result.lesson} ({result.seconds:.0f} s)", ""]
        if result.count("not checked"):
            lines += [
                f"**{result.count('not checked')} mutants not checked**: the run stopped early;"
                " their score is not measured (rerun the lesson).",
                "",
            ]
        if result.equivalent:
            lines.append("Equivalent:")
            lines.append("")
            for mutant in result.equivalent:
                change = " → ".join(f"`{normalise(line)}`" for line in mutant.diff)
                lines.append(f"- {change}: {mutant.reason}")
        others = [m for m in result.mutants if m.status not in {"killed"} and not m.reason]
        if others:
            lines += ["", "Not killed, not known equivalent:", ""]
            for mutant in others:
                change = " → ".join(f"`{normalise(line)}`" for line in mutant.diff)
                lines.append(f"- {mutant.name} ({mutant.status}): {change}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lessons", nargs="*", default=list(LESSONS), help="lessons to mutate")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bam-mutate"))
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="report the last run in --workdir again (after editing the equivalents)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="finish the last run in --workdir (its mutants without a result), same copy",
    )
    arguments = parser.parse_args(argv)
    unknown = sorted(set(arguments.lessons) - set(LESSONS))
    if unknown:
        parser.error(f"unknown lessons {unknown}; choose from {', '.join(LESSONS)}")
    if (
        shutil.which("mutmut") is None
        and subprocess.run([sys.executable, "-c", "import mutmut"], check=False).returncode
    ):
        print("mutmut is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    results = []
    for lesson in arguments.lessons:
        result = run_lesson(
            lesson,
            arguments.workdir,
            arguments.jobs,
            rerun=not arguments.report_only,
            resume=arguments.resume,
        )
        results.append(result)
        print(markdown([result]), flush=True)
    report = markdown(results)
    if arguments.markdown:
        arguments.markdown.write_text(report, encoding="utf-8")
    print(report)
    return 0 if all(result.score >= 0.9 for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
