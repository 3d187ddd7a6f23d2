"""Benchmark: grading through the worker process vs in-process, side by side in one run.

    python tools/bench_isolation.py                 # whole course once, one lesson 3 times
    python tools/bench_isolation.py --course-runs 3 --lesson-runs 5 --lesson metrics

Two copies of this course are graded with ``pytest checks --solutions``: this tree (student code
in a worker process, ``checks/worker.py``) and the same tree with ``checks/harness.py`` and
``checks/conftest.py`` taken from the last commit before the worker existed (student code in the
grader's own process). Runs alternate between the two, so that a busy machine slows both alike.
Two measurements:

* the whole course, ``pytest checks --solutions`` (the issue's budget: within 1.3x);
* watch mode's save-to-verdict latency: ``bam check --watch`` re-runs the saved lesson's checks
  in a fresh ``python -m pytest checks/test_<lesson>.py``, so that run's wall time, start to
  end, is what a student waits after saving (budget: within 1.3x).

Prints each run's seconds, the medians and their ratios (worker / in-process). Not a test: it
takes minutes and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IN_PROCESS_FILES = ("checks/harness.py", "checks/conftest.py")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def baseline_revision() -> str:
    """The commit before ``checks/worker.py`` was added (the in-process harness)."""
    added = git("log", "--diff-filter=A", "--format=%H", "--", "checks/worker.py").splitlines()
    if not added:
        raise SystemExit("checks/worker.py is not in git history: pass --baseline REV")
    return f"{added[-1]}^"


def make_copy(target: Path, baseline: str | None) -> Path:
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", "site", "runs", "data")
    shutil.copytree(REPO, target, ignore=ignore)
    (target / "data").symlink_to(REPO / "data")
    if baseline is not None:
        for path in IN_PROCESS_FILES:
            (target / path).write_text(git("show", f"{baseline}:{path}") + "\n", encoding="utf-8")
        for path in ("checks/worker.py", "checks/wire.py", "checks/errors.py"):
            (target / path).unlink(missing_ok=True)
        shutil.rmtree(target / "checks" / "worker", ignore_errors=True)  # the worker's package
    return target


def timed(course: Path, arguments: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the run and its worker processes) of one grading run."""
    environment = dict(os.environ, PYTHONPATH=str(course), OMP_NUM_THREADS="1")
    environment.pop("BAM_WORKER_USER", None)
    command = [sys.executable, "-m", "pytest", *arguments, "-q", "-p", "no:cacheprovider"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=course, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SystemExit(f"{' '.join(arguments)} failed in {course.name}:\n{tail}")
    return seconds, cpu


def compare(name: str, arguments: list[str], copies: dict[str, Path], runs: int) -> float:
    """Median wall time of each copy; also CPU time (steadier on a busy machine)."""
    wall: dict[str, list[float]] = {label: [] for label in copies}
    cpu: dict[str, list[float]] = {label: [] for label in copies}
    for run in range(runs):
        order = list(copies) if run % 2 == 0 else list(reversed(copies))
        for label in order:
            seconds, used = timed(copies[label], arguments)
            wall[label].append(seconds)
            cpu[label].append(used)
            print(
                f"  {name:<28} {label:<11} run {run + 1}: {seconds:6.1f} s wall, {used:6.1f} s CPU",
                flush=True,
            )
    medians = {label: statistics.median(values) for label, values in wall.items()}
    cpus = {label: statistics.median(values) for label, values in cpu.items()}
    ratio = medians["worker"] / medians["in-process"]
    print(
        f"{name:<30} in-process {medians['in-process']:6.1f} s   worker {medians['worker']:6.1f} s"
        f"   ratio {ratio:.2f}x  (CPU: {cpus['in-process']:.1f} s vs {cpus['worker']:.1f} s,"
        f" {cpus['worker'] / cpus['in-process']:.2f}x)",
        flush=True,
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=None, help="revision of the in-process harness")
    parser.add_argument("--course-runs", type=int, default=1, help="runs of the whole course")
    parser.add_argument("--lesson-runs", type=int, default=3, help="runs of one lesson")
    parser.add_argument("--lesson", default="metrics", help="the lesson watch mode re-runs")
    args = parser.parse_args(argv)
    baseline = args.baseline or baseline_revision()
    print(f"in-process harness from {git('rev-parse', '--short', baseline)}; worker: this tree")
    with tempfile.TemporaryDirectory(prefix="bam-bench-isolation-") as scratch:
        copies = {
            "in-process": make_copy(Path(scratch) / "in-process", baseline),
            "worker": make_copy(Path(scratch) / "worker", None),
        }
        lesson = compare(
            f"watch: checks/test_{args.lesson}.py",
            [f"checks/test_{args.lesson}.py", "--solutions"],
            copies,
            args.lesson_runs,
        )
        course = (
            compare(
                "pytest checks --solutions", ["checks", "--solutions"], copies, args.course_runs
            )
            if args.course_runs
            else float("nan")
        )
    print(f"ratios (worker / in-process): whole course {course:.2f}x, watch latency {lesson:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
