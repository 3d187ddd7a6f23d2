"""torchvision's op tests (``test/test_ops.py``, ``test_models_detection_utils.py``), ported.

Written afresh against ``solutions/``: the same kinds of case — loop references for the RoI ops
over dtypes and memory layouts, gradcheck, bad box shapes, per-image box lists, autocast, NMS
against a plain greedy reference and its input errors, box IoU on hand-checked and half-precision
boxes, BoxCoder round trips and empty inputs. Out of scope, as the docs say: quantized tensors,
TorchScript, torch.fx tracing, CUDA/MPS kernels and deterministic-algorithm flags (the course's
ops are plain PyTorch functions; their GPU path is PyTorch's own).
"""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch.autograd import gradcheck
from torchvision.models.detection._utils import BoxCoder

from solutions import metrics, roi, rpn

# ----------------------------------------------------------------------------- loop references


def loop_roi_pool(x: torch.Tensor, rois: torch.Tensor, pool_h: int, pool_w: int, scale: float):
    """RoI max pooling the slow way: C-rounded RoI, inclusive end cell, floor/ceil bins."""
    out = torch.zeros(len(rois), x.shape[1], pool_h, pool_w, dtype=torch.float64)
    for index, (image, *corners) in enumerate(rois.tolist()):
        x1, y1, x2, y2 = (math.floor(abs(v * scale) + 0.5) * (1 if v >= 0 else -1) for v in corners)
        region = x[int(image), :, max(y1, 0) : y2 + 1, max(x1, 0) : x2 + 1].double()
        height, width = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for i in range(pool_h):
            for j in range(pool_w):
                top = math.floor(i * height / pool_h) + y1
                bottom = math.ceil((i + 1) * height / pool_h) + y1
                left = math.floor(j * width / pool_w) + x1
                right = math.ceil((j + 1) * width / pool_w) + x1
                top, bottom = max(top, 0), min(bottom, x.shape[2])
                left, right = max(left, 0), min(right, x.shape[3])
                if bottom > top and right > left:
                    cell = x[int(image), :, top:bottom, left:right].double()
                    out[index, :, i, j] = cell.reshape(x.shape[1], -1).max(dim=1).values
    del region
    return out


def bilinear(data: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """One bilinear sample of a ``[C, H, W]`` map, torchvision's edge rules."""
    height, width = data.shape[-2:]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return torch.zeros(data.shape[0], dtype=torch.float64)
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    d = data.double()
    return (
        hy * hx * d[:, y_low, x_low]
        + hy * lx * d[:, y_low, x_high]
        + ly * hx * d[:, y_high, x_low]
        + ly * lx * d[:, y_high, x_high]
    )


def loop_roi_align(x, rois, pool_h, pool_w, scale, sampling_ratio, aligned):
    offset = 0.5 if aligned else 0.0
    out = torch.zeros(len(rois), x.shape[1], pool_h, pool_w, dtype=torch.float64)
    for index, (image, *corners) in enumerate(rois.tolist()):
        x1, y1, x2, y2 = (v * scale - offset for v in corners)
        roi_w, roi_h = x2 - x1, y2 - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / pool_h, roi_w / pool_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / pool_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pool_w)
        count = max(grid_h * grid_w, 1)
        for i in range(pool_h):
            for j in range(pool_w):
                total = torch.zeros(x.shape[1], dtype=torch.float64)
                for iy in range(grid_h):
                    y = y1 + i * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        xx = x1 + j * bin_w + (ix + 0.5) * bin_w / grid_w
                        total += bilinear(x[int(image)], y, xx)
                out[index, :, i, j] = total / count
    return out


ROIS = [[0, 0, 0, 9, 9], [0, 0, 5, 4, 9], [0, 5, 5, 9, 9], [1, 0, 0, 9, 9]]  # the test's RoIs


def feature_map(dtype: torch.dtype, contiguous: bool) -> torch.Tensor:
    x = torch.rand(2, 6, 10, 10, generator=torch.Generator().manual_seed(0)).to(dtype)
    return x if contiguous else x.permute(0, 1, 3, 2)


TOLERANCE = {torch.float16: 4e-3, torch.bfloat16: 2e-2, torch.float32: 1e-5, torch.float64: 1e-5}
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]

# ----------------------------------------------------------------------------- roi_pool


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_roi_pool_forward(dtype, contiguous):
    x = feature_map(dtype, contiguous)
    rois = torch.tensor(ROIS, dtype=dtype)
    y = roi.roi_pool(x, rois, (5, 5), 1.0)
    assert y.dtype == x.dtype
    expected = loop_roi_pool(x, rois, 5, 5, 1.0)
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- roi_align


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_roi_align_forward(dtype, contiguous, aligned):
    x = feature_map(dtype, contiguous)
    rois = torch.tensor(ROIS, dtype=dtype)
    y = roi.roi_align(x, rois, (5, 5), 1.0, -1, aligned)
    assert y.dtype == x.dtype
    expected = loop_roi_align(x.double(), rois.double(), 5, 5, 1.0, -1, aligned)
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("sampling_ratio", [1, 2, 0])
@pytest.mark.parametrize("scale", [1.0, 0.5, 1 / 16])
def test_roi_align_matches_torchvision_on_large_rois(scale, sampling_ratio):
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 24, 30, generator=generator, dtype=torch.float64)
    corners = torch.rand(20, 2, generator=generator, dtype=torch.float64) * 30 / scale
    rois = torch.cat(
        [
            torch.arange(20).remainder(2)[:, None].double(),
            corners,
            corners + torch.rand(20, 2, generator=generator, dtype=torch.float64) * 20 / scale,
        ],
        dim=1,
    )
    for aligned in (True, False):
        expected = torchvision.ops.roi_align(x, rois, (7, 7), scale, sampling_ratio, aligned)
        got = roi.roi_align(x, rois, (7, 7), scale, sampling_ratio, aligned)
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("name", ["roi_pool", "roi_align"])
def test_backward_gradcheck(name, seed, contiguous):
    torch.manual_seed(seed)
    x = torch.rand(1, 8, 5, 5, dtype=torch.float64)
    x = (x if contiguous else x.permute(0, 1, 3, 2)).requires_grad_()
    rois = torch.tensor([[0, 0, 0, 4, 4], [0, 0, 2, 3, 4], [0, 2, 2, 4, 4]], dtype=torch.float64)
    extra = (1, False) if name == "roi_align" else ()
    op = getattr(roi, name)
    assert gradcheck(lambda z: op(z, rois, (2, 2), 1.0, *extra), (x,), atol=1e-5)


# ----------------------------------------------------------------------------- both RoI ops


@pytest.mark.parametrize("op", [roi.roi_pool, roi.roi_align], ids=["roi_pool", "roi_align"])
def test_boxes_shape_errors(op):
    a = torch.linspace(1, 64, 64).reshape(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\[K, 5\]"):
        op(a, torch.tensor([[0, 0, 3, 3]], dtype=a.dtype), (2, 2), 1.0)
    with pytest.raises(ValueError, match=r"rois\[0\] should be Tensor\[L, 4\]"):
        op(a, [torch.tensor([[0, 0, 3]], dtype=a.dtype)], (2, 2), 1.0)
    with pytest.raises(ValueError, match=r"\[B, D, H, W\]"):
        op(a[0], torch.tensor([[0, 0, 0, 3, 3]], dtype=a.dtype), (2, 2), 1.0)


@pytest.mark.parametrize("op", [roi.roi_pool, roi.roi_align], ids=["roi_pool", "roi_align"])
def test_boxes_as_list_per_image(op):
    x = torch.rand(2, 1, 10, 10)
    boxes = torch.tensor([[0, 0, 9, 9], [0, 5, 4, 9], [5, 5, 9, 9], [0, 0, 9, 9.0]])
    as_rois = torch.cat([torch.tensor([[0.0], [0], [0], [1]]), boxes], dim=1)
    from_list = op(x, [boxes[:3], boxes[3:]], (3, 3), 1.0)
    torch.testing.assert_close(from_list, op(x, as_rois, (3, 3), 1.0))
    assert op(x, [boxes, boxes], (3, 3), 1.0).shape == (8, 1, 3, 3)


@pytest.mark.parametrize("op", [roi.roi_pool, roi.roi_align], ids=["roi_pool", "roi_align"])
def test_empty_rois(op):
    x = torch.rand(2, 3, 10, 10, requires_grad=True)
    for rois in (torch.zeros(0, 5), [], [torch.zeros(0, 4), torch.zeros(0, 4)]):
        y = op(x, rois, (3, 3), 1.0)
        assert y.shape == (0, 3, 3, 3)
        y.sum().backward()


@pytest.mark.parametrize("rois_dtype", [torch.float32, torch.float16], ids=str)
@pytest.mark.parametrize("op", [roi.roi_pool, roi.roi_align], ids=["roi_pool", "roi_align"])
def test_cpu_autocast(op, rois_dtype):
    x = feature_map(torch.float32, False)
    rois = torch.tensor(ROIS, dtype=rois_dtype)
    expected = op(x, rois.float(), (5, 5), 1.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = op(x, rois, (5, 5), 1.0)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected)


# ----------------------------------------------------------------------------- nms


def greedy_nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> torch.Tensor:
    order = scores.argsort(descending=True, stable=True)
    iou = torchvision.ops.box_iou(boxes, boxes)
    suppressed, keep = set(), []
    for i in order.tolist():
        if i in suppressed:
            continue
        keep.append(i)
        suppressed.update(j for j in range(len(boxes)) if iou[i, j] > threshold)
    return torch.tensor(keep, dtype=torch.int64)


def random_boxes(count: int, seed: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    corners = torch.rand(count, 2, generator=generator) * 100
    sizes = 1 + torch.rand(count, 2, generator=generator) * 100  # no zero-area box (IoU 0 / 0)
    boxes = torch.cat([corners, corners + sizes], dim=1)
    return boxes.to(dtype), torch.rand(count, generator=generator).to(dtype)


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("seed", range(3))
def test_nms_reference(threshold, seed):
    boxes, scores = random_boxes(500, seed)
    keep = rpn.nms(boxes, scores, threshold)
    assert keep.dtype == torch.int64
    assert keep.tolist() == greedy_nms(boxes, scores, threshold).tolist()
    assert keep.tolist() == torchvision.ops.nms(boxes, scores, threshold).tolist()


def test_nms_input_errors():
    with pytest.raises(ValueError, match=r"boxes should be Tensor\[N, 4\]"):
        rpn.nms(torch.rand(4), torch.rand(3), 0.5)
    with pytest.raises(ValueError, match=r"boxes should be Tensor\[N, 4\]"):
        rpn.nms(torch.rand(3, 5), torch.rand(3), 0.5)
    with pytest.raises(ValueError, match=r"scores should be Tensor\[3\]"):
        rpn.nms(torch.rand(3, 4), torch.rand(3, 2), 0.5)
    with pytest.raises(ValueError, match=r"scores should be Tensor\[3\]"):
        rpn.nms(torch.rand(3, 4), torch.rand(4), 0.5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_nms_half_precision_like_float32(dtype):
    boxes, scores = random_boxes(300, 4)
    boxes = boxes * 4  # areas past float16's range
    low_boxes, low_scores = boxes.to(dtype), scores.to(dtype)
    expected = torchvision.ops.nms(low_boxes.float(), low_scores.float(), 0.5)
    assert rpn.nms(low_boxes, low_scores, 0.5).tolist() == expected.tolist()


def test_nms_empty_and_ties():
    assert rpn.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    boxes = torch.tensor([[0, 0, 10, 10.0], [0, 0, 10, 10], [20, 20, 30, 30]])
    assert rpn.nms(boxes, torch.tensor([0.5, 0.5, 0.5]), 0.5).tolist() == [0, 2]


# ----------------------------------------------------------------------------- box_iou


def test_box_iou_hand_checked():
    boxes = torch.tensor([[0, 0, 100, 100], [0, 0, 50, 50], [200, 200, 300, 300.0]])
    expected = torch.tensor([[1.0, 0.25, 0.0], [0.25, 1.0, 0.0], [0.0, 0.0, 1.0]])
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        got = metrics.box_iou(boxes.to(dtype), boxes.to(dtype))
        torch.testing.assert_close(got.double(), expected.double(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_box_iou_half_precision_large_boxes(dtype):
    boxes, _ = random_boxes(50, 5)
    boxes = (boxes * 5).to(dtype)  # up to ~1000 px: areas overflow float16
    got = metrics.box_iou(boxes, boxes)
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    # exact IoU of the half-precision boxes (torchvision subtracts in half first: less accurate)
    exact = torchvision.ops.box_iou(boxes.double(), boxes.double()).float()
    torch.testing.assert_close(got, exact, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got, torchvision.ops.box_iou(boxes, boxes), atol=1e-2, rtol=0)


def test_box_iou_empty():
    assert metrics.box_iou(torch.zeros(0, 4), torch.rand(3, 4)).shape == (0, 3)
    assert metrics.box_iou(torch.rand(3, 4), torch.zeros(0, 4)).shape == (3, 0)


# ----------------------------------------------------------------------------- BoxCoder


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_box_coder_round_trip_and_torchvision(weights):
    boxes, _ = random_boxes(64, 6)
    anchors, _ = random_boxes(64, 7)
    coder = BoxCoder(weights)
    codes = rpn.encode_boxes(boxes, anchors, weights)
    torch.testing.assert_close(codes, coder.encode_single(boxes, anchors))
    decoded = rpn.decode_boxes(codes, anchors, weights)
    torch.testing.assert_close(decoded, boxes, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(decoded, coder.decode_single(codes, anchors))


def test_box_coder_empty():
    anchors = torch.zeros(0, 4)
    assert rpn.decode_boxes(torch.zeros(0, 4), anchors).shape == (0, 4)
    assert rpn.decode_boxes(torch.zeros(0, 12), anchors).shape == (0, 12)
    assert rpn.encode_boxes(torch.zeros(0, 4), anchors).shape == (0, 4)
