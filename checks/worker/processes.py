"""Process control, the grader's side: start a worker, kill it, say in words why it ended.

``WorkerProcess`` (the base of ``checks.worker.grader.Worker``) forks a worker on Linux (no fresh
import of torch) or spawns a fresh Python process elsewhere, which connects back over a local
socket with a one-time token. ``stop`` kills the worker's process group; ``sweep`` then kills what
graded code left behind: every process of the worker's own user when the grader dropped privileges
to one (Gradescope, ``BAM_WORKER_USER``), else every process of the workers' sessions and every
orphan that left them (the grader makes itself a child subreaper, so orphans come back to it).

Trusts: nothing the worker says; only the operating system's view of processes (``/proc``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings

from checks import wire
from checks.errors import GradingProcessEnded
from checks.worker.sandbox import worker_main

SPAWNED = "from checks.worker.sandbox import spawned_main; spawned_main()"


class WorkerProcess:
    """One worker process at a time, for grading ``package`` (and a ``--mutant`` file)."""

    def __init__(self, package: str, mutant: str | None = None) -> None:
        self.package = package
        self.mutant = mutant
        self.pid: int | None = None
        self.process: subprocess.Popen | None = None  # a spawned (not forked) worker
        self.sock: socket.socket | None = None
        # fork on Linux (no fresh import of torch); elsewhere a fresh Python process (spawn)
        self.method = os.environ.get("BAM_WORKER_START") or (
            "fork" if sys.platform.startswith("linux") else "spawn"
        )
        if self.method != "spawn" and not hasattr(os, "fork"):
            self.method = "spawn"
        self.generation = 0
        self.user = os.environ.get("BAM_WORKER_USER") or None
        self.credentials = _credentials(self.user) if self.user else None
        if self.credentials is not None and self.credentials[0] == os.getuid():
            self.credentials = None  # already that user: nothing to drop
        if self.credentials is not None and os.geteuid() != 0:
            raise RuntimeError(
                f"BAM_WORKER_USER={self.user}: only root can run student code as another user"
            )
        self.sessions: set[int] = set()  # every worker's session (the worker calls setsid)
        self.first_start: int | None = None  # clock ticks since boot when the first one started
        self.started_seconds = 0.0

    def start(self) -> None:
        """Starts a worker (a new generation: what the last one built is gone)."""
        started = time.perf_counter()
        credentials = self.credentials
        if self.first_start is None:
            self.first_start = _ticks_since_boot()
            _become_subreaper()  # orphans of the worker's children come back here, to be killed
        if self.method == "spawn":
            self._spawn()
        else:
            self._fork(credentials)
        self.sessions.add(self.pid)
        self.generation += 1
        self.started_seconds += time.perf_counter() - started

    def _spawn(self) -> None:
        """A fresh Python process that connects back with a one-time token (no fork here)."""
        if self.credentials is not None:
            raise RuntimeError("BAM_WORKER_USER needs the fork start method (Linux)")
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(300)
        token = secrets.token_hex(16)
        port = listener.getsockname()[1]
        environment = dict(
            os.environ,
            BAM_WORKER_CONNECT=f"{port}:{token}",
            PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path),
        )
        process = subprocess.Popen(
            [sys.executable, "-c", SPAWNED],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=os.name == "posix",
        )
        try:
            connection, _ = listener.accept()
            connection.settimeout(60)
            if wire.recv_exact(connection, len(token)) != token.encode():
                raise OSError("a wrong token")
            connection.settimeout(None)
        except (OSError, EOFError) as error:
            process.kill()
            process.wait()
            raise GradingProcessEnded(f"the grading process did not start ({error})") from None
        finally:
            listener.close()
        modules = [name for name in sys.modules if name.startswith("checks.")]
        setup = {"package": self.package, "mutant": self.mutant, "modules": modules}
        wire.send_frame(connection, b"P", pickle.dumps(setup))
        self.pid, self.process, self.sock = process.pid, process, connection

    def _fork(self, credentials: tuple[int, int] | None) -> None:
        parent, child = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        with warnings.catch_warnings():
            # Python 3.12 warns when a process with threads (torch's pool) forks; the worker
            # only runs Python code of its own and torch ops on one thread
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the worker
            try:
                parent.close()
                worker_main(child, self.package, self.mutant, credentials)
            finally:
                os._exit(0)
        child.close()
        self.pid, self.sock = pid, parent

    def stop(self) -> None:
        """Kills the worker and every process it started (even one that left its session)."""
        if self.process is not None:
            with contextlib.suppress(OSError):
                if os.name == "posix":
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.kill()
        elif self.pid is not None:  # killed before it can see its socket close and run anything
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None
        if self.process is not None:
            self.process.wait()
        elif self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        self.pid = self.process = None
        self.sweep()

    def sweep(self) -> None:
        """Kills what the graded code left behind: processes of the worker's user (Gradescope),
        else those of the workers' sessions and orphans that left them (adopted by this process)."""
        if self.first_start is None or not sys.platform.startswith("linux"):
            return
        if self.credentials is not None:
            kill_user_processes(*self.credentials)
            return
        me, my_session = os.getpid(), os.getsid(0)
        for _ in range(20):
            killed = []
            for pid, ppid, session, start in _processes():
                if pid == me:
                    continue
                adopted = ppid == me and session != my_session and start >= self.first_start
                if session in self.sessions or adopted:
                    killed.append(pid)
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            if not killed:
                return
            time.sleep(0.01)
            for pid in killed:  # collect the adopted ones (zombies otherwise)
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)

    def ended(self) -> str:
        """Why the worker ended (it has): reaps it and says so in words."""
        if self.process is not None:
            try:
                code = self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            self.stop()
            if code is None:
                return "it stopped answering"
            if code < 0:
                return signal_words(-code)
            return f"os._exit({code}) (the process exited with status {code})"
        status = self._reap() if self.pid is not None else None
        self.pid = None
        self.stop()
        if status is None:
            return "it stopped answering"
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            return f"os._exit({code}) (the process exited with status {code})"
        return signal_words(os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)

    def _reap(self) -> int | None:
        """The forked worker's wait status (killing it after two seconds)."""
        status = None
        with contextlib.suppress(ChildProcessError):
            for _ in range(200):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.01)
            else:
                os.killpg(self.pid, signal.SIGKILL)
                _, status = os.waitpid(self.pid, 0)
        return status


def signal_words(number: int | None) -> str:
    """A signal that ended the worker, in words (``signal SIGSEGV: a segmentation fault``)."""
    name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else number
    what = {
        "SIGSEGV": "a segmentation fault",
        "SIGKILL": "killed (too much memory? the system kills the process that uses most)",
        "SIGABRT": "aborted",
        "SIGBUS": "a bus error",
        "SIGFPE": "a floating-point exception",
        "SIGXCPU": "its CPU time limit",
        "SIGXFSZ": "its file size limit (a print flood?)",
    }.get(str(name), "a signal")
    return f"signal {name}: {what}"


def kill_user_processes(uid: int, gid: int) -> None:
    """SIGKILL to every process of ``uid``: a helper becomes that user and signals them all,
    again until none is left (a process that forks between two rounds is caught by the next)."""
    for attempt in range(50):
        if attempt and not _user_processes(uid):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)  # all processes this user may signal, but itself
            finally:
                os._exit(0)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _user_processes(uid: int) -> list[int]:
    """Pids of the live (not zombie) processes whose real user is ``uid`` (Linux /proc)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
                if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith(
                    "Z"
                ):
                    found.append(int(entry))
    return found


def _processes() -> list[tuple[int, int, int, int]]:
    """(pid, parent pid, session, start time in clock ticks) of every process (Linux /proc)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    rest = stat.read().rsplit(b")", 1)[1].split()
                found.append((int(entry), int(rest[1]), int(rest[3]), int(rest[19])))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _ticks_since_boot() -> int:
    with (
        contextlib.suppress(OSError, ValueError, IndexError, AttributeError),
        open("/proc/uptime") as uptime,
    ):
        return int(float(uptime.read().split()[0]) * os.sysconf("SC_CLK_TCK"))
    return 0


def _become_subreaper() -> None:
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER


def _credentials(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid
