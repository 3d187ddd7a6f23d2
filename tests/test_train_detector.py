"""Tests of ``bam train/eval/predict detector``: run folder, resume after a kill, DDP, stubs.

The runs are tiny (8 training images at 96x128, a VGG16 at 1/8 width) and use one thread per
process, so they take seconds of compute each; they are marked slow because each one starts a
Python process.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bam.configs import TrainConfig
from bam.implementations import is_stub as is_unfinished
from bam.pipelines.detector import CHECKPOINT, load_checkpoint, unfinished_exercises

REPO = Path(__file__).resolve().parent.parent
TINY = [
    "--impl", "solutions", "--width", "0.125", "--hidden", "64", "--image-size", "96", "128",
    "--anchor-sizes", "13", "26", "52", "--max-train-images", "8", "--max-test-images", "4",
    "--batch-size", "2", "--threads", "1", "--no-progress",
]  # fmt: skip


def bam(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bam", *arguments],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / CHECKPOINT)["model"]


@pytest.mark.slow
def test_run_folder_resume_after_kill_and_eval(tmp_path):
    """A run killed mid-epoch resumes and ends with the very weights of an uninterrupted run."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    done = bam("train", "detector", *TINY, "--epochs", "2", "--out", str(straight))
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("config.json", CHECKPOINT, "loss_curves.png", "detections.png"):
        assert (straight / name).is_file(), name
    records = [json.loads((straight / "metrics" / f"epoch_00{n}.json").read_text()) for n in (1, 2)]
    assert all(0.0 <= record["map"] <= 1.0 and len(record["steps"]) == 4 for record in records)

    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "bam",
        "train",
        "detector",
        *TINY,
        "--epochs",
        "2",
        "--out",
        str(killed),
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 240
    while not (killed / "metrics" / "epoch_001.json").exists():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.05)
    time.sleep(0.5)  # into epoch 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "metrics" / "epoch_002.json").exists(), (
        "killed too late: epoch 2 had finished"
    )
    assert load_checkpoint(killed / CHECKPOINT)["epoch"] == 1

    resumed = bam("train", "detector", "--resume", str(killed), "--threads", "1", "--no-progress")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming" in resumed.stdout
    expected, got = final_weights(straight), final_weights(killed)
    assert expected.keys() == got.keys()
    different = [name for name in expected if not torch.equal(expected[name], got[name])]
    assert not different, f"weights differ after resuming: {different[:5]}"
    second = json.loads((killed / "metrics" / "epoch_002.json").read_text())
    assert second["steps"] == records[1]["steps"] and second["map"] == records[1]["map"]

    # the same 4 test images that training scored (--max-test-images 4 in TINY)
    evaluated = bam("eval", "detector", str(killed), "--max-images", "4")
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert f"{records[1]['map']:.3f}" in evaluated.stdout
    image = REPO / "data" / "shapes" / "JPEGImages" / "shapes_0000.jpg"
    predicted = bam(
        "predict",
        "detector",
        str(killed),
        str(image),
        "--score",
        "0.0",
        "--out",
        str(tmp_path / "p"),
    )
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert (tmp_path / "p" / "shapes_0000.detections.png").is_file()


@pytest.mark.slow
def test_one_epoch_under_torchrun_two_processes(tmp_path):
    """``torchrun --nproc_per_node=2`` trains one epoch (gloo on CPU) and writes the run folder."""
    run_dir = tmp_path / "ddp"
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "bam", "train", "detector", *TINY, "--epochs", "1", "--device", "cpu", "--out", str(run_dir),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((run_dir / "metrics" / "epoch_001.json").read_text())
    assert len(record["steps"]) == 2  # 8 images / 2 processes / batch 2
    assert done.stdout.count("epoch 1/1") == 1  # only process 0 reports
    assert load_checkpoint(run_dir / CHECKPOINT)["epoch"] == 1


def test_stubs_are_named_before_training():
    """With the stubs of lessons/, training stops at once and names every unfinished exercise."""
    missing = unfinished_exercises("lessons")
    assert "lessons/detector.py::FasterRCNN" in missing
    assert "lessons/head.py::sample_proposals" in missing
    assert all("roi_align" not in name for name in missing)  # only needed with --pool roi_align
    assert unfinished_exercises("solutions") == []
    from solutions.detector import FasterRCNN

    assert not is_unfinished(FasterRCNN)


def test_stub_message_from_the_command(tmp_path):
    """``bam train detector --impl lessons`` on stubs exits with a message, not a traceback."""
    done = bam("train", "detector", "--impl", "lessons", "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert "not implemented yet" in done.stdout and "lessons/head.py::FastRCNNHead" in done.stdout
    assert "Traceback" not in done.stderr


def test_config_round_trip():
    """config.json reads back into the same settings (tuples included)."""
    config = TrainConfig(epochs=3, image_size=(64, 96), classes=("a", "b"))
    assert TrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    with pytest.raises(ValueError, match="unknown settings"):
        TrainConfig.from_json({"epochs": 1, "rate": 0.1})
    # run folders written before ``lr`` became ``learning_rate`` (as every config spells it)
    assert TrainConfig.from_json({"lr": 0.1}) == TrainConfig(learning_rate=0.1)


def test_missing_run_folder_is_a_clear_error(tmp_path):
    done = bam("eval", "detector", str(tmp_path / "nowhere"))
    assert done.returncode == 1 and "config.json not found" in done.stdout


def test_schedule_factor_cosine_and_step():
    from bam.pipelines.detector import schedule_factor

    cosine = schedule_factor(TrainConfig(epochs=10, schedule="cosine", warmup=0.1), 10)
    factors = [cosine(step) for step in range(100)]
    assert factors[0] == pytest.approx(0.04) and max(factors) == pytest.approx(1.0)
    assert factors.index(max(factors)) == 10  # warm-up: the first 10% of the 100 steps
    assert all(a >= b for a, b in itertools.pairwise(factors[10:]))  # decays after
    assert factors[-1] < 0.01
    step = schedule_factor(TrainConfig(epochs=4, schedule="step", lr_drop=0.75), 5)
    assert [step(s) for s in (0, 14, 15, 19)] == [1.0, 1.0, 0.1, 0.1]
    with pytest.raises(ValueError, match="schedule should be cosine or step"):
        schedule_factor(TrainConfig(schedule="linear"), 5)  # type: ignore[arg-type]
