"""Learning-rate factors of the pipelines: pure ``step -> factor`` functions of the peak rate.

``bam.train.fit`` applies a recipe's ``lr_factor`` through ``torch.optim.lr_scheduler.LambdaLR``;
being functions of the step alone, a resumed run follows the same schedule without any saved
scheduler state. ``bam.pipelines.detector.schedule_factor`` (a run's ``--schedule``) and
``bam.pipelines.sam.learning_rate_at`` build on the course's settings; the two here are the
pretraining runs' (kept as they were when the bundled weights were made).
"""

from __future__ import annotations

import math


def warmup_cosine(step: int, steps: int, warmup_share: float = 0.05) -> float:
    """Learning-rate factor: a linear warm-up from 1/25 over the first 5%, then a cosine to 0."""
    warmup = max(1, round(warmup_share * steps))
    if step < warmup:
        return 0.04 + 0.96 * step / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return max(1e-4, 0.5 * (1 + math.cos(math.pi * progress)))


def warmup_then_cosine(step: int, steps: int) -> float:
    """Learning-rate factor: linear warm-up over the first 5% of ``steps``, cosine down to 5%."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))
