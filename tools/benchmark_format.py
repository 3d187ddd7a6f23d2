"""The provenance and spread formatting that ``benchmark_report`` and ``benchmark_roi`` share.

Pure text from the JSON of ``tools/benchmark.py``; it imports neither of them, so neither
imports the other back.
"""

from __future__ import annotations

import statistics
from typing import Any


def spread(values: list[float], digits: int) -> str:
    """``mean ± sd (each value)``; the standard deviation over seeds (0 for one seed)."""
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    each = ", ".join(f"{value:.{digits}f}" for value in values)
    return f"{statistics.mean(values):.{digits}f} ± {deviation:.{digits}f} ({each})"


def training_load(payload: dict[str, Any]) -> str:
    """The 1-minute load averages at the start and end of the runs' training, and their commits
    (rows reused from earlier runs carry the conditions they were trained under)."""
    conditions = [row["conditions"] for row in payload["rows"] if row.get("conditions")]
    if not conditions:
        return ""
    loads = [c["load_before"][0] for c in conditions] + [
        c["load_after"][0] for c in conditions if "load_after" in c
    ]
    commits = sorted({c["commit"] for c in conditions})
    return (
        f"; trained at load average {min(loads):.1f}-{max(loads):.1f} (1 min, start and end of "
        f"each run), code of commit {', '.join(commits)}"
    )


def source(payload: dict[str, Any]) -> str:
    """The provenance sentence of one JSON file."""
    machine = payload["machine"]
    seeds = sorted({row["seed"] for row in payload["rows"] if "seed" in row})
    seed_text = f"seeds {', '.join(map(str, seeds))}; " if seeds else ""
    return (
        f"`{payload['command']}` ({seed_text}commit {payload['commit']}, "
        f"{payload['started_utc'][:10]}; {machine['cpu']}, {machine['cores']} cores shared with "
        f"other jobs, {machine['torch_threads']} torch thread, torch {machine['torch']}; "
        f"load average {payload['load_before'][0]:.1f} before, {payload['load_after'][0]:.1f} "
        f"after{training_load(payload)})"
    )
