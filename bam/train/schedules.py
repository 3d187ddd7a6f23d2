"""The pipelines' one learning-rate schedule: a pure ``step -> factor`` of the peak rate.

``bam.train.fit`` applies a recipe's ``lr_factor`` through ``torch.optim.lr_scheduler.LambdaLR``;
being a function of the step alone, a resumed run follows the same schedule without any saved
scheduler state. Every pipeline's schedule is ``warmup_cosine`` with its own warm-up and floor
(``bam train detector --schedule step`` adds a 10x drop, ``step_drop``):

=========================  ==========  ======
pipeline                   warm-up     floor
=========================  ==========  ======
``bam train detector``     ``warmup``  0
``bam train sam``          none        0.05
``bam pretrain backbone``  5%          0
``bam pretrain sam``       5%          0.05
=========================  ==========  ======
"""

from __future__ import annotations

import math


def warmup_cosine(step: int, steps: int, warmup: float = 0.05, floor: float = 0.0) -> float:
    """Learning-rate factor of step ``step`` (0-based) of ``steps``.

    A linear warm-up from 1/25 over the first ``warmup`` share of the steps (none when that is
    under one step), then half a cosine from 1 at the first step after it down to ``floor`` at
    the last step (and after it: a resumed run that asks for more steps stays at ``floor``).
    """
    warmup_steps = round(warmup * steps)
    if step < warmup_steps:
        return 0.04 + 0.96 * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps - 1))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def step_drop(step: int, milestone: int, drop: float = 0.1) -> float:
    """Learning-rate factor: 1 before step ``milestone``, ``drop`` from it on."""
    return drop if step >= milestone else 1.0
