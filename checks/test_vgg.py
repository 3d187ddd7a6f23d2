"""Checks for lesson 5, ``vgg``: the VGG16 backbone, its feature map size and receptive field.

Oracles: torchvision's VGG16 (its configuration "D" and its ``features`` layers, built without
downloading weights), max-pooling a blank image for the feature map size, and autograd for the
receptive field: which input pixels get a non-zero gradient from one output unit.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchvision.models import vgg as torchvision_vgg

from checks import harness
from checks.harness import exercise, expect, expect_close, expect_tensor, student

# ----------------------------------------------------------------------------- oracles


@functools.cache
def torchvision_config() -> list[int | str]:
    """VGG16's layers up to conv5_3 from torchvision's configuration "D" (without the last pool)."""
    return list(torchvision_vgg.cfgs["D"][:-1])


@functools.cache
def torchvision_state_shapes() -> dict[str, tuple[int, ...]]:
    """Keys and shapes of ``torchvision.models.vgg16().features[:30]``."""
    return {key: tuple(value.shape) for key, value in torchvision_features().state_dict().items()}


def torchvision_features() -> nn.Sequential:
    """``vgg16().features[:30]`` as torchvision builds it (random weights, no download)."""
    return torchvision_vgg.make_layers(torchvision_vgg.cfgs["D"], batch_norm=False)[:30]


def config_under_test() -> list:
    """The graded ``VGG16_CONFIG``; the stub's ``NotImplemented`` means "not implemented yet"."""
    config = student("vgg.VGG16_CONFIG")
    if config is NotImplemented:
        raise harness.ExerciseNotImplemented(f"{harness.SESSION.display_path('vgg')}::VGG16_CONFIG")
    return config


def backbone(width: float = 1.0) -> nn.Sequential:
    """The student's ``vgg16_backbone(width)``, built from the reference configuration."""
    build = student("vgg.vgg16_backbone", VGG16_CONFIG=torchvision_config())
    model = build(width)
    expect(
        isinstance(model, nn.Sequential),
        f"vgg16_backbone should return an nn.Sequential, got {type(model).__name__}",
    )
    return model


def pooled_size(h: int, w: int, pools: int = 4) -> tuple[int, int]:
    """Feature map size by max-pooling a blank image ``pools`` times (2x2, stride 2)."""
    blank = torch.zeros(1, 1, h, w, device="meta")  # shapes only, no memory
    for _ in range(pools):
        blank = F.max_pool2d(blank, kernel_size=2, stride=2)
    return blank.shape[-2], blank.shape[-1]


def autograd_receptive_field(config: list[int | str]) -> int:
    """Side of the input square that one central output unit depends on, measured by autograd.

    The network repeats ``config`` with one channel, every conv weight 1/9 and every pool an
    *average* pool (same footprint as max-pooling, but it passes gradient to all 4 inputs), on an
    all-ones image in float64, so no gradient is zero by accident.
    """
    field, jump = 1, 1
    for layer in config:  # a generous bound for the image size (not the answer: see below)
        field, jump = (field + 2 * jump, jump) if layer != "M" else (field + jump, 2 * jump)
    side = 2 * field + 4 * jump
    image = torch.ones(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    x = image
    for layer in config:
        if layer == "M":
            x = F.avg_pool2d(x, kernel_size=2, stride=2)
        else:
            x = F.relu(F.conv2d(x, torch.full((1, 1, 3, 3), 1 / 9, dtype=torch.float64), padding=1))
    x[0, 0, x.shape[2] // 2, x.shape[3] // 2].backward()
    touched = image.grad[0, 0] != 0  # [side, side]
    rows = touched.any(dim=1).nonzero()
    cols = touched.any(dim=0).nonzero()
    return int(max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))


@st.composite
def layer_configs(draw: st.DrawFn) -> list[int | str]:
    """Short VGG-like configurations: 1-9 layers, at most 4 pools, channels 1-64."""
    layers = draw(st.lists(st.one_of(st.just("M"), st.integers(1, 64)), min_size=1, max_size=9))
    while layers.count("M") > 4:
        layers.remove("M")
    return layers or [8]


# ----------------------------------------------------------------------------- VGG16_CONFIG


@exercise("vgg.VGG16_CONFIG", points=1)
def test_config_is_vgg16_up_to_conv5_3():
    """VGG16_CONFIG is torchvision's VGG16 up to conv5_3: 13 convs, 4 pools, no 5th pool."""
    config = config_under_test()
    expect(isinstance(config, list), f"VGG16_CONFIG should be a list, got {type(config).__name__}")
    expect(
        config.count("M") == 4,
        f"VGG16_CONFIG should have 4 pools ('M') for stride 16, has {config.count('M')}",
    )
    convs = [layer for layer in config if layer != "M"]
    expect(len(convs) == 13, f"VGG16_CONFIG should have 13 convolutions, has {len(convs)}")
    expect(
        config == torchvision_config(),
        f"VGG16_CONFIG should be {torchvision_config()}, got {config}",
    )


# ----------------------------------------------------------------------------- vgg16_backbone


@exercise("vgg.vgg16_backbone", points=2)
def test_backbone_state_dict_matches_torchvision():
    """At width 1.0 the state_dict keys and shapes equal torchvision's vgg16().features[:30]."""
    model = backbone(1.0)
    ours = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    theirs = torchvision_state_shapes()
    missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
    expect(
        not missing and not extra,
        f"state_dict keys differ from torchvision's: missing {missing[:4]}, unexpected {extra[:4]}",
    )
    for key, shape in theirs.items():
        expect(
            ours[key] == shape, f"state_dict[{key!r}] has shape {ours[key]}, torchvision's {shape}"
        )


@exercise("vgg.vgg16_backbone", points=2)
def test_backbone_with_torchvision_weights_computes_the_same():
    """torchvision's features[:30] weights load into the backbone and give the same feature map."""
    torch.manual_seed(0)
    reference = torchvision_features().eval()
    model = backbone(1.0).eval()
    try:
        model.load_state_dict(reference.state_dict())
    except RuntimeError as error:
        expect(False, f"torchvision's VGG16 weights do not load: {str(error).splitlines()[0]}")
    image = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        expected = reference(image)
        result = expect_tensor(model(image), "vgg16_backbone()(image)", shape=tuple(expected.shape))
    expect_close(
        result,
        expected,
        "feature map with torchvision's weights (ReLU after every conv?)",
        atol=1e-5,
        rtol=1e-4,
    )


@exercise("vgg.vgg16_backbone", points=2)
@settings(max_examples=5)
@given(st.sampled_from([0.03, 0.1, 0.3]), st.integers(16, 64), st.integers(16, 64))
def test_backbone_width_scales_channels(width, h, w):
    """width scales every conv's channels (rounded, at least 1); the map has stride 16."""
    model = backbone(width)
    convs = [layer for layer in model if isinstance(layer, nn.Conv2d)]
    expected = [max(1, round(c * width)) for c in torchvision_config() if c != "M"]
    channels = [conv.out_channels for conv in convs]
    expect(
        channels == expected, f"conv channels at width {width}: expected {expected}, got {channels}"
    )
    expect(
        all(conv.kernel_size == (3, 3) and conv.padding == (1, 1) for conv in convs),
        "every conv is 3x3 with padding 1",
    )
    with torch.no_grad():
        features = model(torch.rand(1, 3, h, w))
    expect_tensor(
        features,
        f"vgg16_backbone({width})(image of {h}x{w})",
        shape=(1, expected[-1], *pooled_size(h, w)),
    )


@exercise("vgg.vgg16_backbone", points=1)
def test_backbone_rejects_a_bad_width():
    """A width that is not positive is refused with a ValueError (not a crash inside nn.Conv2d)."""
    build = student("vgg.vgg16_backbone", VGG16_CONFIG=torchvision_config())
    for width in (0.0, -0.5):
        try:
            build(width)
        except ValueError:
            continue
        except Exception as error:
            expect(
                False,
                f"vgg16_backbone({width}) should raise ValueError, raised {type(error).__name__}",
            )
        expect(False, f"vgg16_backbone({width}) should raise ValueError")


# ----------------------------------------------------------------------------- feature_map_size


@exercise("vgg.feature_map_size", points=1)
def test_feature_map_size_by_hand():
    """600x800 gives 37x50 and 33x33 gives 2x2: each pool rounds down."""
    size = student("vgg.feature_map_size")
    expect(
        tuple(size(600, 800)) == (37, 50),
        f"feature_map_size(600, 800) should be (37, 50), got {size(600, 800)}",
    )
    expect(
        tuple(size(33, 33)) == (2, 2),
        f"feature_map_size(33, 33) should be (2, 2), got {size(33, 33)}",
    )


@exercise("vgg.feature_map_size", points=2)
@settings(max_examples=40)
@given(st.integers(16, 1200), st.integers(16, 1200))
def test_feature_map_size_matches_pooling(h, w):
    """feature_map_size(h, w) equals the size after 4 max-pools of a blank h x w image."""
    size = student("vgg.feature_map_size")
    result = size(h, w)
    expect(
        tuple(result) == pooled_size(h, w),
        f"feature_map_size({h}, {w}) should be {pooled_size(h, w)}, got {result}",
    )


# ----------------------------------------------------------------------------- receptive_field


@exercise("vgg.receptive_field", points=1)
def test_receptive_field_of_vgg16_is_196():
    """The receptive field of VGG16's conv5_3 is 196 pixels."""
    receptive_field = student("vgg.receptive_field")
    expect_close(receptive_field(torchvision_config()), 196, "receptive field of conv5_3", atol=0)


@exercise("vgg.receptive_field", points=2)
@settings(max_examples=15)
@given(layer_configs())
def test_receptive_field_matches_autograd(config):
    """receptive_field(config) is the side of the input square one unit has gradient from."""
    receptive_field = student("vgg.receptive_field")
    expected = autograd_receptive_field(config)
    result = receptive_field(list(config))
    expect(
        result == expected,
        f"receptive_field({config}) should be {expected} (measured by autograd), got {result}",
    )


# ----------------------------------------------------------------------------- contract (issue 11)
# The default width, channel counts above 1 and at the floor of 1 channel, the documented
# ValueErrors of feature_map_size and receptive_field.


def conv_channels(model: nn.Module) -> list[int]:
    return [layer.out_channels for layer in model if isinstance(layer, nn.Conv2d)]


@exercise("vgg.vgg16_backbone", points=1)
def test_backbone_default_and_channel_rounding():
    """The default width is 1.0; widths 0.8 and 0.005 give round(c * width) channels, at least 1."""
    build = student("vgg.vgg16_backbone", VGG16_CONFIG=torchvision_config())
    default = build()
    shapes = {key: tuple(value.shape) for key, value in default.state_dict().items()}
    expect(
        shapes == torchvision_state_shapes(),
        "vgg16_backbone() (default width) should have torchvision's vgg16 state_dict shapes",
    )
    for width in (0.8, 0.005):
        expected = [max(1, round(c * width)) for c in torchvision_config() if c != "M"]
        channels = conv_channels(build(width))
        expect(
            channels == expected,
            f"conv channels at width {width}: expected {expected} (round(c * width), at least"
            f" 1), got {channels}",
        )


@exercise("vgg.feature_map_size", points=1)
def test_feature_map_size_rejects_small_images():
    """A side below 16 pixels raises ValueError (the map would be empty); 16 is the smallest."""
    size = student("vgg.feature_map_size")
    expect(size(16, 16) == (1, 1), f"feature_map_size(16, 16) should be (1, 1), got {size(16, 16)}")
    for h, w in ((15, 40), (40, 15), (0, 0)):
        try:
            result = size(h, w)
        except ValueError:
            continue
        except Exception as error:
            expect(
                False,
                f"feature_map_size({h}, {w}) raised {type(error).__name__}; expected ValueError",
            )
        expect(False, f"feature_map_size({h}, {w}) returned {result}; expected ValueError")


@exercise("vgg.receptive_field", points=1)
def test_receptive_field_rejects_bad_entries():
    """Entries other than positive ints and 'M' (0, -64, True, 2.5, 'X') raise ValueError."""
    receptive_field = student("vgg.receptive_field")
    for bad in (0, -64, True, 2.5, "X"):
        config = [64, "M", bad, 64]
        try:
            result = receptive_field(config)
        except ValueError:
            continue
        except Exception as error:
            expect(
                False,
                f"receptive_field({config}) raised {type(error).__name__}; expected ValueError",
            )
        expect(False, f"receptive_field({config}) returned {result}; expected ValueError")
