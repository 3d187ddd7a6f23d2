"""The grader's end of the worker: requests out, answers in, with deadlines and clear failures.

``Worker`` (what ``checks.harness`` calls through) sends a request (``describe`` a lesson's name,
``call`` a function, a class or a mirror's method), serves the worker's callbacks to a check's
local function meanwhile, and turns the answer into what the check gets: data, mirrors, the
grader's own parameters of an argument, or the student's exception rebuilt with their frames.
Each wait has a deadline: the check's time limit, counted only while student code runs and only
until the check has found a failure. A worker that breaks the protocol, crashes or runs past its
deadline is killed (and replaced at the next call); only the check that was running fails.

Trusts nothing from the worker: answers are decoded from ``checks.wire``'s data-only format and
every field is type-checked before use.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import select
import sys
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from checks import from_scratch, wire
from checks.errors import CheckFailed, CheckTimedOut, GradingProcessEnded, InPlaceEdit
from checks.worker import answers, mirrors
from checks.worker.bridge import (
    KEPT_GRAPHS,
    NoGraph,
    bridged,
    flat_tensors,
    grad_tensors,
    replace_tensors,
)
from checks.worker.processes import WorkerProcess
from checks.worker.transport import GraderPickler, record_mutation_hits


def _no_references() -> dict:
    return {}


class Worker(WorkerProcess):
    """The grader's end of the worker: starts it, talks to it, replaces it when it dies.

    Args:
        package: the package graded (``lessons``, ``solutions`` or another copy).
        mutant: a known mistake's file grafted over the graded module (course tests).
        references: what callee references are in force now (for a mirror's method calls).
    """

    def __init__(
        self,
        package: str,
        mutant: str | None = None,
        references: Callable[[], dict] = _no_references,
    ) -> None:
        super().__init__(package, mutant)
        self.references = references
        self.released: list[int] = []
        self.released_graphs: list[int] = []
        self.synced: dict[int, dict[str, tuple[int, int]]] = {}
        self.graphs: dict[int, Any] = OrderedDict()
        self.next_graph = 0
        self.describe_cache: dict[tuple[str, str], dict] = {}
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

    def start(self) -> None:
        super().start()
        self.synced.clear()
        self.graphs.clear()
        self.released.clear()
        self.released_graphs.clear()

    def check_generation(self, generation: int, obj: Any) -> None:
        if generation != self.generation or self.sock is None:
            raise CheckFailed(
                f"this {type(obj).__name__} was built by a grading process that has since ended"
                " (an earlier call crashed it or ran out of time); build it again"
            )

    # ---------------------------------------------------------------- talking

    def _send(self, message: Any, call: dict | None = None) -> None:
        buffer = io.BytesIO()
        GraderPickler(buffer, self, call if call is not None else {}).dump(message)
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
            record_mutation_hits(message.pop("mutmut_hits", None))
            op = message.get("op")
            if op == "callback":
                self._serve_callback(message, call)
            elif op == "cbvjp":
                self._serve_callback_vjp(message)
            else:
                return message

    def _receive(self, what: str | None) -> dict:
        __tracebackhide__ = True
        kind, payload = self._receive_frame(what)
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

    def _receive_frame(self, what: str | None) -> tuple[bytes, bytes]:
        """The next frame from the worker, waiting no longer than the deadline."""
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
            return wire.recv_frame(self.sock)
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

    def _crashed(self, what: str | None) -> None:
        __tracebackhide__ = True
        reason = self.ended()
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
        return answers.decode_special(self, decoder, node, depth)

    def release_handle(self, hid: int, generation: int) -> None:
        """A mirror was collected: the worker may forget its module (told with the next request)."""
        if generation == self.generation:
            self.released.append(hid)

    def _resolve(self, value: Any, arguments: dict) -> Any:
        """Parameter references and refusals inside an answer, turned into what they mean."""
        if isinstance(value, answers.Refused):
            raise CheckFailed(f"{self.exercise} returned {value.what}")
        if isinstance(value, answers.ParamRef):
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

    def _error(self, spec: Any) -> BaseException:
        """The exception a student's code raised in the worker, rebuilt with its traceback."""
        return answers.rebuild_error(spec)

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
        inputs, options = self._call_options(args, kwargs, references, watch, module)
        arguments = {
            index: value
            for index, value in [*enumerate(args), *kwargs.items()]
            if isinstance(value, (nn.Module, torch.optim.Optimizer))
            and "_bam_hid" not in getattr(value, "__dict__", {})
        }
        options["copy_back"] = list(arguments)
        if module is not None:
            options["push"] = mirrors.push_state(self.synced.setdefault(hid, {}), module)
        call: dict = {}
        box: dict = {}

        def run() -> tuple[list, list, Any]:
            message = self.exchange(("call", target, args, kwargs, options), call, what)
            box["message"] = message
            if message.get("op") != "ok":
                return [], [], None
            flat = flat_tensors(message.get("value"))
            differentiable = message.get("diff") or [False] * len(flat)
            if len(differentiable) != len(flat):
                raise GradingProcessEnded("the grading process broke the gradient protocol")
            outputs = [tensor.detach() for tensor in flat]
            gid = message.get("gid")
            return outputs, [bool(d) for d in differentiable], self._vjp_function(gid, inputs)

        outputs = bridged(inputs, run) if inputs else run()[0]
        message = box["message"]
        reported = message.get("seconds")
        self.last_call_seconds = float(reported) if isinstance(reported, float) else None
        self._after_call(message, call, arguments, module)
        return self._answer(message, arguments, inputs, outputs, what)

    def _call_options(
        self,
        args: tuple,
        kwargs: dict,
        references: dict,
        watch: bool,
        module: nn.Module | None,
    ) -> tuple[list[torch.Tensor], dict]:
        """The tensors a call differentiates through (arguments, then the mirror's parameters)
        and the request's options (``copy_back`` and ``push`` are added by ``call``)."""
        grad = torch.is_grad_enabled()
        arg_inputs = grad_tensors((args, kwargs)) if grad else []
        param_names: list[str] = []
        param_inputs: list[torch.Tensor] = []
        if module is not None and grad:
            for name, parameter in module.named_parameters():
                if parameter.requires_grad:
                    param_names.append(name)
                    param_inputs.append(parameter)
        inputs = arg_inputs + param_inputs
        options = {
            "refs": references,
            "grad": grad,
            "graph": bool(inputs),
            "arg_grads": len(arg_inputs),
            "param_names": param_names,
            "rng": torch.get_rng_state(),
            "watch": watch,
        }
        return inputs, options

    def _answer(
        self, message: dict, arguments: dict, inputs: list, outputs: list, what: str | None
    ) -> Any:
        """The value of a call's answer, or the failure it stands for."""
        __tracebackhide__ = True
        if message.get("op") == "raise":
            self.failure_seen = True  # the check may expect it; its time limit stops counting
            raise self._error(message.get("error"))
        if message.get("op") == "not_data":
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
            value = replace_tensors(value, iter(outputs))
        return self._resolve(value, arguments)

    def call_method(self, module: nn.Module, method: str, args: tuple, kwargs: dict) -> Any:
        __tracebackhide__ = True
        hid, _ = module.__dict__["_bam_hid"]
        what = f"{type(module).__name__}.{method}"
        return self.call(
            ("handle", hid, method),
            args,
            kwargs,
            self.references(),
            module=module,
            what=what,
        )

    def _vjp_function(self, gid: Any, inputs: list[torch.Tensor]) -> Any:
        worker, generation = self, self.generation
        if type(gid) is not int:
            return NoGraph(len(inputs))

        def vjp(grads: list) -> list:
            __tracebackhide__ = True
            if generation != worker.generation or worker.sock is None:
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
                        mirrors.apply_copy(target, copy)
        if module is not None and isinstance(message.get("changed"), dict):
            hid, _ = module.__dict__["_bam_hid"]
            mirrors.copy_into_mirror(module, message["changed"], self.synced.setdefault(hid, {}))

    # ---------------------------------------------------------------- callbacks

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
            leaves = grad_tensors((args, kwargs))
            with torch.enable_grad():
                result = callbacks[index](*args, **kwargs)
            flat = flat_tensors(result)
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
