"""``bam train yolo``: lesson 10's YOLO on the detector's pipeline — run folder and resume."""

from __future__ import annotations

import json

import pytest
import torch

import bam.pipelines.detector
from bam.configs import TrainConfig
from bam.pipelines.detector import CHECKPOINT, load_checkpoint, train
from bam.train import fit

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
        bam.pipelines.detector, "fit", lambda *a, **k: fit(*a, **k, after_batch=interrupt)
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


def test_bam_train_yolo_offers_only_yolos_options(capsys):
    import argparse

    from bam.commands import train_detector, train_yolo

    parser = argparse.ArgumentParser()
    train_yolo.add_arguments(parser)
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert not flags & {"--pool", "--anchor-sizes", "--hidden"}
    assert {"--width", "--epochs", "--resume", "--impl"} <= flags
    with pytest.raises(SystemExit):
        parser.parse_args(["--pool", "roi_pool"])
    detector = argparse.ArgumentParser()
    train_detector.add_arguments(detector)
    assert {"--pool", "--anchor-sizes", "--hidden"} <= {
        flag for action in detector._actions for flag in action.option_strings
    }


def test_yolo_loss_curves_carry_yolos_title_and_loss_names():
    import matplotlib

    matplotlib.use("Agg")
    from bam.plots.detector import loss_curves_figure

    names = ("loss_box", "loss_objectness", "loss_no_object", "loss_class")
    history = [
        {"epoch": epoch, "map": 0.1 * epoch, **dict.fromkeys(names, 1.0), "steps": [[1.0] * 4]}
        for epoch in (1, 2)
    ]
    figure = loss_curves_figure(history)
    assert figure._suptitle.get_text() == "YOLO training"
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "no object (other anchors)" in labels and not any("RPN" in label for label in labels)


def test_the_refusal_names_the_lessons_yolo_builds_on_and_a_fallback_that_works(monkeypatch):
    from bam import course, implementations
    from bam.pipelines.detector import require_finished

    with pytest.raises(course.UnfinishedExercises) as refused:
        require_finished("lessons", hflip=True, model="yolo")
    message = str(refused.value)
    for lesson in ("lesson 1 dataset", "lesson 2 augment", "lesson 3 metrics", "lesson 5 vgg"):
        assert lesson in message, message
    assert "lesson 6 rpn (nms)" in message and "--impl solutions" in message
    monkeypatch.setattr(implementations, "solutions_available", lambda: False)  # a release
    with pytest.raises(course.UnfinishedExercises) as refused:
        require_finished("lessons", hflip=True, model="yolo")
    assert "--impl solutions" not in str(refused.value)
    assert "bam check dataset" in str(refused.value)
