"""GitHub Classroom grading with partial credit: each check's points, as on Gradescope.

GitHub Classroom's ``autograding-command-grader`` gives a step all of its points or none, so a
lesson graded as one command was all or nothing (27 of 29 points locally, 0 of 29 there). The
workflow that ``bam release student --github-classroom`` writes runs instead, for each lesson::

    python -m bam.release.classroom LESSON

which grades the lesson's checks once (``pytest checks --exercise LESSON --gradescope ...``)
and writes the verdicts to ``$GITHUB_OUTPUT`` as ``result=<base64 JSON>``, in the format the
``autograding-grading-reporter`` reads from every runner: one test per check with its own
score, so a passing check earns its points whatever the others do. It always exits 0: the
reporter adds the points up and marks the run failed when a check failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

MESSAGE_LIMIT = 1000  # characters of a failing check's message kept in the report


def runner_results(gradescope: dict, max_score: int | None = None) -> dict:
    """The Classroom reporter's runner format from Gradescope's ``results.json`` payload."""
    tests = [
        {
            "name": test["name"],
            "status": "pass" if test["status"] == "passed" else "fail",
            "score": test["score"],
            "message": "" if test["status"] == "passed" else test["output"][:MESSAGE_LIMIT],
            "line_no": 0,
            "execution_time": f"{test.get('execution_time', 0)}s",
        }
        for test in gradescope.get("tests", [])
    ]
    total = sum(test["max_score"] for test in gradescope.get("tests", []))
    status = "pass" if tests and all(test["status"] == "pass" for test in tests) else "fail"
    if not tests:
        status = "error"
        tests = [
            {
                "name": "grading",
                "status": "error",
                "score": 0,
                "message": gradescope.get("output", "no check ran")[:MESSAGE_LIMIT],
                "line_no": 0,
                "execution_time": "0s",
            }
        ]
    return {
        "version": 1,
        "status": status,
        "max_score": max_score if max_score is not None else total,
        "tests": tests,
    }


def grade(lesson: str, course: Path, max_score: int | None = None) -> dict:
    """Grades one lesson's checks in a child pytest; returns the reporter's runner results."""
    with tempfile.TemporaryDirectory(prefix="bam-classroom-") as scratch:
        results = Path(scratch) / "results.json"
        command = [sys.executable, "-m", "pytest", "checks", "--exercise", lesson]
        command += ["-q", "--tb=no", "-p", "no:cacheprovider", "-p", "no:unraisableexception"]
        command += ["--gradescope", str(results)]
        done = subprocess.run(command, cwd=course, check=False)
        try:
            payload = json.loads(results.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            payload = {
                "tests": [],
                "output": f"pytest stopped early (exit status {done.returncode})",
            }
    return runner_results(payload, max_score)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bam.release.classroom", description=__doc__)
    parser.add_argument("lesson", help="the lesson (or lesson.exercise) to grade")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course folder")
    parser.add_argument(
        "--max-score", type=int, default=None, help="the step's points (default: its checks')"
    )
    args = parser.parse_args(argv)
    results = grade(args.lesson, args.course, args.max_score)
    encoded = base64.b64encode(json.dumps(results).encode("utf-8")).decode("ascii")
    got = sum(test["score"] for test in results["tests"])
    print(f"{args.lesson}: {got}/{results['max_score']} points")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as stream:
            stream.write(f"result={encoded}\n")
    else:
        print(f"result={encoded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
