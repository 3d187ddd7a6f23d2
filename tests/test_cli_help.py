"""``bam --help`` and a command's ``--help`` answer without importing torch (the configs are torch-free)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# runs `bam ARGS`, then prints which heavy modules its imports loaded
PROBE = """
import json, runpy, sys
sys.argv = ["bam", *json.loads(sys.argv[1])]
try:
    runpy.run_module("bam", run_name="__main__")
except SystemExit:
    pass
heavy = ("torch", "torchvision", "transformers", "matplotlib")
print("LOADED", json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["train", "detector", "--help"],
        ["train", "sam", "--help"],
        ["train", "yolo", "--help"],
        ["pretrain", "sam", "--help"],
        ["pretrain", "backbone", "--help"],
        ["check", "--help"],
    ],
    ids=" ".join,
)
def test_help_never_imports_torch(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert "usage:" in done.stdout, done.stderr[-2000:]
    loaded = json.loads(done.stdout.rsplit("LOADED", 1)[1])
    assert loaded == [], f"bam {' '.join(args)} imported {loaded}"


@pytest.mark.parametrize("args", [["--help"], ["train", "detector", "--help"]], ids=" ".join)
def test_help_into_a_reader_that_stops_early_is_quiet(args):
    """``bam --help | head -1``: one line out, and no BrokenPipeError traceback."""
    command = " ".join([sys.executable, "-m", "bam", *args]) + " | head -1"
    done = subprocess.run(
        ["bash", "-c", command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.startswith("usage: bam") and done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
