"""The worker's loop: one request at a time from the grader, answers in the data-only format.

Runs in the worker process (set up by ``checks.worker.sandbox``), where student code runs. A
request (``get``: import a lesson and describe one of its names; ``call``: run a function, a
class or a method of a module it built; ``vjp``: backpropagate through a graph it kept) arrives
as a pickle from the grader, which this side trusts. Every answer goes back through
``checks.wire``'s encoder, which refuses anything but data; whatever student code raises,
including ``SystemExit``, becomes a described error (``answers.ErrorBox``) and the loop goes on.

Trusts: the grader's requests. Nothing here is trusted by the grader: a student can change any of
it in this process, which only changes the answers the grader then checks.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import importlib.util
import inspect
import io
import os
import socket
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from checks import from_scratch, wire
from checks.worker import answers, inplace, mirrors
from checks.worker.bridge import KEPT_GRAPHS, answer_tensors, grad_tensors
from checks.worker.transport import WorkerUnpickler, mutation_hits

OUTPUT_LIMIT = 4000  # characters of a call's print output brought back to the grader


class Serve:
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
        hits = mutation_hits()
        if hits:
            message = {**message, "mutmut_hits": hits}
        message = from_scratch.attach(message)  # the library calls student code made
        try:
            payload = wire.encode(message, self._special_encode)
        except wire.NotData as error:
            payload = wire.encode({"op": "not_data", "message": str(error)})
        wire.send_frame(self.sock, b"W", payload)

    def _special_encode(self, encoder: wire.Encoder, value: Any, depth: int) -> Any:
        return answers.encode_special(self, encoder, value, depth)

    def receive(self) -> Any:
        _, payload = wire.recv_frame(self.sock)
        call: dict = {}
        message = WorkerUnpickler(io.BytesIO(payload), self, call).load()
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

    # ---------------------------------------------------------------- lessons

    def module(self, lesson: str) -> Any:
        if lesson in self.modules:
            return self.modules[lesson]
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
            "error": answers.ErrorBox(error),
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
            self.answer({"op": "raise", "error": answers.ErrorBox(error)})

    def handle_get(self, lesson: str, name: str) -> None:
        try:
            module = self.module(lesson)
        except BaseException as error:
            self.answer(self.import_failure(lesson, error))
            return
        if not hasattr(module, name):
            self.answer({"op": "ok", "value": {"kind": "missing"}})
            return
        self.answer({"op": "ok", "value": _describe(getattr(module, name), name)})

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
        self.call = call
        torch.set_rng_state(options["rng"])
        function, module = self._target(target, options)
        arguments = dict([*enumerate(args), *kwargs.items()])
        refs: dict[int, tuple] = {}
        for key in options.get("copy_back", []):
            value = arguments.get(key)
            if isinstance(value, nn.Module):
                for name, parameter in value.named_parameters():
                    refs[id(parameter)] = (key, name)
        call["param_refs"] = refs
        inputs = grad_tensors((args, kwargs)) if options["graph"] else []
        if module is not None and options["graph"]:
            named = dict(module.named_parameters())
            inputs += [named[name] for name in options["param_names"]]
        before = inplace.snapshot_arguments(args, kwargs) if options.get("watch") else None
        versions = mirrors.versions(module) if module is not None else None
        with self.references(options.get("refs") or {}), torch.set_grad_enabled(options["grad"]):
            started = time.perf_counter()
            result = function(*args, **kwargs)
            seconds = time.perf_counter() - started
        reply: dict = {"op": "ok", "value": result, "seconds": seconds}
        if before is not None:
            changed = inplace.changed_argument(before, args, kwargs)
            if changed is not None:
                reply = {"op": "inplace", "argument": changed}
        if options["graph"] and reply["op"] == "ok":
            self._keep_graph(reply, result, inputs, refs)
        self._add_state(reply, options, call, arguments, module, versions)
        try:
            self.answer(reply)
        except wire.NotData as error:  # pragma: no cover - send() turns it into not_data
            self.answer({"op": "not_data", "message": str(error)})

    def _target(self, target: tuple, options: dict) -> tuple[Any, nn.Module | None]:
        """What a call runs (a lesson's name, or a method of a module built here) and that module."""
        if target[0] == "attr":
            return getattr(self.module(target[1]), target[2]), None
        module = self.handles[target[1]]
        mirrors.apply_push(module, options.get("push") or {})
        if target[2] == "forward":
            return module, module
        if target[2] == "__deepcopy__":
            return functools.partial(copy.deepcopy, module), module
        return getattr(module, target[2]), module

    def _keep_graph(self, reply: dict, result: Any, inputs: list, refs: dict) -> None:
        """Keeps the autograd graph of the answer's differentiable tensors for a later ``vjp``."""
        flat: list = []
        answer_tensors(result, flat, refs)
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

    def _add_state(
        self,
        reply: dict,
        options: dict,
        call: dict,
        arguments: dict,
        module: nn.Module | None,
        versions: dict | None,
    ) -> None:
        """What the grader copies back after a call: RNG, generators, argument models, mirror."""
        state = torch.get_rng_state()
        if not torch.equal(state, options["rng"]):  # unchanged: the grader's stays as it is
            reply["rng"] = state
        generators = call.get("generators", {})
        if generators:
            reply["gens"] = [generators[i].get_state() for i in sorted(generators)]
        copies = mirrors.argument_copies(arguments, options.get("copy_back", []))
        if copies:
            reply["copies"] = copies
        if module is not None:
            reply["changed"] = mirrors.changed_state(module, versions)

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


def _describe(target: Any, name: str) -> dict:
    """What a lesson's name is, for the grader: a class, a function (and its parameters), data."""
    if inspect.isclass(target):
        return {"kind": "class", "name": target.__name__, "doc": target.__doc__ or ""}
    if callable(target):
        try:
            parameters = list(inspect.signature(target).parameters)
        except (TypeError, ValueError):
            parameters = []
        return {
            "kind": "function",
            "name": getattr(target, "__name__", name),
            "doc": getattr(target, "__doc__", None) or "",
            "parameters": parameters,
        }
    try:
        wire.encode(target)
        return {"kind": "data", "value": target}
    except wire.NotData as error:
        return {"kind": "other", "type": str(error)}


def _graft_mutant(path: str, lesson: str, module: Any) -> None:
    """(course tests) Puts a known mistake's functions over the graded module's (``--mutant``)."""
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
