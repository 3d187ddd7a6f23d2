"""The worker process's own set-up: isolate it, limit it, then serve the grader's requests.

Runs first thing in a new worker (forked by the grader on Linux, else spawned and connected back
with a one-time token): default signal handlers, its own session, stdin from /dev/null and
stdout/stderr into a temporary file (the print output each answer brings back, capped), every
other file descriptor closed, the privilege drop to ``BAM_WORKER_USER`` when the grader is root
(Gradescope), death with the grader, first in line for the OOM killer, file-size and address-space
limits, the graded lessons imported afresh, and ``checks.from_scratch``'s watch installed before
any lesson is. Then ``checks.worker.server.Serve`` answers until the grader hangs up.

Trusts: the grader (its set-up message, on the spawn path, is a pickle). Everything after the set-up
runs student code, and nothing in this process is trusted by the grader.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import os
import pickle
import signal
import socket
import sys
import tempfile
from typing import Any

from checks import from_scratch, wire
from checks.worker.server import Serve

try:
    import resource
except ImportError:  # Windows: no resource limits
    resource = None

OUTPUT_FILE_LIMIT = 64 << 20  # bytes a worker may write to any file (a print flood stops there)
MEMORY_LIMIT_GB = float(os.environ.get("BAM_WORKER_MEMORY_GB", "6"))


def spawned_main() -> None:
    """A spawned worker (not forked): connects back, imports what the grader has, then serves."""
    port, token = os.environ.pop("BAM_WORKER_CONNECT").split(":")
    sock = socket.create_connection(("127.0.0.1", int(port)))
    sock.sendall(token.encode())
    _, payload = wire.recv_frame(sock)
    setup = pickle.loads(payload)  # from the grader, which this process trusts
    for name in setup["modules"]:  # the checks: references are sent by their names
        if name != "checks.conftest":
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    worker_main(sock, setup["package"], setup["mutant"], None, forked=False)


def worker_main(
    sock: socket.socket,
    package: str,
    mutant: str | None,
    credentials: tuple[int, int] | None,
    forked: bool = True,
) -> None:
    """The worker process: isolate, limit, then serve requests until the grader hangs up."""
    faulthandler.disable()
    for name in ("SIGALRM", "SIGINT", "SIGTERM", "SIGCHLD", "SIGUSR1"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    with contextlib.suppress(AttributeError, ValueError):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a print flood gets an error, not a kill
        signal.setitimer(signal.ITIMER_REAL, 0)
    if forked:
        os.setsid()  # its own process group: the grader kills it and what it started together
    output = _redirect_output(sock.fileno(), forked)
    if credentials is not None:
        uid, gid = credentials
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))
    _die_with_parent()
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adjust:
        adjust.write("1000")  # short of memory, the system kills the worker, never the grader
    if resource is not None:
        _limit(resource.RLIMIT_FSIZE, OUTPUT_FILE_LIMIT)
        with contextlib.suppress(Exception):
            with open("/proc/self/statm") as statm:
                size = int(statm.read().split()[0]) * resource.getpagesize()
            _limit(resource.RLIMIT_AS, size + int(MEMORY_LIMIT_GB * (1 << 30)))
    for name in [n for n in sys.modules if n.startswith(f"{package}.")]:
        del sys.modules[name]  # import the graded lessons afresh, in this process only
    os.environ["BAM_IN_WORKER"] = "1"
    from_scratch.install(package, mutant)  # before any lesson module is imported
    Serve(sock, package, mutant, output).run()


def _redirect_output(keep: int, forked: bool) -> Any:
    """stdin from /dev/null, stdout and stderr into a temporary file, other descriptors closed."""
    output = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output.fileno(), 1)
    os.dup2(output.fileno(), 2)
    for fd in range(3, _max_fd() if forked else 3):
        if fd not in (keep, output.fileno()):
            with contextlib.suppress(OSError):
                os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
    return output


def _max_fd() -> int:
    try:
        return min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 65536)
    except (ValueError, OSError, AttributeError):
        return 1024


def _limit(kind: int, value: int) -> None:
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, hard))


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the grader ends (it cannot outlive grading)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
