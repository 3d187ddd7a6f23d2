"""The one training loop (``fit``) and the run-folder plumbing every pipeline shares.

Each pipeline — ``bam train detector``, ``bam train sam``, ``bam pretrain sam``, ``bam pretrain
backbone`` — is a short recipe: a model, an optimiser, a learning-rate factor per step, a way to
build batch ``i`` of epoch ``e``, one optimiser step, and an evaluation. ``fit`` does the rest.
"""

from bam.train import runs
from bam.train.loop import LoopState, Recipe, fit
from bam.train.runs import (
    Distributed,
    load_checkpoint,
    new_run_dir,
    pick_device,
    save_checkpoint,
    start_distributed,
    write_json,
)

__all__ = [
    "Distributed",
    "LoopState",
    "Recipe",
    "fit",
    "load_checkpoint",
    "new_run_dir",
    "pick_device",
    "runs",
    "save_checkpoint",
    "start_distributed",
    "write_json",
]
