"""Run folders: devices, ``torchrun`` processes, atomic JSON and checkpoints."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class Distributed:
    """Where this process stands in a ``torchrun`` job (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, values: list[float]) -> list[float]:
        """The mean of ``values`` over the processes (the values themselves without torchrun)."""
        if not self.enabled:
            return values
        packed = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(packed)
        return (packed / self.world_size).tolist()


def start_distributed(device: torch.device) -> Distributed:
    """Joins the ``torchrun`` process group when launched by it (``WORLD_SIZE`` > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    )


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device should be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available here (use --device cpu or auto)")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def write_json(path: Path, payload: Any) -> None:
    """Writes ``payload`` as JSON through a temporary file, so a kill never leaves half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` of plain state dicts, through a temporary file (never half a checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Loads a checkpoint with ``weights_only=True``: tensors and plain containers, no pickled code.

    Raises:
        FileNotFoundError: with advice, when the run has no checkpoint yet.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint (did the run finish an epoch?)")
    return torch.load(path, map_location="cpu", weights_only=True)


def new_run_dir(prefix: str, root: str | Path = "runs") -> Path:
    """A fresh folder ``runs/<prefix>-YYYYmmdd-HHMMSS`` (with a suffix if that exists)."""
    base = Path(root) / time.strftime(f"{prefix}-%Y%m%d-%H%M%S")
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate
