"""Student code runs here, in a worker process; checks, oracles and verdicts stay in the grader.

The grader (the pytest process: checks, Hypothesis, the scoreboard, results.json) never imports a
graded lesson module. It forks a worker (after torch, the checks and their oracles are imported,
so a worker costs no fresh import) and asks it, over a Unix socket, to import a lesson, describe
an exercise, or call one. Requests travel as pickles (grader -> worker: the worker trusts the
grader); answers travel in ``checks.wire``'s data-only format (worker -> grader: the grader
trusts nothing, and rebuilds only tensors, numbers, strings and containers of them).

What crosses, and how:

* **Arguments** are copied into the worker. Tensors keep ``requires_grad``; a ``torch.Generator``
  travels as its state and its new state comes back; an ``nn.Module`` or optimiser argument
  (``sam.train_step(model, batch, optimizer)``) is copied in, and its parameters, gradients,
  ``requires_grad`` flags, buffers, train/eval flags and optimiser state are copied back out after
  the call. Parameters of an argument that come back in the answer
  (``sam.freeze_for_finetuning``) are the grader's own parameter objects.
* **Callables** given to student code (the callee references of ``student(name, **refs)``, a
  check's ``loss_fn``) are passed by reference when they are importable module-level functions
  (they then run in the worker: what a student can change there only changes what their own code
  sees); a check's local function instead stays in the grader and the worker calls back to it,
  with gradients bridged both ways.
* **Modules built by student code** (``RPNHead``, ``FasterRCNN``, ``vgg16_backbone()``) live in
  the worker; the grader holds a mirror: the same tree of submodules with the same parameters
  and buffers (real ``torch.nn`` layers where the worker's are plain ``torch.nn`` layers, so
  ``isinstance(m, nn.Conv2d)`` and ``state_dict()`` work; a shell forwarding calls to the worker
  for a student's class). Before each remote call the grader pushes what changed in the mirror
  (an optimiser step, ``load_state_dict``, ``train()``/``eval()``); after it, what the worker
  changed comes back.
* **Gradients**: a remote call whose inputs or parameters require grad runs inside an
  ``autograd.Function``; its ``backward`` asks the worker for the vector-Jacobian product of the
  graph it kept, so ``.backward()`` and ``torch.autograd.gradcheck`` in a check work.
* **Time and crashes**: the grader waits for each answer with a deadline (the check's time limit
  counts only the time spent in student code, and stops counting once the check has found a
  failure, so Hypothesis' shrinking never eats it). A worker that is past its deadline is killed;
  one that exits, crashes or is killed is replaced by a fresh one at the next call, and only the
  check that was running fails, with a sentence that says what happened.

For check authors, what a mirror does not do: hooks registered on a submodule of a student's
module do not fire (its ``forward`` runs in the worker), and assigning a new submodule or a
plain attribute to a mirror changes the mirror only (parameters, buffers, ``requires_grad``
and train/eval flags are what travel). ``copy.deepcopy`` of a mirror copies the module in the
worker. A persistent grader that re-grades after a lesson file changed calls ``stop()`` first:
a worker keeps the lesson modules it imported.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import inspect
import io
import os
import pickle
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import types
import warnings
import weakref
from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from checks import from_scratch, wire

try:
    import resource
except ImportError:  # Windows: no resource limits
    resource = None

OUTPUT_LIMIT = 4000  # characters of a call's print output brought back to the grader
OUTPUT_FILE_LIMIT = 64 << 20  # bytes a worker may write to any file (a print flood stops there)
MEMORY_LIMIT_GB = float(os.environ.get("BAM_WORKER_MEMORY_GB", "6"))


# ----------------------------------------------------------------------------- mutation testing
# mutmut (tools/mutate.py) learns which checks run which mutated function from "trampoline
# hits" recorded in the process that runs the code: here, the worker. During its stats phase
# (MUTANT_UNDER_TEST=stats) the worker sends the hits along with its answers and the grader
# adds them to its own record, which mutmut's pytest plugin reads. Nothing else uses them.


def _mutmut_state() -> Any:
    module = sys.modules.get("mutmut")
    if module is None or os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    return getattr(module, "state", lambda: None)()


def _mutation_hits() -> list[str]:
    state = _mutmut_state()
    if state is None or not getattr(state, "_stats", None):
        return []
    hits = sorted(state._stats)
    state._stats.clear()
    return hits


def _record_mutation_hits(hits: Any) -> None:
    state = _mutmut_state()
    if state is not None and isinstance(hits, list):
        state._stats.update(hit for hit in hits if isinstance(hit, str))


KEPT_GRAPHS = 512  # autograd graphs a worker keeps at most (each freed with its grader-side node)
BUILTIN_ERRORS = {
    kind.__name__: kind
    for kind in (
        ArithmeticError,
        AssertionError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
        LookupError,
        MemoryError,
        ModuleNotFoundError,
        NameError,
        NotImplementedError,
        OSError,
        OverflowError,
        RecursionError,
        RuntimeError,
        StopIteration,
        TypeError,
        UnboundLocalError,
        ValueError,
        ZeroDivisionError,
    )
}
HERE = os.path.abspath(__file__)
PLUMBING = {HERE, os.path.abspath(os.path.join(os.path.dirname(HERE), "harness.py"))}


class GradingProcessEnded(BaseException):
    """The worker exited, crashed or was killed while running student code.

    A ``BaseException``, so Hypothesis does not shrink (and re-run) code that kills its process.
    """


def _grad_tensors(value: Any, found: list | None = None) -> list:
    """The tensors requiring grad in a structure of arguments, in a fixed order (both sides)."""
    found = [] if found is None else found
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _grad_tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _grad_tensors(item, found)
    return found


def _flat_tensors(value: Any, found: list | None = None) -> list:
    """Every tensor in a decoded answer, in the order the encoder met them."""
    found = [] if found is None else found
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _flat_tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _flat_tensors(item, found)
    return found


def _replace_tensors(value: Any, replacements: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return next(replacements)
    if isinstance(value, list):
        return [_replace_tensors(item, replacements) for item in value]
    if isinstance(value, tuple):
        return tuple(_replace_tensors(item, replacements) for item in value)
    if isinstance(value, dict):
        return {key: _replace_tensors(item, replacements) for key, item in value.items()}
    return value


class _Bridge(torch.autograd.Function):
    """A remote computation as one autograd node: backward asks the other side for the VJP."""

    @staticmethod
    def forward(ctx: Any, box: dict, *inputs: torch.Tensor) -> Any:
        outputs, differentiable, vjp = box["run"]()
        ctx.vjp = vjp
        ctx.differentiable = differentiable
        ctx.set_materialize_grads(False)
        fixed = [tensor for tensor, diff in zip(outputs, differentiable, strict=True) if not diff]
        if fixed:
            ctx.mark_non_differentiable(*fixed)  # one call: a second one would replace the first
        return tuple(outputs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        wanted = [g for g, diff in zip(grads, ctx.differentiable, strict=True) if diff]
        if all(g is None for g in wanted):
            return (None, *([None] * ctx.vjp.inputs))
        return (None, *ctx.vjp(wanted))


def bridged(inputs: list[torch.Tensor], run: Any) -> Any:
    """Calls ``run()`` -> (outputs, differentiable, vjp) inside ``_Bridge`` when it can matter."""
    box = {"run": run}
    outputs = _Bridge.apply(box, *inputs)
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    return list(outputs)


# ============================================================================ the grader's side


def _importable(function: Any) -> bool:
    """Whether pickle can send ``function`` by reference (a module-level, importable name)."""
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    if module is None or "<" in getattr(function, "__qualname__", "<"):
        return False
    target: Any = module
    for part in function.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is function


class _GraderPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, worker: Worker, call: dict) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.worker = worker
        self.call = call
        self.tensors: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []

    def tensor(self, obj: torch.Tensor) -> Any:
        """Tensors as raw bytes (fast; one copy per tensor object, so aliases stay aliases)."""
        if (
            type(obj) not in (torch.Tensor, nn.Parameter)
            or obj.layout != torch.strided
            or obj.device.type != "cpu"
            or str(obj.dtype).removeprefix("torch.") not in wire.DTYPES
        ):
            return ("T", obj.detach(), obj.requires_grad) if obj.grad_fn is not None else None
        key = id(obj)
        if key in self.tensors:
            return ("r", self.tensors[key])
        index = len(self.tensors)
        self.tensors[key] = index
        self.keep.append(obj)
        kind = "P" if type(obj) is nn.Parameter else "t"
        grad = obj.grad if obj.is_leaf and obj.grad is not None else None
        return (
            "R",
            index,
            *_raw(obj),
            obj.requires_grad,
            kind,
            None if grad is None else _raw(grad),
        )

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return self.tensor(obj)
        if isinstance(obj, torch.Generator):
            self.call.setdefault("generators", []).append(obj)
            return ("G", len(self.call["generators"]) - 1, obj.get_state(), str(obj.device))
        if isinstance(obj, nn.Module) and "_bam_hid" in obj.__dict__:
            hid, generation = obj.__dict__["_bam_hid"]
            self.worker.check_generation(generation, obj)
            return ("H", hid)
        if isinstance(obj, (types.FunctionType, types.MethodType)) and not (
            isinstance(obj, types.FunctionType) and _importable(obj)
        ):
            if isinstance(obj, types.MethodType) and isinstance(obj.__self__, types.ModuleType):
                return None
            callbacks = self.call.setdefault("callbacks", [])
            callbacks.append(obj)
            return ("C", len(callbacks) - 1)
        return None


def _raw(tensor: torch.Tensor) -> tuple[str, tuple[int, ...], bytes]:
    plain = tensor.detach().cpu().contiguous()
    data = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
    return str(plain.dtype).removeprefix("torch."), tuple(plain.shape), data


def _unraw(dtype_name: str, shape: tuple[int, ...], data: bytes) -> torch.Tensor:
    dtype = wire.DTYPES[dtype_name]
    if not data:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape)


class _NoGraph:
    """The backward of a call whose answer has no differentiable output: no gradient."""

    def __init__(self, inputs: int) -> None:
        self.inputs = inputs

    def __call__(self, grads: list) -> list:
        return [None] * self.inputs


class _ParamRef:
    """An answer's reference to a parameter of an argument (resolved to the grader's own)."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref


class _RemoteError:
    """An exception described by the worker (rebuilt by ``Worker._error``)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec


class _Refused:
    """A value the grader refused to rebuild (the sentence says what it was)."""

    def __init__(self, what: str) -> None:
        self.what = what


class InPlaceEdit(Exception):
    """The worker saw student code change an input argument in place."""

    def __init__(self, argument: Any) -> None:
        super().__init__(argument)
        self.argument = argument


class RemoteModule(nn.Module):
    """A student's module class, mirrored: parameters here, ``forward`` (and methods) there."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self.__dict__["_bam_worker"].call_method(self, "forward", args, kwargs)

    def __deepcopy__(self, memo: dict) -> Any:
        """A copy made in the worker (with this mirror's state), mirrored anew."""
        return self.__dict__["_bam_worker"].call_method(self, "__deepcopy__", (), {})

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            methods = self.__dict__.get("_bam_methods", ())
            if name in methods:
                worker = self.__dict__["_bam_worker"]

                def method(*args: Any, **kwargs: Any) -> Any:
                    __tracebackhide__ = True
                    return worker.call_method(self, name, args, kwargs)

                return method
            raise


# albumentations transforms a pipeline from the worker may use: pure pixel and geometry ones,
# rebuilt from their parameters (none reads files or runs code of the student's)
ALBUMENTATIONS_REBUILT = frozenset(
    [
        "Compose",
        "Sequential",
        "OneOf",
        "SomeOf",
        "NoOp",
        "HorizontalFlip",
        "VerticalFlip",
        "Transpose",
        "RandomRotate90",
        "Rotate",
        "Affine",
        "ShiftScaleRotate",
        "RandomBrightnessContrast",
        "ColorJitter",
        "HueSaturationValue",
        "RandomGamma",
        "GaussianBlur",
        "GaussNoise",
        "Normalize",
        "Resize",
        "LongestMaxSize",
        "SmallestMaxSize",
        "PadIfNeeded",
        "RandomCrop",
        "CenterCrop",
        "Crop",
        "RandomSizedCrop",
        "RandomResizedCrop",
        "ToGray",
    ]
)


def _transform_names(spec: Any) -> set[str]:
    names = set()
    if isinstance(spec, dict):
        name = spec.get("__class_fullname__")
        if name is not None:
            names.add(str(name).rsplit(".", 1)[-1])
        for value in spec.values():
            names |= _transform_names(value)
    elif isinstance(spec, (list, tuple)):
        for value in spec:
            names |= _transform_names(value)
    return names


_SHELL_CLASSES: dict[str, type] = {}


def _shell_class(name: str) -> type:
    if not name.isidentifier():
        name = "StudentModule"
    if name not in _SHELL_CLASSES:
        _SHELL_CLASSES[name] = type(name, (RemoteModule,), {"__module__": "checks.worker"})
    return _SHELL_CLASSES[name]


_MODULE_INTERNALS = frozenset(nn.Module().__dict__)


def _native_class(path: Any) -> type | None:
    """A ``torch.nn`` layer class named by the worker, if it is one (never anything else)."""
    if not (isinstance(path, list) and len(path) == 2 and all(isinstance(p, str) for p in path)):
        return None
    module_name, qualname = path
    if not module_name.startswith("torch.nn.modules.") or "." in qualname:
        return None
    module = sys.modules.get(module_name)
    kind = getattr(module, qualname, None) if module is not None else None
    if isinstance(kind, type) and issubclass(kind, nn.Module) and kind.__module__ == module_name:
        return kind
    return None


class Worker:
    """The grader's end of the worker: starts it, talks to it, replaces it when it dies."""

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
        self.released: list[int] = []
        self.released_graphs: list[int] = []
        self.synced: dict[int, dict[str, tuple[int, int]]] = {}
        self.graphs: dict[int, Any] = OrderedDict()
        self.next_graph = 0
        self.describe_cache: dict[tuple[str, str], dict] = {}
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
        # the check being graded (set by checks/conftest.py around each check)
        self.exercise = "the exercise"
        self.limit: float | None = None  # seconds one call may take
        self.budget: float | None = None  # seconds of student code left for this check
        self.failure_seen = False
        self.limit_hit: float | None = None
        # seconds the last call took inside the worker, as the worker reports it (speed checks:
        # without the round trip; a submission could lie about it, so only its own points rely
        # on it)
        self.last_call_seconds: float | None = None
        # (lesson, function, library name) of the library calls student code made
        self.library_calls: list[tuple[str, str, str]] = []

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
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
        self.synced.clear()
        self.graphs.clear()
        self.released.clear()
        self.released_graphs.clear()
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
        command = [sys.executable, "-c", "from checks.worker import spawned_main; spawned_main()"]
        process = subprocess.Popen(
            command,
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
                _worker_main(child, self.package, self.mutant, credentials)
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

    def _ended(self) -> str:
        """Why the worker ended (it has): reaps it and says so in words."""
        status = None
        if self.process is not None:
            try:
                code = self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            self.stop()
            if code is None:
                return "it stopped answering"
            if code < 0:
                return self._signal_words(-code)
            return f"os._exit({code}) (the process exited with status {code})"
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                for _ in range(200):
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                    if pid:
                        break
                    time.sleep(0.01)
                else:
                    os.killpg(self.pid, signal.SIGKILL)
                    _, status = os.waitpid(self.pid, 0)
        self.pid = None
        self.stop()
        if status is None:
            return "it stopped answering"
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            return f"os._exit({code}) (the process exited with status {code})"
        return self._signal_words(os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)

    @staticmethod
    def _signal_words(number: int | None) -> str:
        name = (
            signal.Signals(number).name if number in signal.Signals._value2member_map_ else number
        )
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

    def check_generation(self, generation: int, obj: Any) -> None:
        if generation != self.generation or self.sock is None:
            from checks.harness import CheckFailed

            raise CheckFailed(
                f"this {type(obj).__name__} was built by a grading process that has since ended"
                " (an earlier call crashed it or ran out of time); build it again"
            )

    # ---------------------------------------------------------------- talking

    def _send(self, message: Any, call: dict | None = None) -> None:
        buffer = io.BytesIO()
        _GraderPickler(buffer, self, call if call is not None else {}).dump(message)
        wire.send_frame(self.sock, b"P", buffer.getvalue())

    def exchange(self, request: tuple, call: dict | None = None, what: str | None = None) -> dict:
        """Sends a request and serves the worker's callbacks until its answer comes."""
        __tracebackhide__ = True
        if self.sock is None:
            self.start()
        call = {} if call is None else call
        if self.released or self.released_graphs:
            extra = {"release": self.released, "release_graphs": self.released_graphs}
            request = (*request[:-1], {**request[-1], **extra})
            self.released, self.released_graphs = [], []
        try:
            self._send(request, call)
        except (OSError, pickle.PicklingError) as error:
            if isinstance(error, OSError):
                self._crashed(what)
            raise
        while True:
            message = self._receive(what)
            _record_mutation_hits(message.pop("mutmut_hits", None))
            op = message.get("op")
            if op == "callback":
                self._serve_callback(message, call)
            elif op == "cbvjp":
                self._serve_callback_vjp(message)
            else:
                return message

    def _receive(self, what: str | None) -> dict:
        __tracebackhide__ = True
        deadline = self._deadline()
        started = time.perf_counter()
        try:
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.perf_counter())
                ready, _, _ = select.select([self.sock], [], [], wait)
                if ready:
                    break
                self._timed_out()
            kind, payload = wire.recv_frame(self.sock)
        except (EOFError, OSError, wire.WireError) as error:
            if isinstance(error, wire.WireError):
                self.stop()
                raise GradingProcessEnded(
                    f"{what or self.exercise} sent the grader a message it could not read"
                    f" ({error}); the grading process was replaced"
                ) from None
            self._crashed(what)
        except BaseException:
            self.stop()  # interrupted mid-message (the check's own time limit): start afresh
            raise
        finally:
            self._spent(time.perf_counter() - started)
        if kind != b"W":
            self.stop()
            raise GradingProcessEnded(f"{what or self.exercise} broke the grading protocol")
        try:
            message = wire.decode(payload, self._special_decode)
        except wire.WireError as error:
            self.stop()
            raise GradingProcessEnded(
                f"{what or self.exercise} sent the grader a message it could not read ({error})"
            ) from None
        if not isinstance(message, dict):
            self.stop()
            raise GradingProcessEnded(f"{what or self.exercise} broke the grading protocol")
        self._print_output(message)
        self.library_calls += from_scratch.received(message)
        return message

    def _crashed(self, what: str | None) -> None:
        __tracebackhide__ = True
        reason = self._ended()
        raise GradingProcessEnded(
            f"{what or self.exercise} ended the grading process: {reason}."
            " The grader started a new one for the next checks; an exercise must return a value"
            " (no os._exit, no crash)"
        )

    def _deadline(self) -> float | None:
        limits = [limit for limit in (self.limit, self._budget_left()) if limit is not None]
        if not limits:
            return None
        self.limit_hit = min(limits)
        return time.perf_counter() + max(0.0, min(limits))

    def _budget_left(self) -> float | None:
        if self.budget is None or self.failure_seen:
            return None
        return self.budget

    def _spent(self, seconds: float) -> None:
        if self.budget is not None and not self.failure_seen:
            self.budget -= seconds

    def _timed_out(self) -> None:
        __tracebackhide__ = True
        from checks.harness import CheckTimedOut

        self.stop()
        raise CheckTimedOut(self.limit if self.limit is not None else self.limit_hit)

    def _print_output(self, message: dict) -> None:
        text = message.get("out")
        if isinstance(text, str) and text:
            sys.stdout.write(text)
            more = message.get("more")
            if isinstance(more, int) and more > 0:
                sys.stdout.write(f"\n... [{more} more characters of output cut]\n")

    # ---------------------------------------------------------------- decoding answers

    def _special_decode(self, decoder: wire.Decoder, node: dict, depth: int) -> tuple[bool, Any]:
        if "M" in node:
            return True, self._mirror(decoder, node["M"], depth)
        if "PR" in node:
            return True, _ParamRef(node["PR"])
        if "E" in node:
            return True, _RemoteError(node["E"])
        if "AL" in node:
            import albumentations

            spec = decoder.decode(node["AL"], depth + 1)
            unknown = sorted(_transform_names(spec) - ALBUMENTATIONS_REBUILT)
            if unknown:
                return True, _Refused(
                    f"an albumentations pipeline using {', '.join(unknown)}, which the grader"
                    " does not rebuild (it rebuilds only the course's usual transforms)"
                )
            try:
                return True, albumentations.from_dict(spec)
            except Exception as error:
                return True, _Refused(
                    f"an albumentations pipeline the grader cannot rebuild ({error})"
                )
        return False, None

    def _mirror(self, decoder: wire.Decoder, spec: Any, depth: int) -> nn.Module:
        if not isinstance(spec, dict) or type(spec.get("hid")) is not int:
            raise wire.WireError("a module mirror without a handle")
        hid = spec["hid"]
        native = _native_class(spec.get("cls")) if spec.get("native") is True else None
        if native is not None:
            module = native.__new__(native)
            nn.Module.__init__(module)
        else:
            module = _shell_class(str(spec.get("name", "StudentModule")))()
            methods = decoder.decode(spec.get("methods", {"L": []}), depth + 1)
            if not isinstance(methods, list):
                raise wire.WireError("module methods that are not a list")
            module.__dict__["_bam_methods"] = frozenset(m for m in methods if isinstance(m, str))
            module.__dict__["_bam_worker"] = self
        attrs = decoder.decode(spec.get("attrs", {"D": []}), depth + 1)
        if not isinstance(attrs, dict):
            raise wire.WireError("module attributes that are not a dict")
        for key, value in attrs.items():
            if isinstance(key, str) and key not in _MODULE_INTERNALS and not key.startswith("__"):
                module.__dict__[key] = value
        for name, value in decoder.decode(spec.get("params", {"D": []}), depth + 1).items():
            if value is not None and type(value) is not nn.Parameter:
                value = nn.Parameter(value, requires_grad=value.requires_grad)
            module.register_parameter(str(name), value)
        persistent = set(decoder.decode(spec.get("persistent", {"L": []}), depth + 1))
        for name, value in decoder.decode(spec.get("buffers", {"D": []}), depth + 1).items():
            if value is not None and not isinstance(value, torch.Tensor):
                raise wire.WireError("a buffer that is not a tensor")
            module.register_buffer(str(name), value, persistent=name in persistent)
        for name, child in decoder.decode(spec.get("children", {"D": []}), depth + 1).items():
            if child is not None and not isinstance(child, nn.Module):
                raise wire.WireError("a child module that is not a module")
            module.add_module(str(name), child)
        module.training = spec.get("training") is True
        module.__dict__["_bam_hid"] = (hid, self.generation)
        generation = self.generation
        weakref.finalize(module, self._release, hid, generation)
        return module

    def _release(self, hid: int, generation: int) -> None:
        if generation == self.generation:
            self.released.append(hid)

    def _resolve(self, value: Any, arguments: dict) -> Any:
        """Parameter references and refusals inside an answer, turned into what they mean."""
        if isinstance(value, _Refused):
            from checks.harness import CheckFailed

            raise CheckFailed(f"{self.exercise} returned {value.what}")
        if isinstance(value, _ParamRef):
            ref = value.ref
            if (
                isinstance(ref, list)
                and len(ref) == 2
                and isinstance(ref[1], str)
                and ref[0] in arguments
            ):
                with contextlib.suppress(AttributeError):
                    return arguments[ref[0]].get_parameter(ref[1])
            raise wire.WireError("a reference to a parameter that is not an argument's")
        if isinstance(value, list):
            return [self._resolve(item, arguments) for item in value]
        if isinstance(value, tuple):
            return tuple(self._resolve(item, arguments) for item in value)
        if isinstance(value, dict):
            return {key: self._resolve(item, arguments) for key, item in value.items()}
        return value

    # ---------------------------------------------------------------- requests

    def describe(self, lesson: str, name: str) -> dict:
        """What ``lesson.name`` is in the worker (importing the lesson there if needed)."""
        __tracebackhide__ = True
        key = (lesson, name)
        if key in self.describe_cache:
            return self.describe_cache[key]
        message = self.exchange(
            ("get", lesson, name, {}), what=f"{self.package}/{lesson}.py (while being imported)"
        )
        if message.get("op") == "import_error":
            from checks.harness import CheckFailed

            error = self._error(message.get("error"))
            raise CheckFailed(str(message.get("message"))) from error
        if message.get("op") != "ok" or not isinstance(message.get("value"), dict):
            raise GradingProcessEnded(f"{self.package}/{lesson}.py broke the grading protocol")
        info = message["value"]
        if info.get("kind") != "data":
            self.describe_cache[key] = info
        return info

    def call(
        self,
        target: tuple,
        args: tuple,
        kwargs: dict,
        references: dict,
        watch: bool = False,
        module: nn.Module | None = None,
        what: str | None = None,
    ) -> Any:
        """Runs ``target(*args, **kwargs)`` in the worker and returns its answer here."""
        __tracebackhide__ = True
        if self.sock is None:
            self.start()
        if module is not None:
            hid, generation = module.__dict__["_bam_hid"]
            self.check_generation(generation, module)
        grad = torch.is_grad_enabled()
        arg_inputs = _grad_tensors((args, kwargs)) if grad else []
        param_names: list[str] = []
        param_inputs: list[torch.Tensor] = []
        if module is not None and grad:
            for name, parameter in module.named_parameters():
                if parameter.requires_grad:
                    param_names.append(name)
                    param_inputs.append(parameter)
        inputs = arg_inputs + param_inputs
        arguments = {
            index: value
            for index, value in [*enumerate(args), *kwargs.items()]
            if isinstance(value, (nn.Module, torch.optim.Optimizer))
            and "_bam_hid" not in getattr(value, "__dict__", {})
        }
        options = {
            "refs": references,
            "grad": grad,
            "graph": bool(inputs),
            "arg_grads": len(arg_inputs),
            "param_names": param_names,
            "rng": torch.get_rng_state(),
            "watch": watch,
            "copy_back": list(arguments),
        }
        if module is not None:
            options["push"] = self._push_state(hid, module)
        call: dict = {}
        box: dict = {}

        def run() -> tuple[list, list, Any]:
            message = self.exchange(("call", target, args, kwargs, options), call, what)
            box["message"] = message
            if message.get("op") != "ok":
                return [], [], None
            value = message.get("value")
            flat = _flat_tensors(value)
            differentiable = message.get("diff") or [False] * len(flat)
            if len(differentiable) != len(flat):
                raise GradingProcessEnded("the grading process broke the gradient protocol")
            outputs = [tensor.detach() for tensor in flat]
            gid = message.get("gid")
            return outputs, [bool(d) for d in differentiable], self._vjp_function(gid, inputs)

        if inputs:
            outputs = bridged(inputs, run)
        else:
            outputs, _, _ = run()
        message = box["message"]
        reported = message.get("seconds")
        self.last_call_seconds = float(reported) if isinstance(reported, float) else None
        self._after_call(message, call, arguments, module)
        if message.get("op") == "raise":
            self.failure_seen = True  # the check may expect it; its time limit stops counting
            raise self._error(message.get("error"))
        if message.get("op") == "not_data":
            from checks.harness import CheckFailed

            raise CheckFailed(
                f"{what or self.exercise} returned {message.get('message')}, which the grader does"
                " not accept: return tensors (torch.Tensor itself, not a subclass), numbers,"
                " strings, None, or lists, tuples and dicts of them"
            )
        if message.get("op") == "inplace":
            raise InPlaceEdit(message.get("argument"))
        if message.get("op") != "ok":
            raise GradingProcessEnded("the grading process broke the grading protocol")
        value = message.get("value")
        if inputs:
            value = _replace_tensors(value, iter(outputs))
        return self._resolve(value, arguments)

    def call_method(self, module: nn.Module, method: str, args: tuple, kwargs: dict) -> Any:
        __tracebackhide__ = True
        from checks.harness import SESSION

        hid, _ = module.__dict__["_bam_hid"]
        what = f"{type(module).__name__}.{method}"
        return self.call(
            ("handle", hid, method),
            args,
            kwargs,
            SESSION.active_references(),
            module=module,
            what=what,
        )

    def _vjp_function(self, gid: Any, inputs: list[torch.Tensor]) -> Any:
        worker, generation = self, self.generation
        if type(gid) is not int:
            return _NoGraph(len(inputs))

        def vjp(grads: list) -> list:
            __tracebackhide__ = True
            if generation != worker.generation or worker.sock is None:
                from checks.harness import CheckFailed

                raise CheckFailed(
                    "backward() reached a computation of a grading process that has since ended"
                )
            message = worker.exchange(("vjp", gid, grads, {}), what=f"{worker.exercise} (backward)")
            if message.get("op") == "raise":
                raise worker._error(message.get("error"))
            result = message.get("value")
            if not isinstance(result, list) or len(result) != len(inputs):
                raise GradingProcessEnded("the grading process broke the gradient protocol")
            grads_out = []
            for grad, tensor in zip(result, inputs, strict=True):
                if grad is not None and (
                    not isinstance(grad, torch.Tensor) or grad.shape != tensor.shape
                ):
                    raise GradingProcessEnded(
                        "the grading process sent a gradient of a wrong shape"
                    )
                grads_out.append(None if grad is None else grad.to(tensor.dtype))
            return grads_out

        vjp.inputs = len(inputs)
        weakref.finalize(vjp, self._release_graph, gid, generation)
        return vjp

    def _release_graph(self, gid: int, generation: int) -> None:
        if generation == self.generation:
            self.released_graphs.append(gid)

    def _push_state(self, hid: int, module: nn.Module) -> dict:
        """What changed in the mirror since the worker last saw it (by tensor version)."""
        synced = self.synced.setdefault(hid, {})
        params, buffers = {}, {}
        for name, parameter in module.named_parameters():
            stamp = (id(parameter), parameter._version, parameter.requires_grad)
            if synced.get("p." + name) != stamp:
                params[name] = (parameter.detach(), parameter.requires_grad)
                synced["p." + name] = stamp
        for name, buffer in module.named_buffers():
            stamp = (id(buffer), buffer._version, False)
            if synced.get("b." + name) != stamp:
                buffers[name] = buffer.detach()
                synced["b." + name] = stamp
        flags = {name: sub.training for name, sub in module.named_modules()}
        return {"params": params, "buffers": buffers, "flags": flags}

    def _after_call(
        self, message: dict, call: dict, arguments: dict, module: nn.Module | None
    ) -> None:
        """Copies back what the worker changed: RNG, generators, argument models, the mirror."""
        state = message.get("rng")
        if isinstance(state, torch.Tensor) and state.dtype == torch.uint8:
            with contextlib.suppress(RuntimeError):
                torch.set_rng_state(state)
        generators = call.get("generators", [])
        states = message.get("gens")
        if isinstance(states, list) and len(states) == len(generators):
            for generator, state in zip(generators, states, strict=True):
                if isinstance(state, torch.Tensor) and state.dtype == torch.uint8:
                    with contextlib.suppress(RuntimeError):
                        generator.set_state(state)
        copies = message.get("copies")
        if isinstance(copies, dict):
            for key, copy in copies.items():
                target = arguments.get(key)
                if target is not None and isinstance(copy, dict):
                    with contextlib.suppress(Exception):
                        _apply_copy(target, copy)
        if module is not None and isinstance(message.get("changed"), dict):
            hid, _ = module.__dict__["_bam_hid"]
            synced = self.synced.setdefault(hid, {})
            changed = message["changed"]
            with torch.no_grad():
                for name, value in changed.get("params", {}).items():
                    with contextlib.suppress(AttributeError, RuntimeError, TypeError):
                        parameter = module.get_parameter(name)
                        if isinstance(value, torch.Tensor):
                            parameter.data = value.to(parameter.dtype)
                            synced["p." + name] = (
                                id(parameter),
                                parameter._version,
                                parameter.requires_grad,
                            )
                for name, value in changed.get("buffers", {}).items():
                    with contextlib.suppress(AttributeError, RuntimeError, TypeError):
                        buffer = module.get_buffer(name)
                        if isinstance(value, torch.Tensor) and buffer is not None:
                            buffer.data = value.to(buffer.dtype)
                            synced["b." + name] = (id(buffer), buffer._version, False)

    def _serve_callback(self, message: dict, call: dict) -> None:
        """The worker calls a check's own function (a local ``loss_fn``): it runs here."""
        callbacks = call.get("callbacks", [])
        index = message.get("cb")
        started = time.perf_counter()
        try:
            if not (type(index) is int and 0 <= index < len(callbacks)):
                raise RuntimeError("no such callback")
            args, kwargs = message.get("args"), message.get("kwargs")
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise RuntimeError("callback arguments are not a list and a dict")
            leaves = _grad_tensors((args, kwargs))
            with torch.enable_grad():
                result = callbacks[index](*args, **kwargs)
            flat = _flat_tensors(result)
            diff = [t.requires_grad for t in flat]
            gid = None
            if leaves and any(diff):
                gid = self.next_graph
                self.next_graph += 1
                self.graphs[gid] = (leaves, [t for t, d in zip(flat, diff, strict=True) if d])
                while len(self.graphs) > KEPT_GRAPHS:
                    self.graphs.pop(next(iter(self.graphs)))
            reply = ("ret", result, gid, diff)
        except Exception as error:
            reply = ("err", type(error).__name__, str(error))
        finally:
            if self.budget is not None and not self.failure_seen:
                self.budget += (
                    time.perf_counter() - started
                )  # the check's own time, not the student's
        self._send(reply, {})

    def _serve_callback_vjp(self, message: dict) -> None:
        try:
            graph = self.graphs.get(message.get("gid"))
            grads = message.get("grads")
            if graph is None or not isinstance(grads, list):
                raise RuntimeError("no such graph")
            leaves, outputs = graph
            pairs = [(o, g) for o, g in zip(outputs, grads, strict=False) if g is not None]
            result = torch.autograd.grad(
                [o for o, _ in pairs],
                leaves,
                [g for _, g in pairs],
                allow_unused=True,
                retain_graph=True,
            )
            reply = ("ret", list(result), None, [])
        except Exception as error:
            reply = ("err", type(error).__name__, str(error))
        self._send(reply, {})

    def _error(self, spec: Any) -> BaseException:
        """The exception a student's code raised in the worker, rebuilt with its traceback."""
        if not isinstance(spec, _RemoteError):
            return RuntimeError("an error the grading process could not describe")
        spec = spec.spec
        if not isinstance(spec, dict):
            return RuntimeError("an error the grading process could not describe")
        names = spec.get("mro") if isinstance(spec.get("mro"), list) else []
        message = str(spec.get("message", ""))[:4000]
        if "SystemExit" in names:
            error: BaseException = SystemExit(spec.get("code"))
        else:
            kind = next((BUILTIN_ERRORS[n] for n in names if n in BUILTIN_ERRORS), Exception)
            shown = str(spec.get("type", kind.__name__))[:200]
            if kind is KeyError:
                error = KeyError(message)
            elif kind.__name__ == shown:
                error = kind(message)
            else:
                error = _named_error(kind, shown)(message)
        frames = spec.get("frames")
        if isinstance(frames, list):
            with contextlib.suppress(Exception):
                error = error.with_traceback(_fake_traceback(error, frames[-40:]))
        return error


@functools.cache
def _named_error(kind: type, name: str) -> type:
    """``kind`` under the student's exception's name (``torch.OutOfMemoryError`` -> RuntimeError)."""
    short = name.rsplit(".", 1)[-1]
    if not short.isidentifier():
        return kind
    return type(short, (kind,), {"__module__": name.rpartition(".")[0] or "builtins"})


def _fake_traceback(error: BaseException, frames: list) -> types.TracebackType | None:
    """A traceback whose frames name the student's files and lines (pytest shows their code)."""
    tb = None
    for frame in reversed(frames):
        if not (
            isinstance(frame, list)
            and len(frame) == 3
            and isinstance(frame[0], str)
            and type(frame[1]) is int
            and isinstance(frame[2], str)
        ):
            continue
        filename, lineno, name = frame[0][:500], max(1, min(frame[1], 100_000)), frame[2][:200]
        code = compile("\n" * (lineno - 1) + "raise __bam_error__", filename, "exec")
        if name.isidentifier():
            code = code.replace(co_name=name)
        namespace = {"__bam_error__": error, "__name__": "student", "__tracebackhide__": False}
        try:
            exec(code, namespace)
        except BaseException:
            here = sys.exc_info()[2]
            made = here.tb_next if here is not None else None
            if made is not None:
                tb = types.TracebackType(tb, made.tb_frame, made.tb_lasti, made.tb_lineno)
    error.__traceback__ = None
    return tb


def _apply_copy(target: Any, copy: dict) -> None:
    """Copies an argument's new state (from the worker) into the grader's object."""
    if isinstance(target, torch.optim.Optimizer):
        state = copy.get("optimizer")
        if isinstance(state, dict):
            target.load_state_dict(state)
        return
    with torch.no_grad():
        for name, (value, requires_grad, grad) in copy.get("params", {}).items():
            parameter = target.get_parameter(name)
            parameter.data = value.to(parameter.dtype)
            parameter.requires_grad_(bool(requires_grad))
            parameter.grad = None if grad is None else grad.to(parameter.dtype)
        for name, value in copy.get("buffers", {}).items():
            buffer = target.get_buffer(name)
            if buffer is not None:
                buffer.data = value.to(buffer.dtype)
        modules = dict(target.named_modules())
        for name, training in copy.get("flags", {}).items():
            if name in modules:
                modules[name].training = bool(training)


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


# ============================================================================ the worker's side


class _GraderCallable:
    """A check's function that stays in the grader; calling it asks the grader to run it."""

    def __init__(self, serve: _Serve, index: int) -> None:
        self.serve, self.index = serve, index

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        serve = self.serve
        inputs = _grad_tensors((args, kwargs)) if torch.is_grad_enabled() else []
        box: dict = {}

        def run() -> tuple[list, list, Any]:
            serve.send({"op": "callback", "cb": self.index, "args": list(args), "kwargs": kwargs})
            reply = serve.wait()
            if reply[0] == "err":
                box["error"] = reply
                return [], [], None
            _, result, gid, diff = reply
            box["result"] = result
            flat = _flat_tensors(result)
            if len(diff) != len(flat):
                diff = [False] * len(flat)

            def vjp(grads: list) -> list:
                serve.send({"op": "cbvjp", "gid": gid, "grads": grads})
                answer = serve.wait()
                if answer[0] == "err":
                    raise RuntimeError(f"the check's function could not backpropagate: {answer[2]}")
                return answer[1]

            vjp.inputs = len(inputs)
            return [t.detach() for t in flat], [bool(d) and gid is not None for d in diff], vjp

        if inputs:
            outputs = bridged(inputs, run)
        else:
            outputs, _, _ = run()
        if "error" in box:
            _, name, message = box["error"]
            raise BUILTIN_ERRORS.get(name, RuntimeError)(message)
        result = box["result"]
        return _replace_tensors(result, iter(outputs)) if inputs else result


class _WorkerUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, serve: _Serve, call: dict) -> None:
        super().__init__(file)
        self.serve, self.call = serve, call
        self.tensors: dict[int, torch.Tensor] = {}

    def persistent_load(self, pid: Any) -> Any:
        tag = pid[0]
        if tag == "R":
            _, index, dtype_name, shape, data, requires_grad, kind, grad = pid
            value = _unraw(dtype_name, shape, data)
            if kind == "P":
                value = nn.Parameter(value, requires_grad=requires_grad)
            elif requires_grad:
                value.requires_grad_(True)
            if grad is not None and value.requires_grad:
                value.grad = _unraw(*grad)
            self.tensors[index] = value
            return value
        if tag == "r":
            return self.tensors[pid[1]]
        if tag == "T":
            return pid[1].requires_grad_(pid[2]) if pid[2] else pid[1]
        if tag == "G":
            generator = torch.Generator(device=pid[3])
            generator.set_state(pid[2])
            self.call.setdefault("generators", {})[pid[1]] = generator
            return generator
        if tag == "H":
            return self.serve.handles[pid[1]]
        if tag == "C":
            return _GraderCallable(self.serve, pid[1])
        raise pickle.UnpicklingError(f"unknown persistent id {tag!r}")


class _Serve:
    """The worker's loop: one request at a time, answers in the data-only format."""

    def __init__(self, sock: socket.socket, package: str, mutant: str | None, output: Any) -> None:
        self.sock, self.package, self.mutant, self.output = sock, package, mutant, output
        self.handles: dict[int, Any] = {}
        self.next_handle = 0
        self.graphs: OrderedDict[int, tuple[list, list]] = OrderedDict()
        self.next_graph = 0
        self.modules: dict[str, Any] = {}
        self.call: dict = {}

    # ---------------------------------------------------------------- plumbing

    def send(self, message: dict) -> None:
        hits = _mutation_hits()
        if hits:
            message = {**message, "mutmut_hits": hits}
        message = from_scratch.attach(message)  # the library calls student code made
        try:
            payload = wire.encode(message, self._special_encode)
        except wire.NotData as error:
            payload = wire.encode({"op": "not_data", "message": str(error)})
        wire.send_frame(self.sock, b"W", payload)

    def receive(self) -> Any:
        _, payload = wire.recv_frame(self.sock)
        call: dict = {}
        message = _WorkerUnpickler(io.BytesIO(payload), self, call).load()
        return message, call

    def wait(self) -> Any:
        """Waits for the grader's reply to a callback, serving nested requests meanwhile."""
        while True:
            message, call = self.receive()
            if message[0] in ("ret", "err"):
                return message
            self.handle(message, call)

    def run(self) -> None:
        while True:
            try:
                message, call = self.receive()
            except (EOFError, OSError):
                return
            self.handle(message, call)

    def take_output(self) -> tuple[str, int]:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(Exception):
            size = os.fstat(self.output.fileno()).st_size
            if size == 0:
                return "", 0
            os.lseek(self.output.fileno(), 0, os.SEEK_SET)
            data = os.read(self.output.fileno(), OUTPUT_LIMIT * 4)
            os.ftruncate(self.output.fileno(), 0)
            os.lseek(self.output.fileno(), 0, os.SEEK_SET)
            text = data.decode("utf-8", "replace")[:OUTPUT_LIMIT]
            return text, max(0, size - len(text.encode("utf-8", "replace")))
        return "", 0

    def answer(self, message: dict) -> None:
        text, more = self.take_output()
        message["out"], message["more"] = text, more
        self.send(message)

    # ---------------------------------------------------------------- encoding answers

    def _special_encode(self, encoder: wire.Encoder, value: Any, depth: int) -> Any:
        if isinstance(value, nn.Module):
            return {"M": self._describe_module(encoder, value, depth)}
        if isinstance(value, torch.Tensor) and id(value) in self.call.get("param_refs", {}):
            return {"PR": list(self.call["param_refs"][id(value)])}
        if isinstance(value, _ErrorBox):
            return {"E": value.spec}
        if type(value).__module__.startswith("albumentations.") and hasattr(value, "to_dict"):
            import albumentations

            try:
                spec = albumentations.to_dict(value)
            except Exception as error:
                raise wire.NotData(
                    f"an albumentations pipeline that cannot be described ({error})"
                ) from None
            return {"AL": encoder.encode(spec, depth + 1)}
        return None

    def _describe_module(self, encoder: wire.Encoder, module: nn.Module, depth: int) -> dict:
        hid = self.next_handle
        self.next_handle += 1
        self.handles[hid] = module
        kind = type(module)
        native = kind.__module__.startswith("torch.nn.modules.")
        attrs = []
        for key, value in vars(module).items():
            if key in _MODULE_INTERNALS or key.startswith("__"):
                continue
            try:
                attrs.append([key, encoder.encode(value, depth + 2)])
            except wire.NotData:
                native = False  # a torch layer carrying something else: run it here instead
        methods = [
            name
            for name in dir(kind)
            if not name.startswith("_")
            and not hasattr(nn.Module, name)
            and callable(getattr(kind, name, None))
        ]
        children = [
            [
                name,
                None if child is None else {"M": self._describe_module(encoder, child, depth + 1)},
            ]
            for name, child in module._modules.items()
        ]
        return {
            "hid": hid,
            "cls": [kind.__module__, kind.__qualname__],
            "name": kind.__name__,
            "native": native,
            "methods": {"L": methods},
            "training": bool(module.training),
            "attrs": {"D": attrs},
            "params": {
                "D": [
                    [name, None if p is None else encoder.tensor(p)]
                    for name, p in module._parameters.items()
                ]
            },
            "buffers": {
                "D": [
                    [name, None if b is None else encoder.tensor(b)]
                    for name, b in module._buffers.items()
                ]
            },
            "persistent": {
                "L": [n for n in module._buffers if n not in module._non_persistent_buffers_set]
            },
            "children": {"D": children},
        }

    # ---------------------------------------------------------------- lessons

    def module(self, lesson: str) -> Any:
        if lesson in self.modules:
            return self.modules[lesson]
        import importlib

        module = importlib.import_module(f"{self.package}.{lesson}")
        if self.mutant:
            _graft_mutant(self.mutant, lesson, module)
        self.modules[lesson] = module
        return module

    def import_failure(self, lesson: str, error: BaseException) -> dict:
        path = f"{self.package}/{lesson}.py"
        name = f"{self.package}.{lesson}"
        if isinstance(error, ModuleNotFoundError) and error.name == name:
            return {"op": "import_error", "message": f"{path} does not exist"}
        if isinstance(error, SystemExit):
            return {
                "op": "import_error",
                "message": f"{path} called sys.exit({error.code}) while being imported;"
                " remove it (a lesson module must only define things)",
            }
        return {
            "op": "import_error",
            "message": f"{path} could not be imported: {type(error).__name__}: {error}",
            "error": _ErrorBox(error),
        }

    # ---------------------------------------------------------------- requests

    def handle(self, message: tuple, call: dict) -> None:
        op, options = message[0], message[-1]
        for hid in options.get("release", ()):
            self.handles.pop(hid, None)
        for gid in options.get("release_graphs", ()):
            self.graphs.pop(gid, None)
        try:
            if op == "get":
                self.handle_get(message[1], message[2])
            elif op == "call":
                self.handle_call(*message[1:], call)
            elif op == "vjp":
                self.handle_vjp(message[1], message[2])
            else:
                self.answer({"op": "protocol", "message": f"unknown request {op!r}"})
        except BaseException as error:  # everything a student can raise
            self.answer({"op": "raise", "error": _ErrorBox(error)})

    def handle_get(self, lesson: str, name: str) -> None:
        try:
            module = self.module(lesson)
        except BaseException as error:
            self.answer(self.import_failure(lesson, error))
            return
        if not hasattr(module, name):
            self.answer({"op": "ok", "value": {"kind": "missing"}})
            return
        target = getattr(module, name)
        if inspect.isclass(target):
            info = {"kind": "class", "name": target.__name__, "doc": target.__doc__ or ""}
        elif callable(target):
            try:
                parameters = list(inspect.signature(target).parameters)
            except (TypeError, ValueError):
                parameters = []
            info = {
                "kind": "function",
                "name": getattr(target, "__name__", name),
                "doc": getattr(target, "__doc__", None) or "",
                "parameters": parameters,
            }
        else:
            try:
                wire.encode(target)
                info = {"kind": "data", "value": target}
            except wire.NotData as error:
                info = {"kind": "other", "type": str(error)}
        self.answer({"op": "ok", "value": info})

    @contextlib.contextmanager
    def references(self, references: dict) -> Any:
        saved = []
        try:
            for lesson, replacements in references.items():
                module = self.module(lesson)
                for name, reference in replacements.items():
                    saved.append((module, name, getattr(module, name)))
                    setattr(module, name, from_scratch.sanctioned(reference))
            yield
        finally:
            for module, name, original in reversed(saved):
                setattr(module, name, original)

    def handle_call(
        self, target: tuple, args: tuple, kwargs: dict, options: dict, call: dict
    ) -> None:
        from checks import harness

        self.call = call
        torch.set_rng_state(options["rng"])
        module = None
        if target[0] == "attr":
            function = getattr(self.module(target[1]), target[2])
        else:
            module = self.handles[target[1]]
            self._apply_push(module, options.get("push") or {})
            if target[2] == "forward":
                function = module
            elif target[2] == "__deepcopy__":
                import copy

                function = functools.partial(copy.deepcopy, module)
            else:
                function = getattr(module, target[2])
        arguments = dict([*enumerate(args), *kwargs.items()])
        refs: dict[int, tuple] = {}
        for key in options.get("copy_back", []):
            value = arguments.get(key)
            if isinstance(value, nn.Module):
                for name, parameter in value.named_parameters():
                    refs[id(parameter)] = (key, name)
        call["param_refs"] = refs
        inputs = _grad_tensors((args, kwargs)) if options["graph"] else []
        if module is not None and options["graph"]:
            named = dict(module.named_parameters())
            inputs += [named[name] for name in options["param_names"]]
        before = None
        if options.get("watch"):
            before = (
                [harness._snapshot(arg) for arg in args],
                {key: harness._snapshot(arg) for key, arg in kwargs.items()},
            )
        versions = _versions(module) if module is not None else None
        with self.references(options.get("refs") or {}), torch.set_grad_enabled(options["grad"]):
            started = time.perf_counter()
            result = function(*args, **kwargs)
            seconds = time.perf_counter() - started
        reply: dict = {"op": "ok", "value": result, "seconds": seconds}
        if before is not None:
            changed = _changed_argument(before, args, kwargs)
            if changed is not None:
                reply = {"op": "inplace", "argument": changed}
        if options["graph"] and reply["op"] == "ok":
            flat = []
            _collect_answer_tensors(result, flat, refs)
            diff = [t.requires_grad and t.grad_fn is not None for t in flat]
            reply["diff"] = diff
            outputs = [t for t, d in zip(flat, diff, strict=True) if d]
            if outputs:
                gid = self.next_graph
                self.next_graph += 1
                self.graphs[gid] = (inputs, outputs)
                while len(self.graphs) > KEPT_GRAPHS:
                    self.graphs.popitem(last=False)
                reply["gid"] = gid
        state = torch.get_rng_state()
        if not torch.equal(state, options["rng"]):  # unchanged: the grader's stays as it is
            reply["rng"] = state
        generators = call.get("generators", {})
        if generators:
            reply["gens"] = [generators[i].get_state() for i in sorted(generators)]
        copies = {}
        for key in options.get("copy_back", []):
            value = arguments.get(key)
            if isinstance(value, nn.Module):
                copies[key] = {
                    "params": {
                        name: (
                            p.detach(),
                            p.requires_grad,
                            None if p.grad is None else p.grad.detach(),
                        )
                        for name, p in value.named_parameters()
                    },
                    "buffers": {name: b.detach() for name, b in value.named_buffers()},
                    "flags": {name: m.training for name, m in value.named_modules()},
                }
            elif isinstance(value, torch.optim.Optimizer):
                copies[key] = {"optimizer": value.state_dict()}
        if copies:
            reply["copies"] = copies
        if module is not None:
            reply["changed"] = _changed_state(module, versions)
        try:
            self.answer(reply)
        except wire.NotData as error:  # pragma: no cover - send() turns it into not_data
            self.answer({"op": "not_data", "message": str(error)})

    def _apply_push(self, module: nn.Module, push: dict) -> None:
        with torch.no_grad():
            for name, (value, requires_grad) in push.get("params", {}).items():
                parameter = module.get_parameter(name)
                parameter.data = value
                parameter.requires_grad_(requires_grad)
            for name, value in push.get("buffers", {}).items():
                owner, _, leaf = name.rpartition(".")
                (module.get_submodule(owner) if owner else module)._buffers[leaf] = value
        modules = dict(module.named_modules())
        for name, training in push.get("flags", {}).items():
            if name in modules:
                modules[name].training = training

    def handle_vjp(self, gid: int, grads: list) -> None:
        graph = self.graphs.get(gid)
        if graph is None:
            raise RuntimeError(
                "backward() through a computation the grading process no longer keeps"
                f" (it keeps the last {KEPT_GRAPHS})"
            )
        inputs, outputs = graph
        pairs = [(o, g) for o, g in zip(outputs, grads, strict=True) if g is not None]
        result = torch.autograd.grad(
            [o for o, _ in pairs],
            inputs,
            [g.to(o.dtype) for o, g in pairs],
            allow_unused=True,
            retain_graph=True,
        )
        self.answer({"op": "ok", "value": [None if g is None else g.detach() for g in result]})


class _ErrorBox:
    """An exception described in data: its type's names, message and the frames it went through."""

    def __init__(self, error: BaseException) -> None:
        frames = [
            [frame.filename, frame.lineno or 1, frame.name]
            for frame in traceback.extract_tb(error.__traceback__)
            if os.path.abspath(frame.filename) not in PLUMBING
        ]
        try:
            message = str(error)
        except Exception:  # a student's __str__ may raise
            message = "(an error whose message could not be read)"
        self.spec = {
            "type": f"{type(error).__module__}.{type(error).__qualname__}".removeprefix(
                "builtins."
            ),
            "mro": [kind.__name__ for kind in type(error).__mro__],
            "message": message[:4000],
            "frames": frames[-40:],  # raw JSON: [file, line, function] each
        }
        if isinstance(error, SystemExit):
            code = error.code
            self.spec["code"] = code if type(code) in (int, str) or code is None else str(code)


def _collect_answer_tensors(value: Any, found: list, skip: dict) -> None:
    """The tensors of an answer in the order ``wire`` encodes them (and the grader decodes them)."""
    if isinstance(value, nn.Module):
        return
    if isinstance(value, torch.Tensor):
        if id(value) not in skip:
            found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_answer_tensors(item, found, skip)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_answer_tensors(item, found, skip)


def _versions(module: nn.Module) -> dict[str, tuple[int, int]]:
    state = {"p." + n: (id(p), p._version) for n, p in module.named_parameters()}
    state.update({"b." + n: (id(b), b._version) for n, b in module.named_buffers()})
    return state


def _changed_state(module: nn.Module, before: dict) -> dict:
    params = {
        n: p.detach()
        for n, p in module.named_parameters()
        if before.get("p." + n) != (id(p), p._version)
    }
    buffers = {
        n: b.detach()
        for n, b in module.named_buffers()
        if before.get("b." + n) != (id(b), b._version)
    }
    return {"params": params, "buffers": buffers}


def _changed_argument(before: tuple, args: tuple, kwargs: dict) -> Any:
    from checks import harness

    before_args, before_kwargs = before
    for position, (snapshot, arg) in enumerate(zip(before_args, args, strict=True)):
        if harness._changed(snapshot, arg):
            return position
    for key, snapshot in before_kwargs.items():
        if harness._changed(snapshot, kwargs[key]):
            return key
    return None


def _graft_mutant(path: str, lesson: str, module: Any) -> None:
    """(course tests) Puts a known mistake's functions over the graded module's (``--mutant``)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(f"bam_mutant_{Path(path).stem}", path)
    mutant = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutant)
    if str(getattr(mutant, "EXERCISE", "")).split(".", 1)[0] != lesson:
        return
    for name, value in vars(mutant).items():
        if (
            not name.startswith("_")
            and getattr(value, "__module__", None) == mutant.__name__
            and hasattr(module, name)
        ):
            setattr(module, name, value)


def spawned_main() -> None:
    """A spawned worker (not forked): connects back, imports what the grader has, then serves."""
    import importlib

    port, token = os.environ.pop("BAM_WORKER_CONNECT").split(":")
    sock = socket.create_connection(("127.0.0.1", int(port)))
    sock.sendall(token.encode())
    _, payload = wire.recv_frame(sock)
    setup = pickle.loads(payload)  # from the grader, which this process trusts
    for name in setup["modules"]:  # the checks: references are sent by their names
        if name != "checks.conftest":
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    _worker_main(sock, setup["package"], setup["mutant"], None, forked=False)


def _worker_main(
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
    keep = sock.fileno()
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
    _Serve(sock, package, mutant, output).run()


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
