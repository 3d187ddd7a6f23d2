"""``bam.options``: the train commands' options are made from their settings dataclasses."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from dataclasses import dataclass
from typing import Literal

import pytest

from bam.options import Option, config_values, options_from_dataclass


@dataclass
class Settings:
    count: int = 3
    """how many (at most 5%)"""
    rate: float = 0.5
    mode: Literal["fast", "slow"] = "fast"
    size: tuple[int, int] = (4, 6)
    """H W"""
    sizes: tuple[float, ...] = (1.0, 2.0)
    limit: int | None = None
    flip: bool = True
    quiet: bool = False
    name: str = dataclasses.field(default="x", metadata={"help": "its name"})


def parser_for(names, **options) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="test")
    options_from_dataclass(parser, Settings, {**dict.fromkeys(names), **options})
    return parser


def test_each_field_becomes_an_option_with_its_type_default_and_help():
    parser = parser_for([item.name for item in dataclasses.fields(Settings)])
    assert vars(parser.parse_args([])) == {
        item.name: item.default for item in dataclasses.fields(Settings)
    }
    words = "--count 4 --rate 0.25 --mode slow --size 8 9 --sizes 1 2 3 --limit 7 --no-flip"
    args = parser.parse_args([*words.split(), "--quiet", "--name", "y"])
    values = config_values(args, Settings, [item.name for item in dataclasses.fields(Settings)])
    assert Settings(**values) == Settings(
        4, 0.25, "slow", (8, 9), (1.0, 2.0, 3.0), 7, False, True, "y"
    )
    text = parser.format_help()
    assert "how many (at most 5%) (default 3)" in " ".join(text.split())
    assert "H W (default 4 6)" in text and "its name" in text and "{fast,slow}" in text
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "medium"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--size", "8"])


def test_an_option_can_change_the_flag_default_help_and_metavar():
    parser = parser_for([], rate=Option(flag="--lr"), count=Option(default=None, help="N"))
    assert vars(parser.parse_args(["--lr", "2"])) == {"rate": 2.0, "count": None}
    assert "--lr LR" in parser.format_help() and "N" in parser.format_help()


def test_unknown_fields_and_types_are_named():
    with pytest.raises(ValueError, match="Settings has no field colour"):
        parser_for(["colour"])

    @dataclass
    class Odd:
        values: dict = dataclasses.field(default_factory=dict)

    with pytest.raises(TypeError, match="field values"):
        options_from_dataclass(argparse.ArgumentParser(), Odd, ["values"])


@pytest.mark.parametrize(
    ("command", "config", "options"),
    [
        ("train_detector", "bam.configs:TrainConfig", "bam.detector_options:DETECTOR_OPTIONS"),
        ("train_yolo", "bam.configs:TrainConfig.yolo", "bam.detector_options:YOLO_OPTIONS"),
        ("train_sam", "bam.configs:RunConfig", "bam.commands.train_sam:CONFIG_OPTIONS"),
        (
            "pretrain_sam",
            "bam.configs:SamPretrainConfig",
            "bam.commands.pretrain_sam:CONFIG_OPTIONS",
        ),
        (
            "pretrain_backbone",
            "bam.configs:BackbonePretrainConfig",
            "bam.commands.pretrain_backbone:CONFIG_OPTIONS",
        ),
    ],
)
def test_the_commands_defaults_are_their_configs(command, config, options):
    """Each option made from a field parses, with no words given, to that field's default."""
    module = importlib.import_module(f"bam.commands.{command}")
    path, name = config.split(":")
    name, _, model = name.partition(".")  # TrainConfig.yolo: TrainConfig.defaults_for("yolo")
    cls = getattr(importlib.import_module(path), name)
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    args = parser.parse_args([])
    defaults = cls.defaults_for(model) if model else cls()
    where, listed = options.split(":")
    for field in getattr(importlib.import_module(where), listed):
        assert config_values(args, cls, [field])[field] == getattr(defaults, field), field


def test_the_option_names_stay():
    """The names the README, the docs and the tests use."""
    expected = {
        "train_detector": "--epochs --out --resume --device --data --batch-size --lr --schedule"
        " --optimizer"
        " --width --hidden --backbone-weights --image-size --anchor-sizes --pool --seed"
        " --max-train-images --max-test-images --threads --no-progress --impl",
        "train_sam": "--epochs --out --resume --checkpoint --data --batch-size --lr --schedule"
        " --jitter --seed --limit --no-augment --device --impl",
        "pretrain_sam": "--out --steps --batch-size --lr --seed --minutes --init --threads",
        "pretrain_backbone": "--impl --out --width --steps --batch-size --lr --seed --minutes"
        " --threads",
    }
    for command, flags in expected.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(f"bam.commands.{command}").add_arguments(parser)
        made = {flag for action in parser._actions for flag in action.option_strings}
        assert made - {"-h", "--help"} == set(flags.split()), command


def test_bam_train_yolo_runs_yolos_own_recipe_and_compare_detectors_one_recipe():
    """``bam train yolo`` with no options trains ``YOLO_RECIPE`` (epochs included); ``bam compare
    detectors`` trains every detector with Faster R-CNN's settings (its page compares those)."""
    from bam.commands import compare_detectors, train_yolo
    from bam.configs import YOLO_RECIPE, TrainConfig
    from bam.detector_options import YOLO_OPTIONS, detector_config

    parser = argparse.ArgumentParser()
    train_yolo.add_arguments(parser)
    config = detector_config(parser.parse_args([]), "yolo", YOLO_OPTIONS)
    assert dataclasses.replace(config, impl="solutions") == TrainConfig.defaults_for("yolo")
    assert {key: getattr(config, key) for key in YOLO_RECIPE} == YOLO_RECIPE
    parser = argparse.ArgumentParser()
    compare_detectors.add_arguments(parser)
    config = detector_config(parser.parse_args([]), "yolo", recipe="faster_rcnn")
    faster_rcnn = TrainConfig()
    assert (config.epochs, config.learning_rate, config.schedule) == (
        faster_rcnn.epochs, faster_rcnn.learning_rate, faster_rcnn.schedule,
    )  # fmt: skip
