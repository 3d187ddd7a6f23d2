"""Checks for lesson 3, ``metrics``: IoU, Dice, DiceCE and mean average precision.

Oracles: ``torchvision.ops.box_iou``, ``F.binary_cross_entropy_with_logits``, counting pixels
with NumPy, mathematical properties, and small cases worked out by hand below.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from checks.harness import exercise, expect, expect_close, expect_tensor, student
from checks.scoring import holds_for_constants
from checks.strategies import boxes, mask_pairs, masks

# ----------------------------------------------------------------------------- oracles


def counted_iou(pred: Tensor, target: Tensor) -> Tensor:
    """IoU by counting pixels with NumPy, per sample; 1.0 when both masks are empty."""
    pred_array, target_array = pred.bool().numpy(), target.bool().numpy()
    result = []
    for p, t in zip(pred_array, target_array, strict=True):
        union = np.logical_or(p, t).sum()
        result.append(1.0 if union == 0 else np.logical_and(p, t).sum() / union)
    return torch.tensor(result, dtype=torch.float32)


def area_under_envelope(recall: list[float], precision: list[float]) -> float:
    """VOC all-point AP, the slow way: for each recall step, the best precision at >= recall."""
    points = list(zip(recall, precision, strict=True))
    area, previous_recall = 0.0, 0.0
    for level in sorted(set(recall)):
        best = max(p for r, p in points if r >= level)
        area += (level - previous_recall) * best
        previous_recall = level
    return area


def reference_ap(recall: Tensor, precision: Tensor) -> float:
    return area_under_envelope(recall.tolist(), precision.tolist())


def mean_ap(**references):
    """The student's mean_average_precision with reference box_iou and average_precision."""
    return student(
        "metrics.mean_average_precision",
        box_iou=references.get("box_iou", torchvision.ops.box_iou),
        average_precision=reference_ap,
    )


def image(
    boxes_list: list[list[float]], labels: list[int], scores: list[float] | None = None
) -> dict:
    entry = {
        "boxes": torch.tensor(boxes_list, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }
    if scores is not None:
        entry["scores"] = torch.tensor(scores, dtype=torch.float32)
    return entry


# ----------------------------------------------------------------------------- mask_iou


@exercise("metrics.mask_iou", points=1)
def test_mask_iou_hand_computed():
    """A 3x3 case worked by hand: 2 shared pixels of 5 in the union gives 0.4, per sample."""
    mask_iou = student("metrics.mask_iou")
    pred = torch.tensor([[[1, 1, 1], [0, 0, 0], [0, 0, 0]], [[1, 0, 0], [0, 0, 0], [0, 0, 0]]])
    target = torch.tensor([[[0, 1, 1], [1, 1, 0], [0, 0, 0]], [[1, 0, 0], [0, 0, 0], [0, 0, 0]]])
    result = expect_tensor(
        mask_iou(pred.float(), target.float()), "mask_iou(pred, target)", shape=(2,)
    )
    expect_close(result, torch.tensor([0.4, 1.0]), "IoU of each sample (not pooled over the batch)")


@exercise("metrics.mask_iou", points=2)
@settings(max_examples=60)
@given(mask_pairs())
def test_mask_iou_counts_pixels(pair):
    """IoU per sample equals |P∩T| / |P∪T| counted pixel by pixel (1.0 when both are empty)."""
    mask_iou = student("metrics.mask_iou")
    pred, target = pair
    result = expect_tensor(mask_iou(pred, target), "mask_iou(pred, target)", shape=(pred.shape[0],))
    expect(result.is_floating_point(), f"mask_iou should return floats, got {result.dtype}")
    expect_close(result, counted_iou(pred, target), "IoU of each sample (bool masks)")
    expect_close(
        mask_iou(pred.float(), target.float()),
        counted_iou(pred, target),
        "IoU of {0,1} float masks",
    )


@exercise("metrics.mask_iou", points=1)
@settings(max_examples=30)
@given(masks(allow_empty=True))
def test_mask_iou_empty_and_identical(mask):
    """IoU of a mask with itself is 1 (empty too); with an empty prediction it is 0."""
    mask_iou = student("metrics.mask_iou")
    ones = torch.ones(mask.shape[0])
    expect_close(mask_iou(mask, mask), ones, "IoU of a mask with itself (both empty counts as 1.0)")
    empty = torch.zeros_like(mask)
    expected = (~mask.flatten(1).any(dim=1)).float()  # 1 where the target is empty too
    expect_close(mask_iou(empty, mask), expected, "IoU of an empty prediction")


# ----------------------------------------------------------------------------- dice


@exercise("metrics.dice_coefficient", points=2)
@settings(max_examples=60)
@given(mask_pairs())
def test_dice_is_a_function_of_iou(pair):
    """Dice = 2·IoU / (1 + IoU) for every pair of masks (IoU counted independently)."""
    dice = student("metrics.dice_coefficient")
    pred, target = pair
    iou = counted_iou(pred, target)
    result = expect_tensor(
        dice(pred, target), "dice_coefficient(pred, target)", shape=(pred.shape[0],)
    )
    expect_close(result, 2 * iou / (1 + iou), "Dice of each sample")


@exercise("metrics.dice_coefficient", points=1)
def test_dice_hand_computed():
    """Worked by hand: 2·2 / (3 + 4) for the first sample; both empty counts as 1.0."""
    dice = student("metrics.dice_coefficient")
    pred = torch.tensor([[[1, 1, 1], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]]], dtype=torch.bool)
    target = torch.tensor([[[0, 1, 1], [1, 1, 0]], [[0, 0, 0], [0, 0, 0]]], dtype=torch.bool)
    expect_close(dice(pred, target), torch.tensor([4 / 7, 1.0]), "Dice of each sample")


@holds_for_constants
@exercise("metrics.dice_coefficient", points=1)
@settings(max_examples=30)
@given(mask_pairs())
def test_dice_symmetric_and_bounded(pair):
    """Dice is symmetric and lies in [0, 1]."""
    dice = student("metrics.dice_coefficient")
    pred, target = pair
    forward, backward = dice(pred, target), dice(target, pred)
    expect_close(forward, backward, "Dice(pred, target) against Dice(target, pred)")
    expect(
        bool(((forward >= 0) & (forward <= 1)).all()), f"Dice outside [0, 1]: {forward.tolist()}"
    )


# ----------------------------------------------------------------------------- dice_ce_loss


@st.composite
def logits_and_targets(draw: st.DrawFn) -> tuple[Tensor, Tensor]:
    """Small logits in [-6, 6] (quarter steps) with a binary target of the same shape."""
    target = draw(masks(max_side=8)).float()
    count = target.numel()
    values = draw(st.lists(st.integers(-24, 24), min_size=count, max_size=count))
    return torch.tensor(values, dtype=torch.float32).reshape(target.shape) / 4, target


def soft_dice_loss(logits: Tensor, target: Tensor, smooth: float = 1e-5) -> Tensor:
    probabilities = logits.sigmoid()
    intersection = (probabilities * target).sum(dim=(-2, -1))
    total = probabilities.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    return 1 - (2 * intersection + smooth) / (total + smooth)


@exercise("metrics.dice_ce_loss", points=2)
@settings(max_examples=50)
@given(logits_and_targets())
def test_dice_ce_matches_formula(case):
    """DiceCE = mean soft Dice loss (sigmoid) + BCE-with-logits (torch's), averaged over the batch."""
    loss_fn = student("metrics.dice_ce_loss")
    logits, target = case
    loss = expect_tensor(loss_fn(logits, target), "dice_ce_loss(logits, target)", shape=())
    expected = soft_dice_loss(logits, target).mean() + F.binary_cross_entropy_with_logits(
        logits, target
    )
    expect_close(loss, expected, "DiceCE loss", atol=1e-4, rtol=1e-4)


@exercise("metrics.dice_ce_loss", points=1)
@settings(max_examples=25)
@given(logits_and_targets())
def test_dice_ce_gradient_points_to_target(case):
    """The loss is differentiable and its gradient pushes each logit towards its target."""
    loss_fn = student("metrics.dice_ce_loss")
    logits, target = case
    logits = logits.clone().requires_grad_(True)
    loss = loss_fn(logits, target)
    expect(
        isinstance(loss, Tensor) and loss.requires_grad, "the loss must keep the graph (no .item())"
    )
    loss.backward()
    gradient = expect_tensor(logits.grad, "the gradient of dice_ce_loss", shape=tuple(logits.shape))
    direction = gradient * (
        2 * target - 1
    )  # negative: raising the logit of a 1-pixel lowers the loss
    expect(bool((direction <= 1e-7).all()), "a gradient step moves some logit away from its target")


@holds_for_constants
@exercise("metrics.dice_ce_loss", points=1)
def test_dice_ce_confident_and_channel_dim():
    """Confident correct logits give ~0 loss; a [B, 1, H, W] input gives the same as [B, H, W]."""
    loss_fn = student("metrics.dice_ce_loss")
    target = torch.zeros(2, 6, 6)
    target[0, 1:4, 2:5] = 1
    target[1, 0, :] = 1
    logits = 30 * (2 * target - 1)
    expect_close(loss_fn(logits, target), 0.0, "loss of confident, correct logits", atol=1e-4)
    mixed = torch.linspace(-3, 3, 72).reshape(2, 6, 6)
    flat = loss_fn(mixed, target)
    expect_close(
        loss_fn(mixed[:, None], target[:, None]), float(flat), "loss with a channel dim", atol=1e-5
    )


# ----------------------------------------------------------------------------- box_iou


@exercise("metrics.box_iou", points=2)
@settings(max_examples=60)
@given(boxes(max_count=6), boxes(max_count=5))
def test_box_iou_matches_torchvision(boxes1, boxes2):
    """box_iou equals torchvision.ops.box_iou on valid boxes, shape [N, M]."""
    box_iou = student("metrics.box_iou")
    result = expect_tensor(
        box_iou(boxes1, boxes2), "box_iou(boxes1, boxes2)", shape=(len(boxes1), len(boxes2))
    )
    expect_close(result, torchvision.ops.box_iou(boxes1, boxes2), "IoU of each pair of boxes")


@exercise("metrics.box_iou", points=1)
def test_box_iou_disjoint_and_nested_by_hand():
    """Worked by hand: far-apart boxes give 0 (not a negative-times-negative area); nested give area ratio."""
    box_iou = student("metrics.box_iou")
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[20.0, 20.0, 30.0, 30.0], [2.0, 2.0, 7.0, 7.0], [5.0, 0.0, 15.0, 10.0]])
    expect_close(
        box_iou(a, b), torch.tensor([[0.0, 0.25, 50 / 150]]), "IoU of [0,0,10,10] with each box"
    )


@st.composite
def scaled_and_shifted(draw: st.DrawFn) -> tuple[Tensor, Tensor, float, Tensor]:
    first, second = draw(boxes(max_count=4)), draw(boxes(max_count=4))
    scale = draw(st.sampled_from([0.5, 2.0, 3.0]))
    shift = torch.tensor(
        draw(st.lists(st.integers(-20, 20), min_size=2, max_size=2)), dtype=torch.float32
    )
    return first, second, scale, shift.repeat(2)


@holds_for_constants
@exercise("metrics.box_iou", points=1)
@settings(max_examples=30)
@given(scaled_and_shifted())
def test_box_iou_properties(case):
    """IoU is symmetric, 1 on a box with itself, in [0, 1], and unchanged by scaling or shifting."""
    box_iou = student("metrics.box_iou")
    first, second, scale, shift = case
    forward = box_iou(first, second)
    expect_close(forward, box_iou(second, first).T, "IoU(a, b) against IoU(b, a)")
    expect_close(
        torch.diagonal(box_iou(first, first)), torch.ones(len(first)), "IoU of a box with itself"
    )
    expect(bool(((forward >= 0) & (forward <= 1)).all()), f"IoU outside [0, 1]: {forward.tolist()}")
    expect_close(
        box_iou(first * scale + shift, second * scale + shift), forward, "IoU after scale and shift"
    )


# ----------------------------------------------------------------------------- average_precision


@exercise("metrics.average_precision", points=2)
def test_average_precision_voc_table_by_hand():
    """A VOC-style table worked out by hand: TP, FP, TP, FP, TP over 4 ground truths gives AP 0.6.

    ranked:    TP   FP   TP   FP   TP
    recall:    .25  .25  .50  .50  .75
    precision: 1    .50  .67  .50  .60
    envelope:  1    .67  .67  .60  .60  (then 0 beyond recall .75)
    AP = .25·1 + .25·(2/3) + .25·.6 = 0.5667
    """
    average_precision = student("metrics.average_precision")
    recall = torch.tensor([0.25, 0.25, 0.5, 0.5, 0.75])
    precision = torch.tensor([1.0, 0.5, 2 / 3, 0.5, 0.6])
    expected = 0.25 * 1 + 0.25 * (2 / 3) + 0.25 * 0.6
    expect_close(
        average_precision(recall, precision), expected, "AP of the hand-worked table", atol=1e-5
    )


@st.composite
def ranked_hits(draw: st.DrawFn) -> tuple[Tensor, Tensor]:
    """Recall and precision of a random ranking of hits and misses over some ground truths."""
    hits = draw(st.lists(st.booleans(), min_size=1, max_size=15))
    total = draw(st.integers(max(1, sum(hits)), sum(hits) + 3))
    true_positives = np.cumsum(hits)
    recall = torch.tensor(true_positives / total, dtype=torch.float32)
    precision = torch.tensor(true_positives / np.arange(1, len(hits) + 1), dtype=torch.float32)
    return recall, precision


@exercise("metrics.average_precision", points=2)
@settings(max_examples=60)
@given(ranked_hits())
def test_average_precision_is_area_under_envelope(curve):
    """AP is the area under the precision envelope (all-point interpolation, VOC 2010+)."""
    average_precision = student("metrics.average_precision")
    recall, precision = curve
    expect_close(
        average_precision(recall, precision),
        area_under_envelope(recall.tolist(), precision.tolist()),
        f"AP of recall {recall.tolist()} / precision {precision.tolist()}",
        atol=1e-5,
    )


@exercise("metrics.average_precision", points=1)
def test_average_precision_perfect_ranking():
    """Perfect detections (precision 1 up to recall 1) give AP = 1; precision 0 everywhere gives 0."""
    average_precision = student("metrics.average_precision")
    recall = torch.tensor([0.25, 0.5, 0.75, 1.0])
    expect_close(average_precision(recall, torch.ones(4)), 1.0, "AP of a perfect ranking")
    expect_close(
        average_precision(torch.zeros(3), torch.zeros(3)), 0.0, "AP with no true positives"
    )


# ----------------------------------------------------------------------------- mean_average_precision


@st.composite
def annotated_images(draw: st.DrawFn) -> list[dict]:
    """1–3 images with 1–4 well-separated ground-truth boxes each, classes 1..3."""
    images = []
    for _ in range(draw(st.integers(1, 3))):
        count = draw(st.integers(1, 4))
        cells = draw(st.lists(st.integers(0, 8), min_size=count, max_size=count, unique=True))
        rows = []
        for cell in cells:  # one box per cell of a 3x3 grid of 40 px cells: no two overlap
            x, y = 40 * (cell % 3), 40 * (cell // 3)
            width, height = draw(st.integers(10, 38)), draw(st.integers(10, 38))
            rows.append([x, y, x + width, y + height])
        labels = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
        images.append(image(rows, labels))
    return images


@holds_for_constants
@exercise("metrics.mean_average_precision", points=2)
@settings(max_examples=30)
@given(annotated_images(), st.randoms(use_true_random=False))
def test_map_perfect_detections(truths, random):
    """Detections equal to the ground truths (any scores) give AP = 1 for every class, mAP = 1."""
    mean_average_precision = mean_ap()
    detections = [
        dict(truth, scores=torch.tensor([random.random() for _ in truth["labels"]]))
        for truth in truths
    ]
    result = mean_average_precision(detections, truths, 0.5, num_classes=3)
    expect(
        isinstance(result, dict) and {"map", "ap"} <= set(result),
        "return {'map': ..., 'ap': {...}}",
    )
    present = sorted({int(label) for truth in truths for label in truth["labels"]})
    expect(
        sorted(result["ap"]) == present,
        f"'ap' should hold classes {present}, got {sorted(result['ap'])}",
    )
    expect_close(result["map"], 1.0, "mAP of perfect detections")


@holds_for_constants
@exercise("metrics.mean_average_precision", points=1)
@settings(max_examples=30)
@given(annotated_images())
def test_map_low_scored_false_positive_changes_nothing(truths):
    """A false positive scored below every true positive leaves each class's AP unchanged."""
    mean_average_precision = mean_ap()
    detections = [dict(truth, scores=torch.full((len(truth["labels"]),), 0.9)) for truth in truths]
    before = mean_average_precision(detections, truths, 0.5, num_classes=3)
    extra = dict(detections[0])
    extra["boxes"] = torch.cat([extra["boxes"], torch.tensor([[200.0, 200.0, 230.0, 230.0]])])
    extra["scores"] = torch.cat([extra["scores"], torch.tensor([0.1])])
    extra["labels"] = torch.cat([extra["labels"], extra["labels"][:1]])
    after = mean_average_precision([extra, *detections[1:]], truths, 0.5, num_classes=3)
    expect_close(after["map"], before["map"], "mAP after adding a low-scored false positive")


@exercise("metrics.mean_average_precision", points=2)
def test_map_each_ground_truth_matched_once():
    """Worked by hand: a duplicate detection of a matched box is a false positive (AP 0.8333, not 1).

    one image, two ground truths A and B of class 1; detections: A (0.9), A again (0.8), B (0.7)
    ranked TP, FP, TP -> recall .5 .5 1, precision 1 .5 .667 -> AP = .5·1 + .5·.667 = 0.8333
    """
    mean_average_precision = mean_ap()
    truths = [image([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1])]
    detections = [
        image([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], [1, 1, 1], [0.9, 0.8, 0.7])
    ]
    result = mean_average_precision(detections, truths, 0.5, num_classes=1)
    expect_close(result["ap"].get(1, float("nan")), 0.5 + 0.5 * (2 / 3), "AP of class 1", atol=1e-4)


@exercise("metrics.mean_average_precision", points=2)
def test_map_hand_computed_two_classes_two_images():
    """Worked by hand over two images and two classes, with a wrong-class detection and an IoU below 0.5.

    class 1: GTs a1 (image 1), b1 (image 2). Detections ranked: a1 hit (0.95), a miss with IoU 1/3
    (0.9, FP), b1 hit (0.6) -> recall .5 .5 1, precision 1 .5 .667 -> AP 0.8333.
    class 2: GT b2 (image 2). Detections: one on a1's place (0.8, FP: wrong class), b2 hit (0.7)
    -> recall 0 1, precision 0 .5 -> AP 0.5. mAP = (0.8333 + 0.5) / 2 = 0.6667.
    class 3: no ground truth, not scored.
    """
    mean_average_precision = mean_ap()
    truths = [
        image([[0, 0, 20, 20]], [1]),
        image([[50, 50, 70, 70], [0, 0, 30, 30]], [1, 2]),
    ]
    detections = [
        image([[0, 0, 20, 20], [0, 0, 20, 20]], [1, 2], [0.95, 0.8]),
        image([[50, 60, 70, 80], [50, 50, 70, 70], [0, 0, 30, 30]], [1, 1, 2], [0.9, 0.6, 0.7]),
    ]
    result = mean_average_precision(detections, truths, 0.5, num_classes=3)
    expect(
        sorted(result["ap"]) == [1, 2],
        f"only classes with ground truth are scored, got {sorted(result['ap'])}",
    )
    expect_close(result["ap"][1], 0.5 + 0.5 * (2 / 3), "AP of class 1", atol=1e-4)
    expect_close(result["ap"][2], 0.5, "AP of class 2", atol=1e-4)
    expect_close(result["map"], (0.5 + 0.5 * (2 / 3) + 0.5) / 2, "mAP", atol=1e-4)


@exercise("metrics.mean_average_precision", points=1)
def test_map_respects_iou_threshold():
    """A detection with IoU 1/3 is a miss at threshold 0.5 and a hit at threshold 0.3."""
    mean_average_precision = mean_ap()
    truths = [image([[0, 0, 20, 20]], [1])]
    detections = [image([[0, 10, 20, 30]], [1], [0.9])]  # overlap 200, union 600
    expect_close(
        mean_average_precision(detections, truths, 0.5, num_classes=1)["map"], 0.0, "mAP at IoU 0.5"
    )
    expect_close(
        mean_average_precision(detections, truths, 0.3, num_classes=1)["map"], 1.0, "mAP at IoU 0.3"
    )


# ----------------------------------------------------------------------------- box_iou: dtypes, empty


@exercise("metrics.box_iou", points=1)
def test_box_iou_float16_large_boxes_accurate():
    """Half-precision boxes of a few hundred pixels: IoU in float32, as accurate as torchvision.

    A 300 x 300 box has area 90,000, past float16's largest value (65,504): computing areas in
    float16 gives inf and IoU NaN or 0. torchvision upcasts to float32; so must box_iou.
    """
    box_iou = student("metrics.box_iou")
    boxes1 = torch.tensor([[0.0, 0.0, 300.0, 300.0], [10.0, 20.0, 700.0, 400.0]])
    boxes2 = torch.tensor([[10.0, 10.0, 310.0, 310.0], [0.0, 0.0, 50.0, 50.0]])
    for dtype in (torch.float16, torch.bfloat16):
        a, b = boxes1.to(dtype), boxes2.to(dtype)
        result = expect_tensor(
            box_iou(a, b), f"box_iou of {dtype} boxes", shape=(2, 2), dtype=torch.float32
        )
        exact = torchvision.ops.box_iou(a.double(), b.double())  # of the rounded boxes
        expect_close(result, exact, f"IoU of {dtype} boxes", atol=2e-3)


@holds_for_constants
@exercise("metrics.box_iou", points=1)
def test_box_iou_keeps_float64_and_empty_sets():
    """float64 in, float64 out; no boxes on either side gives an empty [N, M] result."""
    box_iou = student("metrics.box_iou")
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    expect_tensor(box_iou(a, a), "box_iou of float64 boxes", shape=(1, 1), dtype=torch.float64)
    empty = torch.zeros((0, 4))
    expect_tensor(box_iou(empty, a.float()), "box_iou([0, 4], [1, 4])", shape=(0, 1))
    expect_tensor(box_iou(a.float(), empty), "box_iou([1, 4], [0, 4])", shape=(1, 0))
    expect_tensor(box_iou(empty, empty), "box_iou([0, 4], [0, 4])", shape=(0, 0))


# ----------------------------------------------------------------------------- mAP: VOC devkit rule


def devkit_voc_ap(
    detections: list[dict], truths: list[dict], class_id: int, threshold: float
) -> float | None:
    """One class's AP the way the PASCAL VOC devkit computes it (plain Python, global ranking).

    Detections of every image are pooled and stably sorted by decreasing score; each is given
    the highest-IoU ground truth of its image (first of equal IoUs); difficult ones are ignored.
    Returns None when the class has no non-difficult ground truth.
    """
    records, positives = [], 0
    for truth in truths:
        keep = (truth["labels"] == class_id).tolist()
        flags = truth.get("difficult", torch.zeros(len(keep), dtype=torch.bool)).tolist()
        rows = [box for box, k in zip(truth["boxes"].tolist(), keep, strict=True) if k]
        difficult = [bool(d) for d, k in zip(flags, keep, strict=True) if k]
        records.append({"boxes": rows, "difficult": difficult, "taken": [False] * len(rows)})
        positives += difficult.count(False)
    if positives == 0:
        return None
    pooled = []  # (score, image, box), image by image, in the given order
    for index, detection in enumerate(detections):
        for box, score, label in zip(
            detection["boxes"].tolist(),
            detection["scores"].tolist(),
            detection["labels"].tolist(),
            strict=True,
        ):
            if label == class_id:
                pooled.append((score, index, box))
    pooled.sort(key=lambda item: -item[0])  # Python's sort is stable

    def overlap(a: list[float], b: list[float]) -> float:
        width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = width * height
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union

    true_positive, false_positive = [], []
    for _, index, box in pooled:
        record = records[index]
        best, best_iou = -1, -1.0
        for j, truth_box in enumerate(record["boxes"]):
            value = overlap(box, truth_box)
            if value > best_iou:
                best, best_iou = j, value
        if best_iou >= threshold:
            if record["difficult"][best]:
                continue
            if not record["taken"][best]:
                record["taken"][best] = True
                true_positive.append(1)
                false_positive.append(0)
            else:
                true_positive.append(0)
                false_positive.append(1)
        else:
            true_positive.append(0)
            false_positive.append(1)
    recall, precision, tp, fp = [], [], 0, 0
    for hit, miss in zip(true_positive, false_positive, strict=True):
        tp, fp = tp + hit, fp + miss
        recall.append(tp / positives)
        precision.append(tp / (tp + fp))
    return area_under_envelope(recall, precision) if recall else 0.0


@st.composite
def crowded_detection_sets(draw: st.DrawFn) -> tuple[list[dict], list[dict], float]:
    """1–3 images of overlapping boxes on a 5 px grid (so ground truths get claimed twice).

    Integer coordinates keep every IoU an exact ratio; thresholds 0.5 and 0.25 are exact in
    float32 too, so a detection at exactly the threshold is decided the same way everywhere.
    """
    coordinate = st.integers(0, 8).map(lambda v: 5.0 * v)
    size = st.integers(1, 4).map(lambda v: 5.0 * v)

    def box() -> list[float]:
        x, y = draw(coordinate), draw(coordinate)
        return [x, y, x + draw(size), y + draw(size)]

    truths, detections = [], []
    for _ in range(draw(st.integers(1, 3))):
        count = draw(st.integers(0, 4))
        truth = image(
            [box() for _ in range(count)],
            draw(st.lists(st.integers(1, 2), min_size=count, max_size=count)),
        )
        truth["difficult"] = torch.tensor(
            draw(st.lists(st.booleans(), min_size=count, max_size=count)), dtype=torch.bool
        )
        found = draw(st.integers(0, 5))
        scores = draw(
            st.lists(st.sampled_from([0.2, 0.4, 0.6, 0.8]), min_size=found, max_size=found)
        )
        labels = draw(st.lists(st.integers(1, 2), min_size=found, max_size=found))
        truths.append(truth)
        detections.append(image([box() for _ in range(found)], labels, scores))
    return detections, truths, draw(st.sampled_from([0.5, 0.25]))


@exercise("metrics.mean_average_precision", points=2)
@settings(max_examples=80)
@given(crowded_detection_sets())
def test_map_matches_the_voc_devkit(case):
    """Per-class AP and mAP equal the VOC devkit's on crowded scenes with difficult objects and tied scores."""
    mean_average_precision = mean_ap()
    detections, truths, threshold = case
    result = mean_average_precision(detections, truths, threshold, num_classes=2)
    expected = {}
    for class_id in (1, 2):
        value = devkit_voc_ap(detections, truths, class_id, threshold)
        if value is not None:
            expected[class_id] = value
    expect(
        isinstance(result, dict) and sorted(result.get("ap", {})) == sorted(expected),
        f"'ap' should hold the classes with a non-difficult ground truth, {sorted(expected)};"
        f" got {sorted(result.get('ap', {})) if isinstance(result, dict) else result!r}",
    )
    for class_id, value in expected.items():
        expect_close(result["ap"][class_id], value, f"AP of class {class_id}", atol=1e-4)
    mean = sum(expected.values()) / len(expected) if expected else 0.0
    expect_close(result["map"], mean, "mAP (mean over classes with ground truth)", atol=1e-4)


@exercise("metrics.mean_average_precision", points=2)
def test_map_voc_rule_not_coco_rule_by_hand():
    """Worked by hand: a detection whose best ground truth is taken is a false positive (VOC), no fall-back.

    ground truths A = [0,0,10,10], B = [4,0,14,10] (class 1). d1 = [1,0,11,10] (0.9): IoU 0.82
    with A, 0.54 with B -> A, true positive. d2 = [1.5,0,11.5,10] (0.8): IoU 0.74 with A, 0.60
    with B -> its best is A, already taken -> false positive (COCO's rule would give it B).
    VOC: recall .5 .5, precision 1 .5 -> AP 0.5. COCO: AP 1.0.
    """
    mean_average_precision = mean_ap()
    truths = [image([[0, 0, 10, 10], [4, 0, 14, 10]], [1, 1])]
    detections = [image([[1, 0, 11, 10], [1.5, 0, 11.5, 10]], [1, 1], [0.9, 0.8])]
    result = mean_average_precision(detections, truths, 0.5, num_classes=1)
    expect_close(
        result["ap"].get(1, float("nan")),
        0.5,
        "AP of class 1 (VOC: the second detection's best ground truth is taken -> false positive;"
        " 1.0 means it fell back to the other ground truth, COCO's rule)",
        atol=1e-4,
    )


@holds_for_constants
@exercise("metrics.mean_average_precision", points=2)
def test_map_difficult_ground_truths_are_ignored():
    """Worked by hand: a difficult object neither counts for recall nor penalises a detection of it.

    image: A = [0,0,10,10] difficult, B = [20,0,30,10] (class 1). Only B detected -> AP 1.0
    (0.5 if A counted). Detecting A first (0.9) then B (0.8) -> still 1.0 (0.5 if the detection
    of A were a false positive). A class whose only ground truth is difficult is not scored.
    """
    mean_average_precision = mean_ap()
    truth = image([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], [1, 1, 2])
    truth["difficult"] = torch.tensor([True, False, True])
    only_b = image([[20, 0, 30, 10]], [1], [0.8])
    result = mean_average_precision([only_b], [truth], 0.5, num_classes=2)
    expect(
        sorted(result["ap"]) == [1],
        f"class 2 has only a difficult ground truth and is not scored; 'ap' has {sorted(result['ap'])}",
    )
    expect_close(result["ap"][1], 1.0, "AP when the difficult object is not detected", atol=1e-4)
    both = image([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], [1, 1, 2], [0.9, 0.8, 0.7])
    result = mean_average_precision([both], [truth], 0.5, num_classes=2)
    expect_close(result["ap"][1], 1.0, "AP when the difficult object is detected too", atol=1e-4)
    no_flags = image([[0, 0, 10, 10]], [1])  # no "difficult" key: nothing is difficult
    result = mean_average_precision(
        [image([[0, 0, 10, 10]], [1], [0.5])], [no_flags], 0.5, num_classes=1
    )
    expect_close(result["map"], 1.0, "mAP without a 'difficult' entry", atol=1e-4)


@holds_for_constants
@exercise("metrics.mean_average_precision", points=1)
def test_map_iou_exactly_at_threshold_matches():
    """A detection whose IoU equals the threshold exactly (0.5 = 100 / 200) is a true positive."""
    mean_average_precision = mean_ap()
    truths = [image([[0, 0, 10, 10]], [1])]
    detections = [image([[0, 0, 20, 10]], [1], [0.9])]  # overlap 100, union 200
    expect_close(
        mean_average_precision(detections, truths, 0.5, num_classes=1)["map"],
        1.0,
        "mAP with IoU exactly 0.5 at threshold 0.5 (>=, not >)",
    )


# ----------------------------------------------------------------------------- contract (issue 11)
# Leading dims (none, one, two), smoothing in both places of the Dice term, bool targets, the
# documented return types, and the mean over every class that has ground truth.


def pixel_iou(pred: Tensor, target: Tensor) -> float:
    """IoU of one pair of [H, W] masks, counted in numpy (1.0 when both are empty)."""
    p, t = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    union = int((p | t).sum())
    return 1.0 if union == 0 else int((p & t).sum()) / union


@exercise("metrics.mask_iou", points=1)
def test_mask_iou_any_leading_dims():
    """mask_iou of [H, W] masks is a 0-d float32 tensor; of [A, B, H, W] masks it is [A, B]."""
    mask_iou = student("metrics.mask_iou")
    generator = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 3, 5, 4, generator=generator) > 0.5
    target = torch.rand(2, 3, 5, 4, generator=generator) > 0.4
    target[1, 2] = pred[1, 2] = False  # a pair of empty masks
    expected = torch.tensor(
        [[pixel_iou(pred[a, b], target[a, b]) for b in range(3)] for a in range(2)]
    )
    single = expect_tensor(
        mask_iou(pred[0, 1], target[0, 1]),
        "mask_iou([H, W], [H, W])",
        shape=(),
        dtype=torch.float32,
    )
    expect_close(single, expected[0, 1], "IoU of one [H, W] pair (no batch dimension)")
    both = expect_tensor(
        mask_iou(pred, target), "mask_iou([2, 3, H, W], ...)", shape=(2, 3), dtype=torch.float32
    )
    expect_close(both, expected, "IoU over the last two dims of [2, 3, H, W] masks")
    floats = mask_iou(pred.float(), target.float())
    expect_close(floats, expected, "IoU of {0, 1} float masks (same as bool)")


@exercise("metrics.dice_coefficient", points=1)
def test_dice_any_leading_dims():
    """dice_coefficient of [H, W] masks is a 0-d float32 tensor; [A, B, H, W] gives [A, B]."""
    dice = student("metrics.dice_coefficient")
    generator = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 3, 4, 6, generator=generator) > 0.5
    target = torch.rand(2, 3, 4, 6, generator=generator) > 0.6
    target[0, 0] = pred[0, 0] = False
    iou = torch.tensor([[pixel_iou(pred[a, b], target[a, b]) for b in range(3)] for a in range(2)])
    expected = 2 * iou / (1 + iou)
    single = expect_tensor(
        dice(pred[1, 2], target[1, 2]), "dice([H, W], [H, W])", shape=(), dtype=torch.float32
    )
    expect_close(single, expected[1, 2], "Dice of one [H, W] pair (no batch dimension)")
    both = expect_tensor(dice(pred, target), "dice([2, 3, H, W], ...)", shape=(2, 3))
    expect_close(
        both, expected, "Dice over the last two dims of [2, 3, H, W] masks (2 I / (P + T))"
    )


@exercise("metrics.dice_ce_loss", points=1)
def test_dice_ce_smoothing_in_both_places():
    """``smooth`` sits in numerator and denominator: empty target + confident 0 gives loss ~0."""
    loss_fn = student("metrics.dice_ce_loss")
    empty = torch.zeros(2, 5, 5)
    expect_close(
        loss_fn(torch.full((2, 5, 5), -30.0), empty),
        0.0,
        "loss of confidently empty logits on empty targets ((0 + smooth) / (0 + smooth) = 1)",
        atol=1e-4,
    )
    logits = torch.linspace(-2, 2, 18).reshape(2, 3, 3)
    target = torch.zeros(2, 3, 3)
    target[0, 1:, 1:] = 1
    for smooth in (1.0, 0.5):
        expected = soft_dice_loss(
            logits, target, smooth
        ).mean() + F.binary_cross_entropy_with_logits(logits, target)
        expect_close(
            loss_fn(logits, target, smooth=smooth),
            float(expected),
            f"DiceCE with smooth={smooth}: 1 - (2 I + smooth) / (P + T + smooth)",
            atol=1e-5,
        )
    expect_close(
        loss_fn(logits, target.bool()),
        float(loss_fn(logits, target)),
        "DiceCE of a bool target (same as its {0, 1} float)",
        atol=1e-6,
    )


@holds_for_constants
@exercise("metrics.box_iou", points=1)
def test_box_iou_empty_sets():
    """No boxes on either side give an empty [N, M] matrix."""
    box_iou = student("metrics.box_iou")
    some = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 5.0]])
    for first, second in ((torch.zeros(0, 4), some), (some, torch.zeros(0, 4))):
        expect_tensor(
            box_iou(first, second), "box_iou with an empty side", shape=(len(first), len(second))
        )


@exercise("metrics.average_precision", points=1)
def test_average_precision_returns_a_python_float():
    """average_precision returns a Python float (not a tensor)."""
    average_precision = student("metrics.average_precision")
    value = average_precision(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 0.5]))
    expect(
        isinstance(value, float),
        f"average_precision should return a float, got {type(value).__name__}",
    )
    expect_close(value, reference_ap(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 0.5])), "AP")


@exercise("metrics.mean_average_precision", points=1)
def test_map_counts_classes_without_detections():
    """A class with ground truth but no detection has AP 0 and counts in the mean; floats returned."""
    mean_average_precision = mean_ap()
    truths = [
        image([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 2]),
        image([[5, 5, 15, 15]], [1]),
    ]
    detections = [
        image([[0, 0, 10, 10], [40, 40, 50, 50]], [1, 3], [0.9, 0.8]),  # class 3 has no truth
        image([[5, 5, 15, 15]], [1], [0.7]),
    ]
    result = mean_average_precision(detections, truths, 0.5, num_classes=3)
    expect(
        isinstance(result, dict) and {"map", "ap"} <= set(result), "return {'map': ..., 'ap': ...}"
    )
    expect(
        isinstance(result["map"], float),
        f"'map' should be a float, got {type(result['map']).__name__}",
    )
    expect(
        sorted(result["ap"]) == [1, 2],
        f"'ap' holds the classes with ground truth, [1, 2], got {sorted(result['ap'])}",
    )
    expect(
        all(isinstance(value, float) for value in result["ap"].values()),
        "every AP should be a float",
    )
    expect_close(result["ap"][2], 0.0, "AP of a class with ground truth and no detection")
    expect_close(result["ap"][1], 1.0, "AP of class 1 (both objects found)")
    expect_close(result["map"], 0.5, "mAP: the mean over both classes with ground truth")
    nothing = mean_average_precision(
        [image([], [], []), image([], [], [])], truths, 0.5, num_classes=3
    )
    expect_close(nothing["map"], 0.0, "mAP without any detection")


@exercise("metrics.mean_average_precision", points=1)
def test_map_without_ground_truth_and_default_threshold():
    """No ground truth at all: mAP 0.0 and no AP; the default iou_threshold is 0.5."""
    mean_average_precision = mean_ap()
    nothing = mean_average_precision(
        [image([[0, 0, 10, 10]], [1], [0.9])], [image([], [])], num_classes=2
    )
    expect(nothing["ap"] == {}, f"without ground truth 'ap' is empty, got {nothing['ap']}")
    expect_close(nothing["map"], 0.0, "mAP without any ground truth")
    truths = [image([[0, 0, 10, 10]], [1])]
    half = [image([[0, 0, 10, 6]], [1], [0.9])]  # IoU 0.6
    expect_close(
        mean_average_precision(half, truths, num_classes=1)["map"],
        1.0,
        "mAP of a detection at IoU 0.6 with the default threshold (0.5)",
    )


# ----------------------------------------------------------------------------- mutation rerun (issue 11)
# float64 boxes keep their precision in box_iou; ties in mAP's ranking are stable past 100
# detections (torch's default argsort is not, on a CPU).


@exercise("metrics.box_iou", points=1)
def test_box_iou_float64_keeps_its_precision():
    """float64 boxes are computed in float64: a width of 2**24 + 1 is not rounded to 2**24.

    By hand: boxes (0, 0, 2**24 + 1, 1) and (0, 0, 2**24, 1) have IoU 2**24 / (2**24 + 1), which
    float32 arithmetic (2**24 + 1 rounds to 2**24) would give as 1. Both argument positions.
    """
    box_iou = student("metrics.box_iou")
    wide = float(2**24 + 1)
    first = torch.tensor([[0.0, 0.0, wide, 1.0]], dtype=torch.float64)
    second = torch.tensor(
        [[0.0, 0.0, float(2**24), 1.0], [0.0, 0.0, wide, 1.0]], dtype=torch.float64
    )
    expected = torch.tensor([[2**24 / wide, 1.0]], dtype=torch.float64)
    for name, result, target in (
        ("box_iou(wide, others)", box_iou(first, second), expected),
        ("box_iou(others, wide)", box_iou(second, first), expected.T),
    ):
        result = expect_tensor(result, name, shape=tuple(target.shape), dtype=torch.float64)
        expect_close(
            result, target, f"{name} in float64 (IoU 2**24 / (2**24 + 1) < 1)", atol=0, rtol=1e-12
        )


@holds_for_constants
@exercise("metrics.box_iou", points=1)
def test_box_iou_empty_sets_keep_the_dtype():
    """N = 0 or M = 0 gives an empty [N, M] result in the dtype a non-empty one would have."""
    box_iou = student("metrics.box_iou")
    some = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 5.0]])
    for dtype, returned in ((torch.float64, torch.float64), (torch.float16, torch.float32)):
        for first, second in ((torch.zeros(0, 4), some), (some, torch.zeros(0, 4))):
            first, second = first.to(dtype), second.to(dtype)
            expect_tensor(
                box_iou(first, second),
                f"box_iou of [{len(first)}, 4] and [{len(second)}, 4] {dtype} boxes",
                shape=(len(first), len(second)),
                dtype=returned,
            )


@holds_for_constants
@exercise("metrics.mean_average_precision", points=1)
def test_map_ties_keep_image_then_given_order_past_a_hundred():
    """Tied scores rank image by image, then as given ("a stable sort"), also for 150 of them.

    By hand, one ground truth: (1) one image, 150 detections of score 0.5, the first of them on
    the object and the others far away: ranked as given the true positive comes first, AP = 1.
    (2) 150 images with one detection each, score 0.5; only image 0 has the object and its
    detection hits it: ranked image by image, AP = 1 again. Any other order of the ties puts
    false positives first and gives AP = 1 / rank of the hit.
    """
    mean_average_precision = mean_ap()
    far = [[100.0 + 3 * i, 100.0, 102.0 + 3 * i, 102.0] for i in range(149)]
    detections = [image([[0, 0, 10, 10], *far], [1] * 150, [0.5] * 150)]
    truths = [image([[0, 0, 10, 10]], [1])]
    result = mean_average_precision(detections, truths, 0.5, num_classes=1)
    expect_close(result["map"], 1.0, "AP of 150 tied detections, the hit given first (stable sort)")
    detections = [image([[0, 0, 10, 10]], [1], [0.5])] + [
        image([[50, 50, 60, 60]], [1], [0.5]) for _ in range(149)
    ]
    truths = [image([[0, 0, 10, 10]], [1])] + [image([], []) for _ in range(149)]
    result = mean_average_precision(detections, truths, 0.5, num_classes=1)
    expect_close(
        result["map"], 1.0, "AP of 150 tied detections over 150 images, the hit in image 0"
    )
