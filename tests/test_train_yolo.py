"""``bam train yolo``: lesson 10's YOLO on the detector's pipeline — run folder and resume."""

from __future__ import annotations

import json

import pytest
import torch

import bam.train_detector
from bam.train import fit
from bam.train_detector import CHECKPOINT, TrainConfig, load_checkpoint, train

TINY = dict(
    model="yolo", impl="solutions", epochs=2, batch_size=2, max_train_images=4,
    max_test_images=2, device="cpu", hidden=16,
)  # fmt: skip


def test_yolo_run_folder_and_resume_give_the_same_weights(tmp_path, monkeypatch):
    straight = train(TrainConfig(**TINY), tmp_path / "straight", log=str, show_progress=False)
    for name in ("config.json", CHECKPOINT, "metrics.json", "loss_curves.png", "detections.png"):
        assert (tmp_path / "straight" / name).is_file(), name
    assert json.loads((tmp_path / "straight" / "config.json").read_text())["model"] == "yolo"
    assert set(straight) >= {"loss_box", "loss_objectness", "loss_no_object", "loss_class", "map"}

    def interrupt(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 1):  # Ctrl-C in the middle of the second epoch
            raise KeyboardInterrupt

    monkeypatch.setattr(
        bam.train_detector, "fit", lambda *a, **k: fit(*a, **k, after_batch=interrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**TINY), tmp_path / "cut", log=str, show_progress=False)
    monkeypatch.undo()
    messages: list[str] = []
    resumed = train(
        TrainConfig(**TINY), tmp_path / "cut", resume=True, log=messages.append, show_progress=False
    )
    assert any("resuming" in message for message in messages)
    assert resumed["map"] == straight["map"] and resumed["loss_box"] == straight["loss_box"]
    first = load_checkpoint(tmp_path / "straight" / CHECKPOINT)["model"]
    second = load_checkpoint(tmp_path / "cut" / CHECKPOINT)["model"]
    assert all(torch.equal(first[key], second[key]) for key in first)
