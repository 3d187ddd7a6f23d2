"""``bam bench watch``'s parts: watch mode started on a scratch copy, and saves timed to their verdict.

``start_watching`` runs ``bam.checking.watch.watch`` in a thread on a copy of the lessons, with
``Screens`` recording each screen it draws and when; ``time_saves`` edits an exercise a few times
and measures how long each save takes to show "checking…" and then its verdict.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bam.checking.watch import Checker


PACKAGE = "bam_watch_bench"


class Screens:
    """A text stream that remembers when each watch-mode screen arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            self.events.append((time.perf_counter(), text))
            self.changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    def wait_for(self, pattern: str, after: float, timeout: float) -> float | None:
        """When a screen matching ``pattern`` arrived after ``after`` (None: not in time)."""
        deadline = time.perf_counter() + timeout
        with self.changed:
            while True:
                for moment, text in self.events:
                    if moment >= after and re.search(pattern, text):
                        return moment
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.changed.wait(left)


def _edit_inside(text: str, function: str, count: int) -> str:
    """``text`` with a comment line changed inside ``def function``: a save of that exercise."""
    start = text.index(f"def {function}(")
    body = text.index('"""', text.index('"""', start) + 3) + 3  # after its docstring
    line = f"\n    # bam bench watch: save {count}"
    previous = re.compile(r"\n    # bam bench watch: save \d+")
    head, tail = text[:body], text[body:]
    tail = previous.sub("", tail, count=1)
    return head + line + tail


def start_watching(course: Path, copy: Path, interval: float) -> tuple[Checker, Screens]:
    """Watch mode on ``copy`` (the scratch package) in a daemon thread, its screens recorded.

    Returns the checker (its warm runner to stop at the end) and the recorded screens.
    """
    from bam.checking.runner import check_environment
    from bam.checking.warm import WarmRunner
    from bam.checking.watch import Checker, watch

    scratch = str(copy.parent)
    environment = check_environment(course)
    environment["PYTHONPATH"] = scratch + ":" + environment["PYTHONPATH"]
    environment["BAM_STATE_DIR"] = str(copy.parent / "state")
    checker = Checker(course, package=PACKAGE)
    checker.runner = WarmRunner(course, environment)
    checker.package_folder = lambda: copy  # type: ignore[method-assign]
    screens = Screens()
    thread = threading.Thread(
        target=watch,
        args=(checker,),
        kwargs={
            "interval": interval,
            "max_events": None,  # a daemon thread: it ends with the command
            "out": screens,
            "clear": False,
        },
        daemon=True,
    )
    os.environ["BAM_STATE_DIR"] = environment["BAM_STATE_DIR"]
    thread.start()
    return checker, screens


def time_saves(
    target: Path, function: str, args: argparse.Namespace, screens: Screens
) -> tuple[list[float], list[float]] | None:
    """Saves ``target`` ``args.saves`` times (an edit inside ``function``), each as editors do.

    Returns the seconds from each save to "checking …" and to the verdict; None when a save got
    no verdict.
    """
    announce, verdict = [], []
    text = target.read_text("utf-8")
    for count in range(1, args.saves + 1):
        time.sleep(max(args.interval * 2, 0.5))  # a pause between saves, as a person makes
        text = _edit_inside(text, function, count)
        scratch_file = target.with_suffix(".py.saving")
        scratch_file.write_text(text, "utf-8")
        saved = time.perf_counter()
        os.replace(scratch_file, target)  # as editors save: the file is never half-written
        shown = screens.wait_for(rf"checking {re.escape(args.exercise)}…", saved, 120)
        done = screens.wait_for(rf"checked {re.escape(args.exercise)} in", saved, 300)
        if shown is None or done is None:
            print(f"bam bench watch: save {count} got no verdict", file=sys.stderr)
            return None
        announce.append(shown - saved)
        verdict.append(done - saved)
        print(
            f"save {count:>2}: 'checking…' after {shown - saved:.2f} s, verdict after {done - saved:.2f} s"
        )
    return announce, verdict
