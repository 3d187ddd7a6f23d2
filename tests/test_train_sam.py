"""``bam train sam``: a short fine-tuning run writes its folder, and an interrupted run resumes exactly."""

from __future__ import annotations

import json

import pytest
import torch

from bam.configs import RunConfig
from bam.course import UnfinishedExercises
from bam.implementations import is_stub
from bam.pipelines.sam import TRAINING_EXERCISES, compare, load_exercises, schedule_factor, train
from bam.sam_model import load_sam, tiny_sam


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    """A random tiny SAM with 64x64 input, saved like the shipped one (fast to fine-tune)."""
    folder = tmp_path_factory.mktemp("sam") / "tiny"
    tiny_sam(seed=0, image_size=64, width=32).save_pretrained(folder)
    return str(folder)


def quick_config(checkpoint: str, **changes) -> RunConfig:
    settings = dict(
        checkpoint=checkpoint,
        epochs=2,
        batch_size=4,
        size=64,
        limit=12,
        impl="solutions",
        device="cpu",
        checkpoint_every=1,
        figures=False,
    )
    settings.update(changes)
    return RunConfig(**settings)


def test_short_run_writes_the_run_folder(tmp_path, small_checkpoint):
    history = train(
        quick_config(small_checkpoint, figures=True),
        tmp_path / "run",
        progress=False,
        log=lambda _: None,
    )
    assert [entry["epoch"] for entry in history] == [1, 2]
    for entry in history:
        assert 0 <= entry["test_iou"] <= entry["test_dice"] <= 1 and entry["train_loss"] > 0
    run = tmp_path / "run"
    assert json.loads((run / "metrics.json").read_text()) == history
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert (run / "curves.png").stat().st_size > 0
    assert len(list((run / "predictions").glob("*.png"))) == 2  # limit 12, test_ratio 0.1 -> 2
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 2  # the loop state of bam.train.fit
    fine_tuned = load_sam(run / "model")  # the frozen encoders are unchanged
    before = load_sam(small_checkpoint)
    assert torch.equal(
        fine_tuned.vision_encoder.patch_embed.projection.weight,
        before.vision_encoder.patch_embed.projection.weight,
    )
    assert not torch.equal(
        fine_tuned.mask_decoder.iou_token.weight, before.mask_decoder.iou_token.weight
    ) or any(
        not torch.equal(a, b)
        for a, b in zip(
            fine_tuned.mask_decoder.parameters(), before.mask_decoder.parameters(), strict=True
        )
    )
    rows = compare(quick_config(small_checkpoint), run)
    assert set(rows) == {"box as mask", "SAM before fine-tuning", "SAM fine-tuned"}
    with pytest.raises(FileExistsError, match="--resume"):
        train(quick_config(small_checkpoint), run, progress=False, log=lambda _: None)


def test_interrupted_run_resumes_with_nothing_lost(tmp_path, small_checkpoint):
    config = quick_config(small_checkpoint)
    whole = train(config, tmp_path / "whole", progress=False, log=lambda _: None)

    def interrupt(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 2):  # in the middle of the second epoch
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "cut", progress=False, log=lambda _: None, after_batch=interrupt)
    assert not (tmp_path / "cut" / "model").exists()
    resumed = train(RunConfig(), tmp_path / "cut", resume=True, progress=False, log=lambda _: None)
    assert len(resumed) == len(whole) == 2
    for got, expected in zip(resumed, whole, strict=True):
        for key in ("train_loss", "test_iou", "test_dice"):
            assert got[key] == pytest.approx(expected[key], abs=1e-5), key
    first, second = load_sam(tmp_path / "whole" / "model"), load_sam(tmp_path / "cut" / "model")
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


def test_cosine_schedule_decays_from_the_learning_rate_to_five_percent():
    factor = schedule_factor(RunConfig(learning_rate=0.01), 50)
    factors = [factor(step) for step in range(50)]
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(0.05)
    assert factors == sorted(factors, reverse=True)
    assert factor(80) == pytest.approx(0.05)  # resumed for more steps: stays at the floor
    constant = schedule_factor(RunConfig(learning_rate=0.01, schedule="constant"), 50)
    assert {constant(step) for step in range(50)} == {1.0}
    with pytest.raises(ValueError, match="schedule"):
        RunConfig(schedule="linear")


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(RunConfig(), tmp_path, resume=True)


def test_stubs_are_named_before_anything_runs():
    import lessons.sam
    import solutions.sam

    assert is_stub(lessons.sam.train_step) and not is_stub(solutions.sam.train_step)
    with pytest.raises(UnfinishedExercises) as error:
        load_exercises("lessons", TRAINING_EXERCISES)
    message = str(error.value)
    for name in TRAINING_EXERCISES["sam"]:
        assert f"sam.{name}" in message
    assert "--impl solutions" in message


def test_a_voc_instance_folder_trains_one_sample_per_object(tmp_path, small_checkpoint):
    """``--data data/shapes``: every object of the split's images is a sample (its own mask, its
    box prompt from the mask); the folder's own splits, so no test image is trained on."""
    from bam.configs import SHAPES_ROOT
    from bam.data.datasets import DetectionFolder
    from bam.pipelines.sam import exercises_for, load_data

    config = quick_config(small_checkpoint, data=str(SHAPES_ROOT), limit=3, epochs=1, figures=True)
    modules = load_exercises("solutions", exercises_for(config.data, TRAINING_EXERCISES))
    assert exercises_for(config.data, TRAINING_EXERCISES)["dataset"] == ("resize_boxes",)
    train_data, test_data = load_data(config, modules)
    folders = {
        split: DetectionFolder(SHAPES_ROOT, split, size=64, impl="solutions")
        for split in ("train", "test")
    }
    assert not set(train_data.folder.ids) & set(test_data.folder.ids)
    for data, split in ((train_data, "train"), (test_data, "test")):
        expected = sum(len(folders[split].annotations[i].names) for i in range(3))
        assert len(data) == expected
    image, mask = test_data[1]
    index, number = test_data.samples[1]
    assert image.shape == (3, 64, 64) and mask.shape == (64, 64)
    assert torch.equal(mask.bool(), folders["test"][index][1]["masks"][number])
    history = train(config, tmp_path / "run", progress=False, log=lambda _: None)
    assert len(history) == 1 and 0 <= history[0]["test_iou"] <= history[0]["test_dice"] <= 1
    names = sorted(path.stem for path in (tmp_path / "run" / "predictions").glob("*.png"))
    assert names == sorted(test_data.name(position) for position in range(len(test_data)))
    assert names[0].startswith(f"{test_data.folder.ids[0]}-object")
    rows = compare(config, tmp_path / "run")
    assert set(rows) == {"box as mask", "SAM before fine-tuning", "SAM fine-tuned"}
    assert 0 < rows["box as mask"]["iou"] < 1  # shapes are not their boxes
