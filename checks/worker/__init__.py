"""Student code runs in a worker process; checks, oracles and verdicts stay in the grader.

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

The modules, in the order they depend on each other (none imports ``checks.harness``; the
exceptions come from ``checks.errors``):

* ``inplace`` (worker): snapshots of the arguments, to see an in-place edit;
* ``bridge`` (both): the autograd bridge, and a check's local function called back;
* ``transport`` (both): requests as pickles, grader -> worker (tensors as raw bytes);
* ``mirrors`` (both): mirrors of the worker's modules, and the state copied across calls;
* ``answers`` (both): an answer's tagged nodes: mirrors, parameters, errors, pipelines;
* ``server`` (worker): the worker's request loop, ``Serve``;
* ``sandbox`` (worker): the worker's set-up (isolation, limits, privilege drop), then serve;
* ``processes`` (grader): starting, killing and sweeping workers; why one ended, in words;
* ``grader`` (grader): ``Worker``, the grader's end: requests, deadlines, answers, callbacks.
"""

from checks.errors import GradingProcessEnded, InPlaceEdit
from checks.worker.grader import Worker
from checks.worker.processes import kill_user_processes
from checks.worker.sandbox import spawned_main

__all__ = ["GradingProcessEnded", "InPlaceEdit", "Worker", "kill_user_processes", "spawned_main"]
