"""``fit``: the one training loop of every pipeline, flat like nanoGPT's ``train.py``.

A pipeline hands ``fit`` a :class:`Recipe`. Per optimiser step ``fit`` sets the learning rate
(``torch.optim.lr_scheduler.LambdaLR`` over the recipe's pure ``lr_factor(step)``), seeds
torch's global generator from ``(seed, epoch, batch, rank)`` (so samplers inside the model
repeat after a resume), builds the batch with ``recipe.batch(epoch, index)`` and trains on it
with ``recipe.step``. Per epoch it averages the losses (over ``torchrun`` processes too), asks
``recipe.evaluate`` for the metrics (process 0), saves the checkpoint and the metrics, and
logs one line. A checkpoint every ``checkpoint_every`` batches, and on Ctrl-C, lets a run
resume mid-epoch with nothing lost: batches are a function of ``(epoch, index)`` alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bam.train.runs import Distributed, load_checkpoint, save_checkpoint, write_json

CHECKPOINT = "checkpoint.pt"


@dataclass
class Recipe:
    """Everything that differs between pipelines.

    Attributes:
        model: the module whose weights are trained and checkpointed.
        optimizer: its optimiser (its ``lr`` is the peak the factor scales).
        epochs: epochs of the whole run.
        steps_per_epoch: batches per epoch (per process under ``torchrun``).
        batch: ``(epoch, index) -> batch`` (0-based), a function of its arguments alone; ``None``
            skips that step.
        step: trains on one batch (forward, backward, ``optimizer.step()``) and returns its
            losses as floats, ``{"loss": ...}`` or several named terms.
        evaluate: ``(epoch, record) -> metrics`` after each epoch (1-based; ``record`` holds the
            epoch's mean losses), on process 0 only.
        lr_factor: ``step -> factor`` of the optimiser's learning rate (0-based global step).
        describe: ``record -> str``: the epoch's log line.
        after_epoch: ``(history) -> None`` after the epoch's checkpoint (figures, exports).
        seed: the run's seed.
        keep_steps: also record each step's losses in the epoch's record (``"steps"``).
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    epochs: int
    steps_per_epoch: int
    batch: Callable[[int, int], Any]
    step: Callable[[Any], dict[str, float]]
    evaluate: Callable[[int, dict[str, Any]], dict[str, Any]]
    lr_factor: Callable[[int], float] = lambda step: 1.0
    describe: Callable[[dict[str, Any]], str] = lambda record: f"epoch {record['epoch']}"
    after_epoch: Callable[[list[dict[str, Any]]], None] | None = None
    seed: int = 0
    keep_steps: bool = False


@dataclass
class LoopState:
    """Where a run stands: what a checkpoint restores besides the weights."""

    epoch: int = 0  # epochs finished
    batch: int = 0  # batches finished in the current epoch
    step_losses: list[dict[str, float]] = field(default_factory=list)  # of the current epoch
    history: list[dict[str, Any]] = field(default_factory=list)  # one record per epoch


def step_seed(seed: int, epoch: int, batch: int, rank: int = 0) -> int:
    """The seed of torch's global generator for one step (samplers inside the model use it)."""
    return (seed * 1_000_003 + epoch * 10_007 + batch * 101 + rank) % (2**62)


def checkpoint_state(recipe: Recipe, schedule: Any, state: LoopState) -> dict[str, Any]:
    return {
        "model": recipe.model.state_dict(),
        "optimizer": recipe.optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        **asdict(state),
    }


def restore(recipe: Recipe, path: Path) -> tuple[LoopState, dict[str, Any]]:
    """Loads the weights, optimiser and loop state of the checkpoint at ``path``."""
    saved = load_checkpoint(path)
    recipe.model.load_state_dict(saved["model"])
    recipe.optimizer.load_state_dict(saved["optimizer"])
    state = LoopState(
        int(saved["epoch"]), int(saved["batch"]), saved["step_losses"], saved["history"]
    )
    return state, saved["schedule"]


def _resume(
    recipe: Recipe, checkpoint: Path | None, schedule: Any, log: Callable[[str], None]
) -> LoopState:
    if checkpoint is None:
        raise ValueError("resume needs a checkpoint path")
    state, schedule_state = restore(recipe, checkpoint)
    schedule.load_state_dict(schedule_state)
    log(f"resuming {checkpoint.parent} after epoch {state.epoch}, batch {state.batch}")
    return state


def _progress(total: int, initial: int, description: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, desc=description, disable=not enabled, leave=False,
        dynamic_ncols=True,
    )  # fmt: skip


def _means(step_losses: list[dict[str, float]], world: Distributed) -> dict[str, float]:
    names = list(step_losses[0]) if step_losses else []
    means = [sum(s[name] for s in step_losses) / len(step_losses) for name in names]
    return dict(zip(names, world.mean(means), strict=True))


def _train_step(recipe: Recipe, state: LoopState, epoch: int, world: Distributed, bar: Any) -> None:
    """Batch ``state.batch`` of ``epoch``: seeded, built, trained on, its losses kept."""
    torch.manual_seed(step_seed(recipe.seed, epoch, state.batch, world.rank))
    batch = recipe.batch(epoch, state.batch)
    if batch is None:
        return
    losses = recipe.step(batch)
    if not all(math.isfinite(value) for value in losses.values()):
        raise FloatingPointError(
            f"epoch {epoch + 1}, batch {state.batch + 1}: the loss became {losses};"
            " try a smaller learning rate"
        )
    state.step_losses.append(losses)
    recent = state.step_losses[-20:]
    bar.set_postfix({k: f"{sum(s[k] for s in recent) / len(recent):.3f}" for k in losses})


def _epoch_record(
    recipe: Recipe,
    state: LoopState,
    epoch: int,
    seconds: tuple[float, float],
    world: Distributed,
) -> dict[str, Any]:
    """The epoch's mean losses (over the processes too), times, learning rate and steps.

    ``seconds`` is the epoch's (wall-clock, CPU) time of the training steps: ``seconds`` and
    ``cpu_seconds`` of the record (the process's CPU time, all its threads; on a shared machine
    a one-thread run's CPU time is what it would take on an idle core).
    """
    record: dict[str, Any] = {"epoch": epoch + 1, **_means(state.step_losses, world)}
    record["seconds"], record["cpu_seconds"] = world.mean(list(seconds))
    record["lr"] = recipe.optimizer.param_groups[0]["lr"]
    if recipe.keep_steps:
        record["steps"] = [[round(v, 5) for v in s.values()] for s in state.step_losses]
    return record


def _close_epoch(
    recipe: Recipe,
    state: LoopState,
    record: dict[str, Any],
    checkpoint: Path | None,
    world: Distributed,
    log: Callable[[str], None],
    save: Callable[[], None],
) -> None:
    """Appends the epoch's record; checkpoint, ``metrics.json``, ``after_epoch``, its log line."""
    state.history.append(record)
    state.epoch, state.batch, state.step_losses = state.epoch + 1, 0, []
    save()
    if world.main:
        if checkpoint is not None:
            write_json(checkpoint.parent / "metrics.json", state.history)
        if recipe.after_epoch is not None:
            recipe.after_epoch(state.history)
        log(recipe.describe(record))
    world.barrier()


def fit(
    recipe: Recipe,
    checkpoint: Path | None = None,
    *,
    resume: bool = False,
    world: Distributed | None = None,
    log: Callable[[str], None] = print,
    progress: bool = True,
    checkpoint_every: int | None = None,
    max_minutes: float | None = None,
    after_batch: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Trains ``recipe`` to its last epoch (or ``max_minutes``); returns one record per epoch.

    Args:
        recipe: what to train and how (see :class:`Recipe`).
        checkpoint: where to save the checkpoint (each epoch, every ``checkpoint_every``
            batches, on Ctrl-C); ``None`` keeps none.
        resume: continue from ``checkpoint``.
        world: this process's place in a ``torchrun`` job (a single process by default).
        log: where the per-epoch lines go.
        progress: show a tqdm bar with the running loss (process 0 only).
        checkpoint_every: also save every this many batches (mid-epoch resume).
        max_minutes: stop after the batch that passes this wall-clock budget, closing the
            epoch there (its record has ``"stopped": True``).
        after_batch: ``(epoch, batches done)`` after each batch (tests interrupt runs with it).

    Returns:
        Per epoch: ``epoch``, each loss's mean, ``seconds``, ``lr``, what ``evaluate`` returned.

    Raises:
        FloatingPointError: when a loss becomes NaN or infinite (with the step and the losses).
    """
    world = world or Distributed()
    schedule = torch.optim.lr_scheduler.LambdaLR(recipe.optimizer, recipe.lr_factor)
    state = _resume(recipe, checkpoint, schedule, log) if resume else LoopState()

    def save() -> None:
        if checkpoint is not None and world.main:
            save_checkpoint(checkpoint, checkpoint_state(recipe, schedule, state))

    if state.epoch >= recipe.epochs:
        log("nothing to train: the run already has all its epochs")
    started_run = time.monotonic()
    out_of_time = False
    try:
        while state.epoch < recipe.epochs and not out_of_time:
            epoch, started, started_cpu = state.epoch, time.monotonic(), time.process_time()
            bar = _progress(
                recipe.steps_per_epoch, state.batch, f"epoch {epoch + 1}/{recipe.epochs}",
                progress and world.main,
            )  # fmt: skip
            while state.batch < recipe.steps_per_epoch:
                _train_step(recipe, state, epoch, world, bar)
                schedule.step()
                state.batch += 1
                bar.update()
                if checkpoint_every and state.batch % checkpoint_every == 0:
                    save()
                if after_batch is not None:
                    after_batch(epoch, state.batch)
                out_of_time = max_minutes is not None and (
                    time.monotonic() - started_run >= 60 * max_minutes
                )
                if out_of_time:
                    break
            bar.close()
            seconds = (time.monotonic() - started, time.process_time() - started_cpu)
            record = _epoch_record(recipe, state, epoch, seconds, world)
            if out_of_time:
                record["stopped"] = True
            if world.main:
                record.update(recipe.evaluate(epoch + 1, record))
            _close_epoch(recipe, state, record, checkpoint, world, log, save)
    except KeyboardInterrupt:
        save()
        if checkpoint is not None:
            log(f"interrupted: saved {checkpoint}; continue with --resume {checkpoint.parent}")
        raise
    return state.history
