"""A warm process that runs the checks: torch, pytest and Hypothesis imported once, a fork per run.

``bam check --watch`` would otherwise start a fresh ``python -m pytest`` on every save and pay
for importing torch, torchvision, pytest and Hypothesis each time (7–15 s on a busy laptop).
Instead it starts this module once::

    python -m bam.checking.warm            # in the course folder, with the course on PYTHONPATH

which imports those libraries (never the student's ``lessons``), prints ``ready`` and then
reads one JSON request per line from stdin: ``{"args": [...pytest arguments...], "log": PATH}``.
For each it forks a child that runs ``pytest.main(args)`` with its output in ``PATH`` and the
student's modules imported afresh, waits for it, and answers ``{"exit_code": N}`` on stdout.
The child is the grading process ``python -m pytest`` would have been (a student module that
exits, loops or kills Python takes down only the child), so verdicts are the same; only the
imports are already done.

``WarmRunner`` is the ``bam`` side: it starts the server, sends requests and falls back to a
fresh ``python -m pytest`` where ``os.fork`` does not exist (Windows) or the server died.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

# imported once by the server; the student's lessons never are (each run imports them afresh)
PRELOAD = (
    "torch",
    "torchvision",
    "torchvision.ops",
    "numpy",
    "pytest",
    "_pytest.python",
    "_pytest.terminal",
    "hypothesis",
    "hypothesis.strategies",
    "hypothesis.extra.pytestplugin",
    "pytest_timeout",
    "albumentations",
    "PIL.Image",
)


def preload() -> list[str]:
    """Imports ``PRELOAD`` (what is missing is skipped); returns what could not be imported."""
    import importlib

    missing = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an optional library: the child imports it, or fails, itself
            missing.append(name)
    with contextlib.suppress(Exception):
        import torch

        torch.set_num_threads(1)  # the checks' setting; no thread pool is running when we fork
    with contextlib.suppress(Exception):  # pytest's plugins (anyio's alone takes 0.6 s)
        import importlib.metadata

        for entry in importlib.metadata.entry_points(group="pytest11"):
            with contextlib.suppress(Exception):
                importlib.import_module(entry.value.split(":")[0])
    import gc

    gc.collect()
    gc.freeze()  # what is imported now is never collected again: each run's gc passes are cheap
    return missing


def _run_child(args: list[str], log_path: str) -> None:
    """In the forked child: pytest with its output in ``log_path``; never returns."""
    code = 3
    try:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the child's whole life
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        import pytest

        code = int(pytest.main(args))
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException:  # the child must end here, whatever happened
        import traceback

        traceback.print_exc()
        code = 3
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve() -> int:
    """The server loop (``python -m bam.checking.warm``)."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the replies
    preload()
    reply.write("ready\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            reply.close()
            _run_child(list(request["args"]), str(request["log"]))
        _, status = os.waitpid(pid, 0)
        reply.write(json.dumps({"exit_code": os.waitstatus_to_exitcode(status)}) + "\n")
    return 0


class WarmRunner:
    """Runs ``python -m pytest ARGS`` in the warm server (started on first use, kept running)."""

    def __init__(self, course: Path, environment: dict[str, str]) -> None:
        self.course = course
        self.environment = environment
        self.process: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    @property
    def available(self) -> bool:
        return hasattr(os, "fork")

    def start(self) -> None:
        """Starts the server and waits until its imports are done."""
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bam.checking.warm"],
            cwd=self.course,
            env=self.environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("the warm checks process did not start")

    def run(self, args: list[str], log_path: Path) -> int:
        """Runs pytest with ``args``; returns its exit status (output in ``log_path``)."""
        with self.lock:
            if not self.available:
                return self._cold(args, log_path)
            try:
                self.start()
                assert self.process is not None and self.process.stdin and self.process.stdout
                request = {"args": args, "log": str(log_path)}
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
                answer = self.process.stdout.readline()
                return int(json.loads(answer)["exit_code"])
            except (OSError, ValueError, RuntimeError, KeyError, AssertionError):
                self.stop()
                return self._cold(args, log_path)

    def _cold(self, args: list[str], log_path: Path) -> int:
        with log_path.open("wb") as log:
            return subprocess.call(
                [sys.executable, "-m", "pytest", *args],
                cwd=self.course,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment,
            )

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(Exception):
            if self.process.stdin:
                self.process.stdin.close()
            self.process.terminate()
            self.process.wait(timeout=5)
        self.process = None


if __name__ == "__main__":
    sys.exit(serve())
