"""``bam predict instances`` and ``bam compare instances``: lesson 11's pipeline on tiny runs.

A detector trained for one epoch on four images and a random tiny SAM at 64x64 make junk
masks fast; the tests check the plumbing (rows, files, frames, error messages) and the pieces
the command adds to the lesson (filled boxes, the matched IoU) on hand-computed cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import solutions.instances
from bam.cli import main
from bam.configs import PRETRAINED_TINY_SAM, SHAPES_ROOT, TrainConfig
from bam.data.datasets import DetectionFolder
from bam.pipelines.detector import CHECKPOINT, train
from bam.pipelines.instances import (
    compare_instances,
    detect,
    filled_boxes,
    found_by_detector,
    load_detector,
    markdown_table,
    matched_iou,
    sam_label,
)
from bam.sam_model import tiny_sam


@pytest.fixture(scope="module")
def detector_run(tmp_path_factory) -> Path:
    """A Faster R-CNN trained for one epoch on 4 shapes images (seconds; detects little)."""
    run = tmp_path_factory.mktemp("detector") / "run"
    config = TrainConfig(
        epochs=1, batch_size=2, image_size=(96, 128), width=0.125, hidden=64,
        anchor_sizes=(13, 26, 52), max_train_images=4, max_test_images=2, device="cpu",
        impl="solutions",
    )  # fmt: skip
    train(config, run, log=lambda _: None, show_progress=False)
    return run


@pytest.fixture(scope="module")
def small_sam(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("sam") / "tiny"
    tiny_sam(seed=0, image_size=64, width=32).save_pretrained(folder)
    return str(folder)


def test_filled_boxes_are_the_pixels_whose_centre_is_inside():
    boxes = torch.tensor([[1.0, 1.0, 3.0, 2.0], [0.4, 0.0, 1.6, 4.0], [2.0, 2.0, 2.0, 3.0]])
    scores = torch.tensor([0.9, 0.5, 0.7])
    masks = filled_boxes(solutions.instances, boxes, scores, (4, 4))
    expected = torch.zeros(3, 4, 4, dtype=torch.bool)
    expected[0, 1, 1:3] = True  # rows 1, columns 1..2
    expected[1, :, 0:2] = True  # centres 0.5 and 1.5 are inside [0.4, 1.6)
    expected[1, 1, 1] = False  # the higher-scoring box 0 keeps the pixel they share
    assert torch.equal(masks, expected)  # box 2 has no width: no pixel


def test_matched_iou_by_hand():
    truth_masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    truth_masks[0, :2, :2] = True  # 4 px, class 1
    truth_masks[1, 2:, 2:] = True  # 4 px, class 2
    truth_masks[2, 0, 3] = True  # 1 px, class 1: nothing predicted near it
    truth = {"masks": truth_masks, "labels": torch.tensor([1, 2, 1])}
    predicted = torch.zeros(3, 4, 4, dtype=torch.bool)
    predicted[0, :2, :1] = True  # IoU 0.5 with truth 0
    predicted[1, 2:, 2:] = True  # exact on truth 1, but class 1: does not count
    predicted[2, :2, :2] = True  # exact on truth 0, but scores too low
    prediction = {
        "masks": predicted,
        "labels": torch.tensor([1, 1, 1]),
        "scores": torch.tensor([0.9, 0.8, 0.3]),
    }
    value = matched_iou(solutions.instances, [prediction], [truth], score=0.5)
    assert value == pytest.approx((0.5 + 0.0 + 0.0) / 3)
    assert matched_iou(solutions.instances, [prediction], [truth], score=0.2) == pytest.approx(
        (1.0 + 0.0 + 0.0) / 3
    )
    empty = {key: value[:0] for key, value in prediction.items()}
    assert matched_iou(solutions.instances, [empty], [truth], score=0.5) == 0.0


def test_found_by_detector_by_hand():
    """A same-class box above the score at box IoU >= 0.5 finds a ground truth."""
    import solutions.metrics

    truth = {
        "boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]),
        "labels": torch.tensor([1, 2]),
    }
    detection = {
        "boxes": torch.tensor([[0.0, 0, 10, 5], [20, 20, 30, 30], [0, 0, 10, 10]]),
        "labels": torch.tensor([1, 1, 2]),  # the exact boxes have the wrong class
        "scores": torch.tensor([0.9, 0.9, 0.9]),
    }
    found, ious = found_by_detector(solutions.metrics, [detection], [truth], 0.5)
    assert found.tolist() == [True, False] and ious.tolist() == [0.5, 0.0]
    detection["scores"] = torch.tensor([0.5, 0.9, 0.9])  # not above the score: left out
    found, _ = found_by_detector(solutions.metrics, [detection], [truth], 0.5)
    assert found.tolist() == [False, False]


def test_detections_come_back_in_the_images_pixels(detector_run):
    model, config = load_detector(detector_run / CHECKPOINT, "solutions", torch.device("cpu"))
    image, _ = DetectionFolder(SHAPES_ROOT, "test")[0]
    found = detect(model, config.image_size, image)
    with torch.no_grad():
        resized = torch.nn.functional.interpolate(
            image[None], size=(96, 128), mode="bilinear", antialias=True
        )[0].clamp(0, 1)
        direct = model([resized])[0]
    torch.testing.assert_close(found["boxes"], direct["boxes"] * 2.5)  # 320 / 128 = 240 / 96
    assert torch.equal(found["scores"], direct["scores"])


def test_compare_instances_rows_and_files(tmp_path, detector_run, small_sam, capsys):
    out = tmp_path / "table"
    arguments = ["compare", "instances", "--detector", str(detector_run), "--sam", small_sam]
    arguments += ["--sam"]
    arguments += [str(PRETRAINED_TINY_SAM), "--limit", "3", "--out", str(out)]
    assert main(arguments) == 0
    result = json.loads((out / "instances.json").read_text())
    assert [row["row"] for row in result["rows"]] == ["a", "b", "c", "b", "c"]
    assert [row["sam"] for row in result["rows"]][1:] == [
        "tiny SAM, fine-tuned (tiny)", "tiny SAM, fine-tuned (tiny)",
        "tiny SAM, pretrained", "tiny SAM, pretrained",
    ]  # fmt: skip
    for row in result["rows"]:
        assert 0 <= row["mask_ap"] <= 1 and 0 <= row["mean_iou"] <= 1
        assert 0 <= row["mean_iou_found"] <= 1
        assert row["images_per_second"] > 0
    folder = DetectionFolder(SHAPES_ROOT, "test")
    assert result["images"] == 3
    assert result["instances"] == sum(len(folder.annotations[i].names) for i in range(3))
    per_instance = result["per_instance"]
    assert all(len(values) == result["instances"] for values in per_instance.values())
    assert all(len(row["iou_per_instance"]) == result["instances"] for row in result["rows"])
    assert result["command"].startswith(f"bam compare instances --detector {detector_run} --sam")
    table = (out / "instances.md").read_text()
    assert "(c) ground-truth boxes -> SAM" in table and "| tiny SAM, pretrained |" in table
    assert "mask AP@0.5" in capsys.readouterr().out


def test_ground_truth_boxes_with_the_pretrained_sam_beat_filled_boxes(detector_run):
    """The SAM stage alone, on true boxes: the bundled SAM's masks fit the shapes better than
    their boxes do (the circles and triangles fill 79% and 50% of them at best)."""
    result = compare_instances(detector_run, [PRETRAINED_TINY_SAM], SHAPES_ROOT, limit=4)
    truth_row = result["rows"][2]
    assert truth_row["row"] == "c" and truth_row["sam"] == "tiny SAM, pretrained"
    assert truth_row["mean_iou"] > 0.7
    assert markdown_table(result).count("\n") == 1 + len(result["rows"])


def test_predict_instances_draws_each_image_and_a_sheet(tmp_path, detector_run, small_sam, capsys):
    images = [str(SHAPES_ROOT / "JPEGImages" / f"shapes_{index:04d}.jpg") for index in (0, 1)]
    sheet = tmp_path / "sheet.png"
    arguments = ["predict", "instances", *images, "--detector", str(detector_run / CHECKPOINT)]
    arguments += ["--sam", small_sam, "--score", "0.0", "--truth", "--sheet", str(sheet)]
    assert main([*arguments, "--out", str(tmp_path / "out")]) == 0
    for name in ("shapes_0000", "shapes_0001"):
        assert (tmp_path / "out" / f"{name}.instances.png").stat().st_size > 0
    assert sheet.stat().st_size > 0
    assert "instances" in capsys.readouterr().out
    missing = [
        "predict",
        "instances",
        str(tmp_path / "nothing.jpg"),
        "--detector",
        str(detector_run),
    ]
    assert main([*missing, "--sam", small_sam, "--out", str(tmp_path / "out")]) == 1
    assert "nothing.jpg: file not found" in capsys.readouterr().err


def test_unfinished_lessons_are_named(detector_run, capsys):
    assert main(["compare", "instances", "--detector", str(detector_run), "--impl", "lessons"]) == 2
    message = capsys.readouterr().err
    assert "lessons/instances.py::segment_instances" in message and "--impl solutions" in message
    assert main(["predict", "instances", "x.jpg", "--impl", "lessons"]) == 2
    assert "lessons/instances.py::paste_masks" in capsys.readouterr().err


def test_sam_labels():
    assert sam_label(PRETRAINED_TINY_SAM) == "tiny SAM, pretrained"
    assert sam_label("runs/sam-shapes/model") == "tiny SAM, fine-tuned (sam-shapes)"
    assert sam_label("runs/sam-shapes") == "tiny SAM, fine-tuned (sam-shapes)"


def test_the_newest_detector_run_by_default(tmp_path, detector_run, small_sam, monkeypatch, capsys):
    """No --detector: the newest runs/detector-* with a checkpoint; no images: 4 test images."""
    import shutil

    from bam.pipelines.instances import detector_run_dir

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no detector run .* `bam train detector`"):
        detector_run_dir(None)
    assert main(["predict", "instances", "--sam", small_sam]) == 2
    assert "--detector RUN" in capsys.readouterr().err
    shutil.copytree(detector_run, tmp_path / "runs" / "detector-20260101-000000")
    (tmp_path / "runs" / "detector-20260102-000000").mkdir()  # no checkpoint: not a run
    assert detector_run_dir(None) == Path("runs/detector-20260101-000000")
    assert main(["predict", "instances", "--sam", small_sam, "--score", "0.0"]) == 0
    drawn = sorted((tmp_path / "runs/detector-20260101-000000/instances").glob("*.png"))
    test_ids = (SHAPES_ROOT / "ImageSets/Main/test.txt").read_text().split()[:4]
    assert [path.name for path in drawn] == [f"{image_id}.instances.png" for image_id in test_ids]
