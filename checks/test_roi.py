"""Checks for lesson 7, ``roi``: RoI pooling and RoIAlign.

Oracles: ``torchvision.ops.roi_pool`` and ``torchvision.ops.roi_align`` on small random maps with
RoIs partly outside them, several scales, output sizes and sampling ratios; ``gradcheck`` in
float64 for RoIAlign's gradient; small cases worked out by hand.
"""

from __future__ import annotations

import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from checks.harness import (
    exercise,
    expect,
    expect_close,
    expect_tensor,
    raises_value_error,
    student,
)
from checks.scoring import holds_for_constants

# ----------------------------------------------------------------------------- strategies


@st.composite
def feature_maps(draw: st.DrawFn) -> Tensor:
    """Random features ``[B, C, H, W]``: 1-2 images, 1-3 channels, 1-9 x 1-9 cells."""
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, 9)),
        draw(st.integers(1, 9)),
    )
    seed = draw(st.integers(0, 2**16))
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@st.composite
def rois_for(draw: st.DrawFn, features: Tensor, scale: float) -> Tensor:
    """1-8 RoIs ``[K, 5]`` on whole pixels, some partly or wholly outside the map, some tiny."""
    batch, _, height, width = features.shape
    count = draw(st.integers(1, 8))
    pixels_h, pixels_w = height / scale, width / scale
    rows = []
    for _ in range(count):
        x1 = draw(st.integers(int(-0.3 * pixels_w) - 2, int(pixels_w)))
        y1 = draw(st.integers(int(-0.3 * pixels_h) - 2, int(pixels_h)))
        x2 = draw(st.integers(x1, x1 + int(1.3 * pixels_w) + 2))
        y2 = draw(st.integers(y1, y1 + int(1.3 * pixels_h) + 2))
        rows.append([draw(st.integers(0, batch - 1)), x1, y1, x2, y2])
    return torch.tensor(rows, dtype=features.dtype)


@st.composite
def pooling_cases(draw: st.DrawFn) -> tuple[Tensor, Tensor, tuple[int, int], float]:
    features = draw(feature_maps())
    scale = draw(st.sampled_from([1.0, 0.5, 0.25, 1 / 16]))
    rois = draw(rois_for(features, scale))
    output_size = draw(st.sampled_from([(1, 1), (2, 3), (3, 2), (4, 4), (7, 7)]))
    return features, rois, output_size, scale


# ----------------------------------------------------------------------------- roi_pool


@exercise("roi.roi_pool", points=4)
@settings(max_examples=60)
@given(pooling_cases())
def test_roi_pool_matches_torchvision(case):
    """roi_pool equals torchvision.ops.roi_pool (RoIs partly outside, several scales and sizes)."""
    roi_pool = student("roi.roi_pool")
    features, rois, output_size, scale = case
    expected = torchvision.ops.roi_pool(features, rois, output_size, scale)
    result = roi_pool(features, rois, output_size, scale)
    expect_tensor(
        result, "roi_pool(features, rois, output_size, spatial_scale)", shape=tuple(expected.shape)
    )
    expect_close(
        result, expected, f"max of each bin (output_size {output_size}, spatial_scale {scale})"
    )


@exercise("roi.roi_pool", points=2)
def test_roi_pool_by_hand():
    """On a 4x4 map numbered 0..15: each RoI's 2x2 bins take the max of their own cells."""
    roi_pool = student("roi.roi_pool")
    features = torch.arange(16.0).reshape(1, 1, 4, 4)
    rois = torch.tensor([[0.0, 0, 0, 1, 1], [0, 2, 0, 3, 3], [0, 16, 16, 47, 47]])
    result = roi_pool(features, rois, (2, 2), 1.0)
    expected = torch.tensor([[[0.0, 1], [4, 5]], [[6, 7], [14, 15]], [[0, 0], [0, 0]]])[:, None]
    expect_tensor(result, "roi_pool(features, rois, (2, 2), 1.0)", shape=(3, 1, 2, 2))
    expect_close(result, expected, "max of each bin (each RoI its own region; 0 outside the map)")
    scaled = roi_pool(features, torch.tensor([[0.0, 8, 8, 40, 40]]), (1, 1), 1 / 16)
    expected = torch.tensor([[[[15.0]]]])  # 0.5 -> 1 and 2.5 -> 3, not torch.round's 0 and 2
    expect_close(scaled, expected, "RoI (8, 8, 40, 40) at scale 1/16 covers cells 1..3 (C round)")


# ----------------------------------------------------------------------------- roi_align


@st.composite
def align_cases(draw: st.DrawFn) -> tuple:
    features, rois, output_size, scale = draw(pooling_cases())
    sampling_ratio = draw(st.sampled_from([-1, 0, 1, 2, 3]))
    aligned = draw(st.booleans())
    if draw(st.booleans()):  # sub-pixel RoIs too
        rois = rois + torch.cat(
            [
                torch.zeros(len(rois), 1),
                torch.rand(len(rois), 4, generator=torch.Generator().manual_seed(len(rois))),
            ],
            dim=1,
        )
    return features, rois, output_size, scale, sampling_ratio, aligned


@exercise("roi.roi_align", points=4)
@settings(max_examples=60)
@given(align_cases())
def test_roi_align_matches_torchvision(case):
    """roi_align equals torchvision.ops.roi_align (aligned or not, sampling ratios, scales)."""
    roi_align = student("roi.roi_align")
    features, rois, output_size, scale, sampling_ratio, aligned = case
    expected = torchvision.ops.roi_align(
        features, rois, output_size, scale, sampling_ratio, aligned
    )
    result = roi_align(features, rois, output_size, scale, sampling_ratio, aligned)
    expect_tensor(result, "roi_align(...)", shape=tuple(expected.shape))
    expect_close(
        result,
        expected,
        f"mean of bilinear samples per bin (aligned={aligned}, sampling_ratio={sampling_ratio}, spatial_scale={scale})",
        atol=1e-4,
        rtol=1e-4,
    )


@exercise("roi.roi_align", points=1)
def test_roi_align_by_hand():
    """On a ramp f(y, x) = x the aligned RoI (0, 0, 4, 4) has bin means 0.125, 1, 2, 2.875."""
    roi_align = student("roi.roi_align")
    ramp = torch.arange(4.0).repeat(1, 1, 4, 1)  # [1, 1, 4, 4], value = column index
    result = roi_align(ramp, torch.tensor([[0.0, 0, 0, 4, 4]]), (1, 4), 1.0, 2, True)
    # aligned: the RoI spans x in [-0.5, 3.5]; bin j samples x = j - 0.25 and j + 0.25, clamped at 0
    expected = torch.tensor([[[[(0 + 0.25) / 2, 1.0, 2.0, (2.75 + 3.0) / 2]]]])
    expect_close(
        result, expected, "bin means of a ramp (aligned: half-cell shift, clamp at the edge)"
    )


@exercise("roi.roi_align", points=2)
def test_roi_align_gradient():
    """Gradients flow to the features: torch.autograd.gradcheck in float64 on a tiny map."""
    roi_align = student("roi.roi_align")
    features = torch.randn(
        1, 2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    ).requires_grad_()
    rois = torch.tensor([[0.0, 0.3, 0.7, 4.2, 3.9], [0, -1.5, 1.0, 6.5, 4.5]], dtype=torch.float64)
    output = roi_align(features, rois, (2, 3), 1.0, 2, True)
    expect(
        isinstance(output, Tensor) and output.requires_grad,
        "roi_align's output does not depend on the features in a differentiable way",
    )
    try:
        ok = torch.autograd.gradcheck(
            lambda f: roi_align(f, rois, (2, 3), 1.0, 2, True), (features,), raise_exception=False
        )
    except RuntimeError as error:
        ok = False
        expect(ok, f"gradcheck failed: {str(error).splitlines()[0]}")
    expect(
        ok,
        "gradcheck: the gradient of roi_align w.r.t. the features does not match finite differences",
    )


# ----------------------------------------------------------------------------- torchvision's API: lists, dtypes, empty


def per_image_boxes(rois: Tensor, batch: int) -> list[Tensor]:
    """The ``[K, 5]`` RoIs as torchvision's other form: a list of ``[L_i, 4]``, one per image."""
    return [rois[rois[:, 0] == index, 1:] for index in range(batch)]


@exercise("roi.roi_pool", points=1)
@settings(max_examples=20)
@given(pooling_cases())
def test_roi_pool_accepts_a_list_of_boxes_per_image(case):
    """A list of per-image [L_i, 4] boxes pools like torchvision's roi_pool of that list."""
    roi_pool = student("roi.roi_pool")
    features, rois, output_size, scale = case
    boxes = per_image_boxes(rois, features.shape[0])
    expected = torchvision.ops.roi_pool(features, boxes, output_size, scale)
    result = expect_tensor(
        roi_pool(features, boxes, output_size, scale),
        "roi_pool(features, [boxes of each image], ...)",
        shape=tuple(expected.shape),
    )
    expect_close(result, expected, "pooled values, RoIs given as a list per image")


@exercise("roi.roi_align", points=1)
@settings(max_examples=20)
@given(pooling_cases())
def test_roi_align_accepts_a_list_of_boxes_per_image(case):
    """A list of per-image [L_i, 4] boxes aligns like torchvision's roi_align of that list."""
    roi_align = student("roi.roi_align")
    features, rois, output_size, scale = case
    boxes = per_image_boxes(rois, features.shape[0])
    expected = torchvision.ops.roi_align(features, boxes, output_size, scale, 2, True)
    result = expect_tensor(
        roi_align(features, boxes, output_size, scale, 2, True),
        "roi_align(features, [boxes of each image], ...)",
        shape=tuple(expected.shape),
    )
    expect_close(result, expected, "aligned values, RoIs given as a list per image", atol=1e-4)


def large_map_case() -> tuple[Tensor, Tensor]:
    """A 2 x 4 x 40 x 50 map and RoIs of several hundred pixels (scale 1/16)."""
    generator = torch.Generator().manual_seed(7)
    features = torch.rand(2, 4, 40, 50, generator=generator)
    corners = torch.rand(12, 2, generator=generator) * 500
    sizes = 20 + torch.rand(12, 2, generator=generator) * 300
    index = torch.arange(12).remainder(2).float()[:, None]
    return features, torch.cat([index, corners, corners + sizes], dim=1)


@exercise("roi.roi_pool", points=1)
def test_roi_pool_half_precision_and_autocast_as_float32():
    """float16/bfloat16 inputs and CPU autocast pool the bins torchvision pools in float32."""
    roi_pool = student("roi.roi_pool")
    features, rois = large_map_case()
    for dtype in (torch.float16, torch.bfloat16):
        low_features, low_rois = features.to(dtype), rois.to(dtype)
        expected = torchvision.ops.roi_pool(low_features.float(), low_rois.float(), (7, 7), 1 / 16)
        result = expect_tensor(
            roi_pool(low_features, low_rois, (7, 7), 1 / 16), f"roi_pool of {dtype} inputs",
            shape=tuple(expected.shape), dtype=dtype,
        )  # fmt: skip
        expect_close(result, expected, f"pooled values of {dtype} inputs", atol=1e-2, rtol=1e-2)
    expected = torchvision.ops.roi_pool(features, rois, (7, 7), 1 / 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = roi_pool(features, rois, (7, 7), 1 / 16)
    expect_close(result, expected, "pooled values under CPU autocast (bfloat16)", atol=1e-5)


@exercise("roi.roi_align", points=1)
def test_roi_align_half_precision_and_autocast_as_float32():
    """float16/bfloat16 inputs and CPU autocast give torchvision's float32 answer (to output precision)."""
    roi_align = student("roi.roi_align")
    features, rois = large_map_case()
    for dtype in (torch.float16, torch.bfloat16):
        low_features, low_rois = features.to(dtype), rois.to(dtype)
        expected = torchvision.ops.roi_align(
            low_features.float(), low_rois.float(), (7, 7), 1 / 16, 2, True
        )
        result = expect_tensor(
            roi_align(low_features, low_rois, (7, 7), 1 / 16, 2, True),
            f"roi_align of {dtype} inputs", shape=tuple(expected.shape), dtype=dtype,
        )  # fmt: skip
        expect_close(result, expected, f"aligned values of {dtype} inputs", atol=1e-2, rtol=0)
    expected = torchvision.ops.roi_align(features, rois, (7, 7), 1 / 16, 2, True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = roi_align(features, rois, (7, 7), 1 / 16, 2, True)
    expect_close(result, expected, "aligned values under CPU autocast (bfloat16)", atol=1e-4)


@exercise("roi.roi_pool", points=1)
def test_roi_pool_no_rois_and_bad_shapes():
    """Zero RoIs give an empty [0, C, PH, PW] result; rois not [K, 5] raise ValueError."""
    roi_pool = student("roi.roi_pool")
    features = torch.rand(1, 3, 6, 6)
    expect_tensor(
        roi_pool(features, torch.zeros(0, 5), (2, 3), 1.0), "roi_pool of 0 RoIs", shape=(0, 3, 2, 3)
    )
    expect_tensor(
        roi_pool(features, [torch.zeros(0, 4)], (2, 3), 1.0),
        "roi_pool of [empty]",
        shape=(0, 3, 2, 3),
    )
    try:
        roi_pool(features, torch.zeros(2, 4), (2, 2), 1.0)
    except ValueError:
        return
    except Exception as error:
        expect(
            False,
            f"rois of shape [2, 4] should raise ValueError, got {type(error).__name__}: {error}",
        )
    expect(False, "rois of shape [2, 4] should raise ValueError (they need the batch index)")


@holds_for_constants
@exercise("roi.roi_align", points=1)
def test_roi_align_no_rois_and_empty_adaptive_roi():
    """Zero RoIs give [0, C, PH, PW]; a zero-size RoI with sampling_ratio <= 0 has no samples: 0 (torchvision)."""
    roi_align = student("roi.roi_align")
    features = torch.rand(1, 2, 6, 6) + 1.0
    expect_tensor(
        roi_align(features, torch.zeros(0, 5), (2, 2), 1.0, 2, True),
        "roi_align of 0 RoIs",
        shape=(0, 2, 2, 2),
    )
    point = torch.tensor([[0.0, 3.0, 3.0, 3.0, 3.0]])
    expected = torchvision.ops.roi_align(features, point, (2, 2), 1.0, 0, True)
    expect_close(
        roi_align(features, point, (2, 2), 1.0, 0, True), expected,
        "RoIAlign of a zero-size RoI with sampling_ratio=0 (no sample points: 0)",
    )  # fmt: skip


# ----------------------------------------------------------------------------- contract (issue 11)
# Gradient flow of roi_pool (as torchvision's backward), zero RoIs, the dtype of the features.


@exercise("roi.roi_pool", points=2)
def test_roi_pool_gradient_matches_torchvision():
    """roi_pool's output requires grad, and its gradient w.r.t. the features equals torchvision's."""
    roi_pool = student("roi.roi_pool")
    generator = torch.Generator().manual_seed(0)
    values = torch.randperm(2 * 3 * 9 * 11, generator=generator).to(torch.float64)
    features = (values / values.numel()).reshape(2, 3, 9, 11).requires_grad_()
    theirs = features.detach().clone().requires_grad_()
    rois = torch.tensor(
        [[0, 8.0, 8.0, 120.0, 100.0], [1, 40.0, 0.0, 170.0, 140.0], [1, 0.0, 30.0, 60.0, 60.0]],
        dtype=torch.float64,
    )
    output = roi_pool(features, rois, (3, 4), 1 / 16)
    expect(
        isinstance(output, Tensor) and output.requires_grad,
        "roi_pool's output should require grad when the features do (no .detach(), no"
        " torch.no_grad(), no copy through .tolist() or numpy)",
    )
    expected = torchvision.ops.roi_pool(theirs, rois, (3, 4), 1 / 16)
    weights = torch.randn(expected.shape, dtype=torch.float64, generator=generator)
    (output * weights).sum().backward()
    (expected * weights).sum().backward()
    expect(features.grad is not None, "no gradient reached the features")
    expect_close(
        features.grad, theirs.grad, "gradient of roi_pool w.r.t. the features (torchvision's)"
    )


@holds_for_constants
@exercise("roi.roi_pool", points=1)
def test_roi_pool_zero_rois_and_dtype():
    """No RoIs give Tensor[0, C, PH, PW]; the output has the features' dtype."""
    roi_pool = student("roi.roi_pool")
    for dtype in (torch.float32, torch.float64):
        features = torch.rand(2, 3, 5, 6, dtype=dtype)
        output = expect_tensor(
            roi_pool(features, torch.zeros(0, 5, dtype=dtype), (7, 7), 1 / 16),
            f"roi_pool with no RoIs ({dtype})",
            shape=(0, 3, 7, 7),
        )
        expect(output.dtype == dtype, f"roi_pool returned {output.dtype} for {dtype} features")
        rois = torch.tensor([[1, 0.0, 0.0, 40.0, 40.0]], dtype=dtype)
        pooled = expect_tensor(
            roi_pool(features, rois, (2, 2), 1 / 16), "one RoI", shape=(1, 3, 2, 2)
        )
        expect(pooled.dtype == dtype, f"roi_pool returned {pooled.dtype} for {dtype} features")


@holds_for_constants
@exercise("roi.roi_align", points=1)
def test_roi_align_zero_rois_and_dtype():
    """No RoIs give Tensor[0, C, PH, PW]; the output has the features' dtype."""
    roi_align = student("roi.roi_align")
    for dtype in (torch.float32, torch.float64):
        features = torch.rand(2, 3, 5, 6, dtype=dtype)
        output = expect_tensor(
            roi_align(features, torch.zeros(0, 5, dtype=dtype), (7, 7), 1 / 16, 2, True),
            f"roi_align with no RoIs ({dtype})",
            shape=(0, 3, 7, 7),
        )
        expect(output.dtype == dtype, f"roi_align returned {output.dtype} for {dtype} features")


@exercise("roi.roi_align", points=1)
def test_roi_align_defaults():
    """The defaults are sampling_ratio=2 and aligned=True (torchvision's values in this course)."""
    roi_align = student("roi.roi_align")
    features = torch.rand(1, 2, 6, 7, generator=torch.Generator().manual_seed(3))
    rois = torch.tensor([[0, 3.0, 5.0, 70.0, 60.0], [0, 10.0, 0.0, 40.0, 90.0]])
    expected = torchvision.ops.roi_align(features, rois, (3, 2), 1 / 16, 2, True)
    expect_close(
        roi_align(features, rois, (3, 2), 1 / 16),
        expected,
        "roi_align without sampling_ratio and aligned (defaults 2 and True)",
    )


# ----------------------------------------------------------------------------- shapes, boundaries, defaults (issue 11)
# Survivors of the first mutation run: rois of a bad shape must raise ValueError (for both forms
# of torchvision's API), a sample point exactly one cell outside the map (or exactly on its far
# edge) still counts, and the documented defaults.


def bad_inputs(features: Tensor) -> list[tuple[object, object, str]]:
    """``(features, rois, what)`` that the docstrings say raise ValueError."""
    batch = features.shape[0]
    box = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    return [
        (features, torch.zeros(2, 4), "rois [2, 4] (no batch index)"),
        (features, torch.zeros(2, 6), "rois [2, 6]"),
        (features, torch.zeros(5), "1-D rois [5]"),
        (features, torch.zeros(2, 5, 1), "3-D rois [2, 5, 1]"),
        (features, [torch.zeros(2, 5)], "a list holding [2, 5] boxes (per-image boxes are [L, 4])"),
        (features, [torch.zeros(4)], "a list holding 1-D boxes [4]"),
        (features, [torch.zeros(1, 4, 1)], "a list holding 3-D boxes [1, 4, 1]"),
        (features, [box, [0.0, 0.0, 4.0, 4.0]], "a list holding a Python list, not a tensor"),
        (features, [box] * (batch + 1), f"{batch + 1} lists of boxes for {batch} images"),
        (features[0], torch.tensor([[0.0, 0, 0, 4, 4]]), "features [C, H, W] (no batch)"),
    ]


@exercise("roi.roi_pool", points=1)
def test_roi_pool_rejects_badly_shaped_inputs():
    """rois neither [K, 5] nor a list of at most B tensors [L_i, 4], or features not 4-D: ValueError."""
    roi_pool = student("roi.roi_pool")
    features = torch.rand(2, 1, 6, 6)
    boxes = [torch.tensor([[0.0, 0, 4, 4]]), torch.tensor([[1.0, 1, 5, 5]])]  # B' = B is fine
    expected = torchvision.ops.roi_pool(features, boxes, (2, 2), 1.0)
    expect_close(roi_pool(features, boxes, (2, 2), 1.0), expected, "a list of B boxes tensors")
    for feature_map, rois, what in bad_inputs(features):
        raises_value_error(
            lambda feature_map=feature_map, rois=rois: roi_pool(feature_map, rois, (2, 2), 1.0),
            f"roi_pool with {what}",
        )


@exercise("roi.roi_align", points=1)
def test_roi_align_rejects_badly_shaped_inputs():
    """rois neither [K, 5] nor a list of at most B tensors [L_i, 4], or features not 4-D: ValueError."""
    roi_align = student("roi.roi_align")
    features = torch.rand(2, 1, 6, 6)
    boxes = [torch.tensor([[0.0, 0, 4, 4]]), torch.tensor([[1.0, 1, 5, 5]])]  # B' = B is fine
    expected = torchvision.ops.roi_align(features, boxes, (2, 2), 1.0, 2, True)
    expect_close(
        roi_align(features, boxes, (2, 2), 1.0, 2, True),
        expected,
        "a list of B boxes tensors",
        atol=1e-5,
    )
    for feature_map, rois, what in bad_inputs(features):
        raises_value_error(
            lambda feature_map=feature_map, rois=rois: roi_align(
                feature_map, rois, (2, 2), 1.0, 2, True
            ),
            f"roi_align with {what}",
        )


@exercise("roi.roi_align", points=1)
def test_roi_align_samples_exactly_one_cell_outside_count():
    """A sample point at exactly -1 or exactly H (W) still counts; a little further it is 0.

    On a 4x4 map numbered 1..16, one sample per bin (``sampling_ratio=1``, 1x1 output) at the
    centre of the RoI: RoI (-2, -2, 0, 0) unaligned samples (-1, -1), which is clamped to
    cell (0, 0): value 1. RoI (3, 3, 5, 5) samples (4, 4), the far edge: value 16.
    Shifted by 0.01 px outward, both are beyond one cell and give 0 (torchvision's rule).
    """
    roi_align = student("roi.roi_align")
    features = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    cases = (
        ([-2.0, -2.0, 0.0, 0.0], False, 1.0, "sample at (-1, -1)"),
        ([-2.0, 1.0, 0.0, 3.0], False, 9.0, "sample at x = -1, y = 2"),
        ([1.0, -2.0, 3.0, 0.0], False, 3.0, "sample at x = 2, y = -1"),
        ([3.0, 3.0, 5.0, 5.0], False, 16.0, "sample at (4, 4) = (W, H)"),
        ([3.5, 3.5, 5.5, 5.5], True, 16.0, "aligned: sample at (4, 4)"),
        ([-1.5, -1.5, 0.5, 0.5], True, 1.0, "aligned: sample at (-1, -1)"),
        ([-2.01, -2.01, -0.01, -0.01], False, 0.0, "sample at (-1.01, -1.01)"),
        ([3.01, 3.01, 5.01, 5.01], False, 0.0, "sample at (4.01, 4.01)"),
    )
    for box, aligned, by_hand, what in cases:
        rois = torch.tensor([[0.0, *box]])
        expected = torchvision.ops.roi_align(features, rois, (1, 1), 1.0, 1, aligned)
        expect_close(expected, torch.tensor([[[[by_hand]]]]), f"(oracle) {what}", atol=0)
        expect_close(
            roi_align(features, rois, (1, 1), 1.0, 1, aligned),
            expected,
            f"RoIAlign {box} (aligned={aligned}): {what}; points more than one cell outside"
            " the map are 0, points up to one cell outside are clamped onto it",
            atol=1e-6,
        )


@exercise("roi.roi_pool", points=1)
def test_roi_pool_defaults():
    """The defaults are output_size=(7, 7) and spatial_scale=1/16."""
    roi_pool = student("roi.roi_pool")
    features = torch.rand(1, 2, 9, 11, generator=torch.Generator().manual_seed(5))
    rois = torch.tensor([[0, 3.0, 5.0, 150.0, 120.0], [0, 10.0, 0.0, 60.0, 140.0]])
    expected = torchvision.ops.roi_pool(features, rois, (7, 7), 1 / 16)
    result = expect_tensor(roi_pool(features, rois), "roi_pool(features, rois)", shape=(2, 2, 7, 7))
    expect_close(result, expected, "roi_pool without output_size, spatial_scale (7x7, 1/16)")


@exercise("roi.roi_align", points=1)
def test_roi_align_default_size_and_scale():
    """The defaults output_size=(7, 7) and spatial_scale=1/16 (with sampling_ratio 2, aligned)."""
    roi_align = student("roi.roi_align")
    features = torch.rand(1, 2, 9, 11, generator=torch.Generator().manual_seed(5))
    rois = torch.tensor([[0, 3.0, 5.0, 150.0, 120.0], [0, 10.0, 0.0, 60.0, 140.0]])
    expected = torchvision.ops.roi_align(features, rois, (7, 7), 1 / 16, 2, True)
    result = expect_tensor(
        roi_align(features, rois), "roi_align(features, rois)", shape=(2, 2, 7, 7)
    )
    expect_close(result, expected, "roi_align with every default (7x7, 1/16, 2, aligned)")


# ----------------------------------------------------------------------------- second mutation run (issue 11)
# An empty list of boxes, no RoIs in the autograd graph, the bins of float64 maps, and bfloat16
# RoIs at a scale that is not a power of two (their product rounds differently in bfloat16).


@holds_for_constants
@exercise("roi.roi_pool", points=1)
def test_roi_pool_empty_list_of_boxes():
    """An empty list (B' = 0 images with boxes) pools to Tensor[0, C, PH, PW] of the features' dtype."""
    roi_pool = student("roi.roi_pool")
    for dtype in (torch.float32, torch.float64):
        features = torch.rand(2, 3, 5, 6, dtype=dtype)
        result = expect_tensor(
            roi_pool(features, [], (2, 3), 1.0), "roi_pool(features, [])", shape=(0, 3, 2, 3)
        )
        expect(result.dtype == dtype, f"roi_pool of [] returned {result.dtype} for {dtype}")


@holds_for_constants
@exercise("roi.roi_align", points=1)
def test_roi_align_empty_list_of_boxes():
    """An empty list (B' = 0 images with boxes) aligns to Tensor[0, C, PH, PW] of the features' dtype."""
    roi_align = student("roi.roi_align")
    for dtype in (torch.float32, torch.float64):
        features = torch.rand(2, 3, 5, 6, dtype=dtype)
        result = expect_tensor(
            roi_align(features, [], (2, 3), 1.0, 2, True),
            "roi_align(features, [])",
            shape=(0, 3, 2, 3),
        )
        expect(result.dtype == dtype, f"roi_align of [] returned {result.dtype} for {dtype}")


@exercise("roi.roi_align", points=1)
def test_roi_align_zero_rois_stay_in_the_autograd_graph():
    """With no RoIs the output still requires grad (as torchvision's) and backward gives zeros."""
    roi_align = student("roi.roi_align")
    features = torch.rand(1, 2, 5, 6, dtype=torch.float64).requires_grad_()
    theirs = torchvision.ops.roi_align(
        features.detach().clone().requires_grad_(),
        torch.zeros(0, 5, dtype=torch.float64),
        (2, 2),
        1.0,
        2,
        True,
    )
    expect(theirs.requires_grad, "(oracle: torchvision's empty output requires grad)")
    output = roi_align(features, torch.zeros(0, 5, dtype=torch.float64), (2, 2), 1.0, 2, True)
    expect_tensor(output, "roi_align of 0 RoIs", shape=(0, 2, 2, 2))
    expect(
        output.requires_grad,
        "roi_align of 0 RoIs should still depend on the features (a loss over an image without"
        " proposals back-propagates zeros instead of failing)",
    )
    output.sum().backward()
    gradient = features.grad if features.grad is not None else None
    expect(gradient is not None, "no gradient reached the features")
    expect(float(gradient.abs().sum()) == 0.0, "the gradient of 0 RoIs is zero")


@exercise("roi.roi_pool", points=1)
def test_roi_pool_float64_bins_like_torchvision():
    """float64 maps pool the bins of torchvision's float64 kernel (bin edges in float64).

    A 1-cell RoI split into 3 bins: bin 2 ends at ceil(3 * (1/3)) = 1 in float64, but at 2 when
    1/3 is rounded to float32 first, which pulls in the next row. Many RoI lengths and output
    sizes make such edges.
    """
    roi_pool = student("roi.roi_pool")
    generator = torch.Generator().manual_seed(9)
    features = torch.rand(1, 2, 12, 13, dtype=torch.float64, generator=generator)
    rows = [[0.0, x, y, x + w, y + h] for x, y in ((0, 0), (2, 1), (5, 4)) for w, h in
            ((0, 0), (1, 2), (4, 6), (6, 3), (7, 7))]  # fmt: skip
    rois = torch.tensor(rows, dtype=torch.float64)
    for output_size in ((3, 3), (7, 7), (5, 6), (6, 11)):
        expected = torchvision.ops.roi_pool(features, rois, output_size, 1.0)
        result = expect_tensor(
            roi_pool(features, rois, output_size, 1.0),
            f"roi_pool of a float64 map, output {output_size}",
            shape=tuple(expected.shape),
        )
        expect(result.dtype == torch.float64, f"float64 features gave {result.dtype}")
        expect_close(
            result, expected, f"float64 bins (output {output_size}), as torchvision's", atol=0
        )


@exercise("roi.roi_pool", points=1)
def test_roi_pool_bfloat16_rois_are_scaled_in_float32():
    """bfloat16 RoIs are scaled in float32: at scale 0.3, 108 px is cell 32.4 -> 32, not 33.

    In bfloat16 the product 108 * 0.3 rounds to 32.5, which C round takes to 33: the bin edges
    move by a whole cell. torchvision, on the float32 copies, is the oracle.
    """
    roi_pool = student("roi.roi_pool")
    features = torch.rand(1, 1, 70, 70, generator=torch.Generator().manual_seed(2))
    rois = torch.tensor([[0.0, 108.0, 108.0, 200.0, 200.0], [0.0, 118.0, 128.0, 230.0, 150.0]])
    low_features, low_rois = features.to(torch.bfloat16), rois.to(torch.bfloat16)
    expected = torchvision.ops.roi_pool(low_features.float(), low_rois.float(), (4, 4), 0.3)
    result = expect_tensor(
        roi_pool(low_features, low_rois, (4, 4), 0.3),
        "roi_pool of bfloat16 inputs at scale 0.3",
        shape=(2, 1, 4, 4),
        dtype=torch.bfloat16,
    )
    expect_close(
        result.float(),
        expected.to(torch.bfloat16).float(),
        "bins of bfloat16 RoIs (scaled in float32)",
        atol=0,
    )
