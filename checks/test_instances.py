"""Checks for lesson 11, ``instances``: prompts from detections, pasted masks, mask IoU, mask AP.

Oracles: ``torchvision.ops.clip_boxes_to_image`` and the course's given ``sam_inputs`` (the
prompts' frame), ``F.interpolate`` and an instance-by-instance loop (pasting), a pixel-by-pixel
loop and ``torchvision.ops.box_iou`` on filled boxes (mask IoU), a plain-Python VOC devkit on
sets of pixels and lesson 3's box-AP oracle on masks that are filled boxes (mask AP must equal
box AP there), worked examples and invariances (permutations, scaling). ``segment_instances``
runs on a stand-in SAM that paints each prompted box into its low-resolution logits (so where
the prompts went can be read off the masks) and on tiny SAMs (a random one and the course's
pretrained one), with references for ``boxes_to_prompts`` and ``paste_masks``; the mask-AP
checks give references for ``mask_iou_matrix`` and lesson 3's ``average_precision``.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import torch
import torch.nn.functional as F
import torchvision
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from bam.configs import PRETRAINED_TINY_SAM
from bam.sam_model import load_sam, tiny_sam
from checks.harness import (
    exercise,
    expect,
    expect_close,
    expect_tensor,
    raises_value_error,
    student,
)
from checks.scoring import holds_for_constants
from checks.test_metrics import crowded_detection_sets, devkit_voc_ap
from given.sam import sam_inputs

# ----------------------------------------------------------------------------- references


def reference_prompts(boxes: Tensor, image_size, input_size: int) -> Tensor:
    """Clip to the image with torchvision, then scale x by S / W and y by S / H."""
    height, width = int(image_size[0]), int(image_size[1])
    boxes = boxes if boxes.is_floating_point() else boxes.float()
    clipped = torchvision.ops.clip_boxes_to_image(boxes, (height, width))
    side = float(input_size)
    return clipped * clipped.new_tensor([side / width, side / height, side / width, side / height])


def reference_paste(low_res_logits: Tensor, scores: Tensor, image_size, threshold=0.0) -> Tensor:
    """Upsample the logits, threshold them, then hand out pixels one instance at a time."""
    height, width = int(image_size[0]), int(image_size[1])
    count = len(low_res_logits)
    if count == 0:
        return torch.zeros((0, height, width), dtype=torch.bool)
    logits = F.interpolate(
        low_res_logits[:, None].float(), size=(height, width), mode="bilinear", align_corners=False
    )[:, 0]
    claimed = logits > threshold
    owner = torch.full((height, width), -1)
    best = torch.full((height, width), float("-inf"), dtype=torch.float64)
    for index in range(count):  # strictly higher score takes a pixel: the earlier keeps ties
        score = float(scores[index])
        wins = claimed[index] & (score > best)
        owner[wins] = index
        best[wins] = score
    return torch.stack([owner == index for index in range(count)])


def reference_mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """Pairwise IoU by broadcasting bool masks; 0 where both are empty."""
    if masks1.shape[-2:] != masks2.shape[-2:]:
        raise ValueError("masks of different sizes")
    a, b = masks1.bool()[:, None], masks2.bool()[None]
    intersection = (a & b).sum(dim=(-2, -1)).double()
    union = (a | b).sum(dim=(-2, -1)).double()
    return torch.where(union > 0, intersection / union.clamp(min=1), 0.0).float()


def area_under_envelope(recall: list[float], precision: list[float]) -> float:
    """VOC all-point AP, the slow way: for each recall step, the best precision at >= recall."""
    points = list(zip(recall, precision, strict=True))
    area, previous = 0.0, 0.0
    for level in sorted(set(recall)):
        area += (level - previous) * max(p for r, p in points if r >= level)
        previous = level
    return area


def reference_ap(recall: Tensor, precision: Tensor) -> float:
    return area_under_envelope(recall.tolist(), precision.tolist())


def pixel_sets(masks: Tensor) -> list[set[tuple[int, int]]]:
    """Each mask as the set of its (row, column) pixels."""
    return [{(int(r), int(c)) for r, c in mask.bool().nonzero().tolist()} for mask in masks]


def set_iou(a: set, b: set) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def devkit_mask_ap(detections, truths, class_id: int, threshold: float) -> float | None:
    """One class's mask AP as the VOC devkit computes box AP, in plain Python on sets of pixels."""
    records, positives = [], 0
    for truth in truths:
        keep = (truth["labels"] == class_id).tolist()
        flags = truth.get("difficult", torch.zeros(len(keep), dtype=torch.bool)).tolist()
        sets = [s for s, k in zip(pixel_sets(truth["masks"]), keep, strict=True) if k]
        difficult = [bool(d) for d, k in zip(flags, keep, strict=True) if k]
        records.append({"sets": sets, "difficult": difficult, "taken": [False] * len(sets)})
        positives += difficult.count(False)
    if positives == 0:
        return None
    pooled = []
    for index, detection in enumerate(detections):
        for pixels, score, label in zip(
            pixel_sets(detection["masks"]),
            detection["scores"].tolist(),
            detection["labels"].tolist(),
            strict=True,
        ):
            if label == class_id:
                pooled.append((score, index, pixels))
    pooled.sort(key=lambda item: -item[0])  # stable
    hits = []
    for _, index, pixels in pooled:
        record = records[index]
        best, best_iou = -1, -1.0
        for j, truth_pixels in enumerate(record["sets"]):
            value = set_iou(pixels, truth_pixels)
            if value > best_iou:
                best, best_iou = j, value
        if best_iou >= threshold and record["difficult"][best]:
            continue
        if best_iou >= threshold and not record["taken"][best]:
            record["taken"][best] = True
            hits.append(1)
        else:
            hits.append(0)
    recall, precision, tp = [], [], 0
    for rank, hit in enumerate(hits, start=1):
        tp += hit
        recall.append(tp / positives)
        precision.append(tp / rank)
    return area_under_envelope(recall, precision) if recall else 0.0


def devkit_result(detections, truths, threshold: float, num_classes: int, oracle) -> dict:
    ap = {}
    for class_id in range(1, num_classes + 1):
        value = oracle(detections, truths, class_id, threshold)
        if value is not None:
            ap[class_id] = value
    return {"map": sum(ap.values()) / len(ap) if ap else 0.0, "ap": ap}


def mask_ap(**references):
    """The student's mask_average_precision with reference mask IoU and lesson 3's AP."""
    return student(
        "instances.mask_average_precision",
        mask_iou_matrix=references.get("mask_iou_matrix", reference_mask_iou),
        metrics=SimpleNamespace(average_precision=reference_ap),
    )


def filled(boxes: list[list[float]], size: tuple[int, int]) -> Tensor:
    """Masks [N, H, W] bool that are the given integer boxes, filled (pixel edges)."""
    masks = torch.zeros((len(boxes), *size), dtype=torch.bool)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes, strict=True):
        mask[int(y1) : int(y2), int(x1) : int(x2)] = True
    return masks


def instance_image(
    boxes: list[list[float]],
    labels: list[int],
    scores: list[float] | None = None,
    size: tuple[int, int] = (32, 32),
) -> dict:
    entry = {"masks": filled(boxes, size), "labels": torch.tensor(labels, dtype=torch.int64)}
    if scores is not None:
        entry["scores"] = torch.tensor(scores, dtype=torch.float32)
    return entry


# ----------------------------------------------------------------------------- stand-in SAMs


class PainterSam(nn.Module):
    """A stand-in SAM: prompt k's low-res logits are +4 inside its box, -4 outside; it records.

    The ``S/4 x S/4`` grid's cell centres are ``4 j + 2`` input pixels, so the pasted masks show
    where each prompt landed. Buffers record what each call got (they travel back from the
    worker): the number of calls, the prompts' shape and values, ``pixel_values``,
    ``multimask_output``, whether gradients were on and the train/eval flag. With
    ``multimask_output=True`` the first of three masks is the inverted one, as a reminder that
    the single-mask output is asked for.
    """

    def __init__(self, side: int = 64, capacity: int = 8) -> None:
        super().__init__()
        self.config = SimpleNamespace(vision_config=SimpleNamespace(image_size=side))
        self.side, self.capacity = side, capacity
        self.weight = nn.Parameter(torch.zeros(()))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.register_buffer("box_shape", torch.zeros(3, dtype=torch.int64))
        self.register_buffer("pixel_shape", torch.zeros(4, dtype=torch.int64))
        self.register_buffer("boxes", torch.zeros(capacity, 4))
        self.register_buffer("pixels", torch.zeros(1, 3, side, side))
        self.register_buffer("flags", torch.zeros(3, dtype=torch.int64))  # multimask, grad, train

    def forward(self, pixel_values=None, input_boxes=None, multimask_output=True, **_):
        self.calls += 1
        self.box_shape.copy_(torch.tensor(list(input_boxes.shape)[:3] + [0] * 3)[:3])
        self.pixel_shape.copy_(torch.tensor(list(pixel_values.shape)[:4] + [0] * 4)[:4])
        self.flags.copy_(
            torch.tensor([int(multimask_output), int(torch.is_grad_enabled()), int(self.training)])
        )
        if tuple(pixel_values.shape) == tuple(self.pixels.shape):
            self.pixels.copy_(pixel_values.detach())
        prompts = input_boxes.detach().reshape(-1, 4).float()  # [B * K, 4]
        count = min(len(prompts), self.capacity)
        self.boxes[:count].copy_(prompts[:count])
        low = self.side // 4
        centres = torch.arange(low, dtype=torch.float32) * 4 + 2  # [low] in input pixels
        x1, y1, x2, y2 = (prompts[:, i, None, None] for i in range(4))  # [B*K, 1, 1]
        inside = (
            (centres[None, None, :] >= x1)
            & (centres[None, None, :] < x2)
            & (centres[None, :, None] >= y1)
            & (centres[None, :, None] < y2)
        )  # [B*K, low, low]
        logits = torch.where(inside, 4.0, -4.0) + 0 * self.weight
        logits = logits.reshape(*input_boxes.shape[:2], 1, low, low)  # [B, K, 1, low, low]
        if multimask_output:
            logits = torch.cat([-logits, logits, logits], dim=2)
        return SimpleNamespace(pred_masks=logits.to(pixel_values.dtype))


def painter_expected(
    image: Tensor, detection: dict, score_thresh: float = 0.5, side: int = 64
) -> dict:
    """What segment_instances must return with a PainterSam, worked out with the references."""
    keep = detection["scores"] > score_thresh
    boxes, scores, labels = (detection[key][keep] for key in ("boxes", "scores", "labels"))
    height, width = image.shape[-2:]
    if len(boxes) == 0:
        return {
            "boxes": boxes,
            "scores": scores,
            "labels": labels,
            "prompts": boxes,
            "masks": torch.zeros((0, height, width), dtype=torch.bool),
        }
    prompts = reference_prompts(boxes, (height, width), side)
    model = PainterSam(side)
    with torch.no_grad():
        low = model(
            pixel_values=torch.zeros(1, 3, side, side),
            input_boxes=prompts[None],
            multimask_output=False,
        ).pred_masks[0, :, 0]
    masks = reference_paste(low, scores, (height, width))
    return {"boxes": boxes, "scores": scores, "labels": labels, "prompts": prompts, "masks": masks}


def segment(**references):
    """The student's segment_instances with the references of this lesson's two callees."""
    return student(
        "instances.segment_instances",
        boxes_to_prompts=references.get("boxes_to_prompts", reference_prompts),
        paste_masks=references.get("paste_masks", reference_paste),
    )


def small_sam(seed: int = 0) -> nn.Module:
    """A tiny random SAM (128x128 input, 32x32 low-res masks) with logits spread over about ±8."""
    model = tiny_sam(seed=seed, image_size=128, width=32)
    with torch.no_grad():
        model.mask_decoder.output_hypernetworks_mlps[0].proj_out.weight.mul_(150.0)
        model.mask_decoder.output_hypernetworks_mlps[0].proj_out.bias.mul_(150.0)
    return model


def sam_expected(model: nn.Module, image: Tensor, detection: dict, score_thresh: float = 0.5):
    """The pipeline worked out with the given sam_inputs and the references: (logits, result)."""
    keep = detection["scores"] > score_thresh
    boxes, scores = detection["boxes"][keep], detection["scores"][keep]
    height, width = image.shape[-2:]
    side = model.config.vision_config.image_size
    with torch.no_grad():
        pixel_values, _ = sam_inputs(model, image[None], torch.zeros(1, 4))
        prompts = reference_prompts(boxes, (height, width), side)
        outputs = model(
            pixel_values=pixel_values, input_boxes=prompts[None], multimask_output=False
        )
        low = outputs.pred_masks[0, :, 0]
        logits = F.interpolate(
            low[:, None], size=(height, width), mode="bilinear", align_corners=False
        )[:, 0]
    return logits, reference_paste(low, scores, (height, width))


def scene_image(size: tuple[int, int], seed: int) -> Tensor:
    """An image in [0, 1] with two bright rectangles on a dark, noisy background."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    image = 0.2 * torch.rand(3, height, width, generator=generator)
    image[:, height // 8 : height // 2, width // 8 : width // 2] += 0.7
    image[:, height // 3 : 7 * height // 8, width // 2 : 7 * width // 8] += 0.5
    return image.clamp(0, 1)


# ----------------------------------------------------------------------------- strategies


@st.composite
def detector_boxes(draw: st.DrawFn) -> tuple[Tensor, tuple[int, int], int]:
    """0-6 float boxes around an image of 1-300 px sides, some sticking out of it; a SAM size S."""
    height, width = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    count = draw(st.integers(0, 6))
    rows = []
    for _ in range(count):
        x1 = draw(st.integers(-40, width + 10)) + draw(st.sampled_from([0.0, 0.25, 0.5]))
        y1 = draw(st.integers(-40, height + 10)) + draw(st.sampled_from([0.0, 0.25, 0.5]))
        rows.append([x1, y1, x1 + draw(st.integers(0, 350)), y1 + draw(st.integers(0, 350))])
    side = draw(st.sampled_from([64, 128, 256, 1024]))
    return torch.tensor(rows, dtype=torch.float32).reshape(count, 4), (height, width), side


@st.composite
def logit_sets(draw: st.DrawFn) -> tuple[Tensor, Tensor, tuple[int, int], float]:
    """1-4 low-res logit maps (2-6 px sides, quarter-step values), scores with ties, an image size."""
    count = draw(st.integers(1, 4))
    low_h, low_w = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    values = draw(
        st.lists(
            st.integers(-8, 8).map(lambda v: v / 4),
            min_size=count * low_h * low_w,
            max_size=count * low_h * low_w,
        )
    )
    logits = torch.tensor(values, dtype=torch.float32).reshape(count, low_h, low_w)
    scores = torch.tensor(
        draw(st.lists(st.sampled_from([0.3, 0.5, 0.7, 0.9]), min_size=count, max_size=count))
    )
    size = (draw(st.integers(1, 24)), draw(st.integers(1, 24)))
    threshold = draw(st.sampled_from([0.0, 0.0, 0.5, -0.5, 1.0]))
    return logits, scores, size, threshold


@st.composite
def mask_sets(draw: st.DrawFn) -> tuple[Tensor, Tensor]:
    """Two sets of 0-3 masks of one small size (empty masks included)."""
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))

    def masks(count: int) -> Tensor:
        bits = draw(
            st.lists(
                st.booleans(), min_size=count * height * width, max_size=count * height * width
            )
        )
        return torch.tensor(bits, dtype=torch.bool).reshape(count, height, width)

    return masks(draw(st.integers(0, 3))), masks(draw(st.integers(0, 3)))


@st.composite
def blob_scenes(draw: st.DrawFn) -> tuple[list[dict], list[dict], float]:
    """1-3 images (16x16) of overlapping blobs (one or two rectangles each), ties and difficult ones."""

    def blob() -> Tensor:
        mask = torch.zeros(16, 16, dtype=torch.bool)
        for _ in range(draw(st.integers(1, 2))):
            x, y = draw(st.integers(0, 12)), draw(st.integers(0, 12))
            mask[y : y + draw(st.integers(2, 8)), x : x + draw(st.integers(2, 8))] = True
        return mask

    detections, truths = [], []
    for _ in range(draw(st.integers(1, 3))):
        count = draw(st.integers(0, 3))
        truth_masks = [blob() for _ in range(count)]
        truths.append(
            {
                "masks": torch.stack(truth_masks) if count else torch.zeros(0, 16, 16, dtype=bool),
                "labels": torch.tensor(
                    draw(st.lists(st.integers(1, 2), min_size=count, max_size=count)),
                    dtype=torch.int64,
                ),
                "difficult": torch.tensor(
                    draw(st.lists(st.booleans(), min_size=count, max_size=count)), dtype=torch.bool
                ),
            }
        )
        found = draw(st.integers(0, 4))
        near = [  # detections close to a ground truth (a shifted copy) or anywhere
            torch.roll(truth_masks[draw(st.integers(0, count - 1))], draw(st.integers(-2, 2)), 1)
            if count and draw(st.booleans())
            else blob()
            for _ in range(found)
        ]
        detections.append(
            {
                "masks": torch.stack(near) if found else torch.zeros(0, 16, 16, dtype=bool),
                "scores": torch.tensor(
                    draw(st.lists(st.sampled_from([0.2, 0.5, 0.8]), min_size=found, max_size=found))
                ),
                "labels": torch.tensor(
                    draw(st.lists(st.integers(1, 2), min_size=found, max_size=found)),
                    dtype=torch.int64,
                ),
            }
        )
    return detections, truths, draw(st.sampled_from([0.5, 0.25, 0.75]))


# ----------------------------------------------------------------------------- boxes_to_prompts


@exercise("instances.boxes_to_prompts", points=1)
def test_prompts_hand_computed():
    """Worked by hand: clip to the 100x200 image, then x by 256/200, y by 256/100.

    (-10, 20, 250, 120) -> clipped (0, 20, 200, 100) -> (0, 51.2, 256, 256);
    (50, 25, 100, 75) is inside -> (64, 64, 128, 192).
    """
    boxes_to_prompts = student("instances.boxes_to_prompts")
    boxes = torch.tensor([[-10.0, 20.0, 250.0, 120.0], [50.0, 25.0, 100.0, 75.0]])
    prompts = expect_tensor(
        boxes_to_prompts(boxes, (100, 200), 256),
        "boxes_to_prompts(boxes, (100, 200), 256)",
        shape=(2, 4),
    )
    expected = torch.tensor([[0.0, 51.2, 256.0, 256.0], [64.0, 64.0, 128.0, 192.0]])
    expect_close(
        prompts,
        expected,
        "prompts of (-10, 20, 250, 120) and (50, 25, 100, 75) in a 100x200 (HxW) image, S = 256"
        " (clip first; x scales by S / W, y by S / H)",
        atol=1e-4,
    )


@exercise("instances.boxes_to_prompts", points=3)
@settings(max_examples=60)
@given(detector_boxes())
@example((torch.tensor([[-5.0, -5.0, 305.0, 205.0]]), (200, 300), 64))
@example((torch.tensor([[0.0, 0.0, 300.0, 200.0]]), (200, 300), 1024))
def test_prompts_clip_then_scale(case):
    """Equal to torchvision's clip_boxes_to_image then the scale of sam_inputs, for any boxes and sizes."""
    boxes, size, side = case
    boxes_to_prompts = student("instances.boxes_to_prompts")
    prompts = expect_tensor(
        boxes_to_prompts(boxes, size, side),
        f"boxes_to_prompts(boxes, {size}, {side})",
        shape=(len(boxes), 4),
        dtype=torch.float32,
    )
    expect_close(
        prompts,
        reference_prompts(boxes, size, side),
        f"prompts in the {side}x{side} input of boxes {boxes.tolist()} of a {size[0]}x{size[1]}"
        " (HxW) image (clip to [0, W] x [0, H], then x * S / W, y * S / H)",
        atol=1e-3,
        rtol=1e-5,
    )
    expect(
        bool(((prompts >= 0) & (prompts <= side)).all()),
        f"every prompt coordinate lies in [0, S] = [0, {side}], got {prompts.tolist()}",
    )


@exercise("instances.boxes_to_prompts", points=2)
@settings(max_examples=20)
@given(st.integers(8, 120), st.integers(8, 120), st.integers(0, 10_000))
def test_prompts_match_the_given_sam_inputs(height, width, seed):
    """Inside the image, the prompts are exactly the boxes given.sam.sam_inputs gives SAM."""
    boxes_to_prompts = student("instances.boxes_to_prompts")
    generator = torch.Generator().manual_seed(seed)
    corners = torch.rand(3, 2, 2, generator=generator) * torch.tensor([width, height])
    boxes = torch.cat([corners.min(dim=1).values, corners.max(dim=1).values], dim=1)  # [3, 4]
    model = PainterSam(side=128)
    _, given_boxes = sam_inputs(model, torch.zeros(3, 3, height, width), boxes)  # [3, 1, 4]
    expect_close(
        boxes_to_prompts(boxes, (height, width), 128),
        given_boxes[:, 0],
        f"prompts of boxes inside a {height}x{width} image, against sam_inputs' boxes"
        " (the prompts must follow the image's resize: x by S / W, y by S / H)",
        atol=1e-4,
    )


@holds_for_constants
@exercise("instances.boxes_to_prompts", points=1)
@settings(max_examples=20)
@given(detector_boxes(), st.integers(2, 4))
def test_prompts_do_not_change_when_image_and_boxes_scale(case, factor):
    """Scaling the image and its boxes by the same factor leaves the prompts where they were."""
    boxes, (height, width), side = case
    boxes_to_prompts = student("instances.boxes_to_prompts")
    small = boxes_to_prompts(boxes, (height, width), side)
    large = boxes_to_prompts(boxes * factor, (height * factor, width * factor), side)
    expect_close(
        large,
        small,
        f"prompts after scaling the image and boxes by {factor} (same frame: S x S)",
        atol=1e-3,
    )


@exercise("instances.boxes_to_prompts", points=1)
def test_prompts_dtypes_empty_and_bad_input():
    """float64 stays float64, integer boxes become float32, N = 0 gives [0, 4]; bad input: ValueError."""
    boxes_to_prompts = student("instances.boxes_to_prompts")
    double = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    expect_tensor(
        boxes_to_prompts(double, (10, 10), 20), "prompts of float64 boxes", dtype=torch.float64
    )
    integers = torch.tensor([[1, 2, 30, 4]])
    prompts = expect_tensor(
        boxes_to_prompts(integers, (10, 20), 40), "prompts of int64 boxes", dtype=torch.float32
    )
    expect_close(prompts, torch.tensor([[2.0, 8.0, 40.0, 16.0]]), "prompts of int64 boxes")
    expect_tensor(
        boxes_to_prompts(torch.zeros(0, 4), (10, 10), 64),
        "boxes_to_prompts of no boxes",
        shape=(0, 4),
    )
    raises_value_error(lambda: boxes_to_prompts(torch.zeros(4), (10, 10), 64), "a [4] box")
    raises_value_error(lambda: boxes_to_prompts(torch.zeros(2, 5), (10, 10), 64), "[2, 5] boxes")
    raises_value_error(
        lambda: boxes_to_prompts(torch.zeros(2, 4, 1), (10, 10), 64), "[2, 4, 1] boxes"
    )
    raises_value_error(lambda: boxes_to_prompts(torch.zeros(2, 4), (0, 10), 64), "image_size H=0")
    raises_value_error(lambda: boxes_to_prompts(torch.zeros(2, 4), (10, -3), 64), "image_size W=-3")
    raises_value_error(lambda: boxes_to_prompts(torch.zeros(2, 4), (10, 10), 0), "input_size 0")
    expect_close(
        boxes_to_prompts(torch.tensor([[0.0, 0.0, 2.0, 1.0]]), (1, 2), 1),
        torch.tensor([[0.0, 0.0, 1.0, 1.0]]),
        "prompt of the whole of a 1x2 image in a 1x1 input (sizes of 1 are valid)",
    )


# ----------------------------------------------------------------------------- paste_masks


@exercise("instances.paste_masks", points=2)
def test_paste_hand_computed():
    """Worked by hand: logits [1, -1] upsample to [1, .5, -.5, -1]; the higher score wins overlaps.

    A (score 0.5): logits 1 everywhere -> claims all 4 columns. B (score 0.9): one row [1, -1]
    -> bilinear to width 4: [1, 0.5, -0.5, -1] -> claims columns 0, 1. B wins them: A keeps 2, 3.
    """
    paste_masks = student("instances.paste_masks")
    logits = torch.tensor([[[1.0, 1.0]], [[1.0, -1.0]]])  # [2, 1, 2]
    masks = expect_tensor(
        paste_masks(logits, torch.tensor([0.5, 0.9]), (2, 4)),
        "paste_masks(logits [2, 1, 2], scores, (2, 4))",
        shape=(2, 2, 4),
        dtype=torch.bool,
    )
    expected = torch.tensor([[[0, 0, 1, 1]] * 2, [[1, 1, 0, 0]] * 2], dtype=torch.bool)
    expect(
        torch.equal(masks, expected),
        f"masks should be {expected.int().tolist()} (B, score 0.9, takes the pixels both claim),"
        f" got {masks.int().tolist()}",
    )


@exercise("instances.paste_masks", points=3)
@settings(max_examples=60)
@given(logit_sets())
def test_paste_matches_upsample_threshold_and_score_order(case):
    """Equal to: upsample the logits (bilinear), keep logit > threshold, give each pixel to the best score."""
    logits, scores, size, threshold = case
    paste_masks = student("instances.paste_masks")
    masks = expect_tensor(
        paste_masks(logits, scores, size, threshold=threshold),
        f"paste_masks(logits {tuple(logits.shape)}, scores, {size}, threshold={threshold})",
        shape=(len(logits), *size),
        dtype=torch.bool,
    )
    expected = reference_paste(logits, scores, size, threshold)
    wrong = masks != expected
    expect(
        not bool(wrong.any()),
        f"{int(wrong.sum())} pixels differ (scores {scores.tolist()}, threshold {threshold}):"
        " upsample the logits bilinearly (align_corners=False), compare with > threshold, and"
        " give a pixel claimed twice to the highest score (the earlier index on ties);"
        f" expected {expected.int().tolist()}, got {masks.int().tolist()}",
    )


@exercise("instances.paste_masks", points=1)
@settings(max_examples=30)
@given(logit_sets())
def test_paste_gives_every_claimed_pixel_to_exactly_one(case):
    """The masks never overlap, and together they cover every pixel some logit claims."""
    logits, scores, size, threshold = case
    paste_masks = student("instances.paste_masks")
    masks = paste_masks(logits, scores, size, threshold=threshold)
    expect(
        int(masks.int().sum(dim=0).max()) <= 1,
        "two masks share a pixel: each pixel goes to one instance only",
    )
    claimed = (
        F.interpolate(logits[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
        > threshold
    )
    expect(
        torch.equal(masks.any(dim=0), claimed.any(dim=0)),
        "a pixel claimed by some instance (its upsampled logit > threshold) must be in one mask",
    )


@holds_for_constants
@exercise("instances.paste_masks", points=1)
@settings(max_examples=20)
@given(logit_sets(), st.randoms(use_true_random=False))
def test_paste_follows_a_permutation_of_the_instances(case, random):
    """With distinct scores, permuting the instances permutes the masks (the score decides, not the index)."""
    logits, _, size, threshold = case
    count = len(logits)
    scores = torch.tensor(random.sample([0.1, 0.3, 0.5, 0.7, 0.9], count))
    order = torch.tensor(random.sample(range(count), count))
    paste_masks = student("instances.paste_masks")
    masks = paste_masks(logits, scores, size, threshold=threshold)
    permuted = paste_masks(logits[order], scores[order], size, threshold=threshold)
    expect(
        torch.equal(permuted, masks[order]),
        f"masks of the instances in order {order.tolist()} should be the same masks, permuted",
    )


@exercise("instances.paste_masks", points=2)
def test_paste_thresholds_logits_strictly():
    """Logits, not probabilities, are compared with the threshold, strictly (> not >=); default 0."""
    paste_masks = student("instances.paste_masks")
    one = torch.tensor([1.0])

    def pasted(value: float, **options) -> Tensor:
        return paste_masks(torch.full((1, 2, 2), value), one, (4, 4), **options)

    expect(not bool(pasted(0.0).any()), "a logit of exactly 0 is not above the default threshold 0")
    expect(bool(pasted(0.25).all()), "a logit of 0.25 is above the default threshold 0")
    expect(
        not bool(pasted(-1.0).any()),
        "a logit of -1 (probability 0.27) is not in the mask at the default threshold 0",
    )
    expect(
        not bool(pasted(0.25, threshold=0.25).any()),
        "a logit exactly at threshold=0.25 is not above it: use >, not >=",
    )
    expect(bool(pasted(0.25, threshold=0.2).all()), "a logit of 0.25 is above threshold=0.2")
    expect(
        not bool(pasted(0.3, threshold=0.5).any()),
        "a logit of 0.3 is below threshold=0.5 (its probability 0.57 is not what is compared)",
    )
    expect(bool(pasted(-0.75, threshold=-1.0).all()), "a logit of -0.75 is above threshold=-1")


@exercise("instances.paste_masks", points=1)
def test_paste_equal_scores_go_to_the_earlier_instance():
    """Two instances with equal scores claiming the same pixels: the earlier index keeps them."""
    paste_masks = student("instances.paste_masks")
    logits = torch.ones(3, 2, 2)
    masks = paste_masks(logits, torch.tensor([0.4, 0.8, 0.8]), (3, 3))
    expect(
        bool(masks[1].all()) and not bool(masks[0].any() or masks[2].any()),
        "scores (0.4, 0.8, 0.8) all claiming every pixel: instance 1 (the earlier of the two"
        f" 0.8) should get them all; got pixel counts {masks.sum(dim=(1, 2)).tolist()}",
    )
    many = paste_masks(torch.ones(40, 2, 2), torch.full((40,), 0.5), (2, 2))
    expect(
        bool(many[0].all()) and not bool(many[1:].any()),
        "40 instances with equal scores all claiming every pixel: the first keeps them all (a"
        " sort that is not stable reorders ties once there are more than a few);"
        f" got the pixels of instances {many.flatten(1).any(dim=1).nonzero().flatten().tolist()}",
    )


@exercise("instances.paste_masks", points=1)
def test_paste_smooth_edges_from_logits_not_blocky_masks():
    """A 2x2 logit map pasted to 8x8 keeps the sub-pixel edge bilinear logits give, not 4x4 blocks."""
    paste_masks = student("instances.paste_masks")
    logits = torch.tensor([[[3.0, -1.0], [-1.0, -1.0]]])  # only the top-left cell is positive
    masks = paste_masks(logits, torch.tensor([0.9]), (8, 8))
    expected = (
        F.interpolate(logits[:, None], size=(8, 8), mode="bilinear", align_corners=False)[:, 0] > 0
    )
    expect(
        torch.equal(masks, expected),
        f"mask should be {expected[0].int().tolist()} (threshold the upsampled logits; upsampling"
        f" a thresholded 2x2 mask gives 4x4 blocks), got {masks[0].int().tolist()}",
    )


@exercise("instances.paste_masks", points=1)
def test_paste_empty_and_bad_input():
    """N = 0 gives bool [0, H, W]; logits that are not [N, h, w] or scores not [N]: ValueError."""
    paste_masks = student("instances.paste_masks")
    expect_tensor(
        paste_masks(torch.zeros(0, 4, 4), torch.zeros(0), (6, 5)),
        "paste_masks of no instances",
        shape=(0, 6, 5),
        dtype=torch.bool,
    )
    raises_value_error(
        lambda: paste_masks(torch.zeros(2, 1, 4, 4), torch.zeros(2), (8, 8)), "[2, 1, 4, 4] logits"
    )
    raises_value_error(
        lambda: paste_masks(torch.zeros(2, 4, 4), torch.zeros(3), (8, 8)), "3 scores for 2 masks"
    )


# ----------------------------------------------------------------------------- mask_iou_matrix


def loop_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """Pairwise IoU pixel by pixel, in Python (0 where both masks are empty)."""
    result = torch.zeros(len(masks1), len(masks2))
    for i, a in enumerate(masks1.bool().tolist()):
        for j, b in enumerate(masks2.bool().tolist()):
            both = either = 0
            for row_a, row_b in zip(a, b, strict=True):
                for p, q in zip(row_a, row_b, strict=True):
                    both += p and q
                    either += p or q
            result[i, j] = both / either if either else 0.0
    return result


@exercise("instances.mask_iou_matrix", points=1)
def test_mask_iou_hand_computed():
    """Worked by hand on 2x4 masks: IoU 2/8, 1 (identical), 0 (one empty); two empty masks: 0."""
    mask_iou_matrix = student("instances.mask_iou_matrix")
    left = torch.tensor([[[1, 1, 1, 0], [1, 1, 1, 0]], [[0, 0, 0, 0], [0, 0, 0, 0]]], dtype=bool)
    right = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1]], [[1, 1, 1, 0], [1, 1, 1, 0]]], dtype=bool)
    iou = expect_tensor(
        mask_iou_matrix(left, right), "mask_iou_matrix([2, 2, 4], [2, 2, 4])", shape=(2, 2)
    )
    expected = torch.tensor([[2 / 8, 1.0], [0.0, 0.0]])
    expect_close(iou, expected, "IoU of each pair (intersection / union, counted in pixels)")
    empty = torch.zeros(1, 2, 4, dtype=torch.bool)
    expect_close(
        mask_iou_matrix(empty, empty),
        torch.zeros(1, 1),
        "IoU of two empty masks (0: an empty mask overlaps nothing)",
    )


@exercise("instances.mask_iou_matrix", points=3)
@settings(max_examples=60)
@given(mask_sets())
def test_mask_iou_matches_a_pixel_loop(pair):
    """Equal to a pixel-by-pixel count, for any masks (empty ones included), in float32."""
    masks1, masks2 = pair
    mask_iou_matrix = student("instances.mask_iou_matrix")
    iou = expect_tensor(
        mask_iou_matrix(masks1, masks2),
        f"mask_iou_matrix({tuple(masks1.shape)}, {tuple(masks2.shape)})",
        shape=(len(masks1), len(masks2)),
        dtype=torch.float32,
    )
    expect_close(
        iou,
        loop_iou(masks1, masks2),
        f"IoU of each pair of masks {masks1.int().tolist()} and {masks2.int().tolist()}",
    )


@exercise("instances.mask_iou_matrix", points=2)
@settings(max_examples=30)
@given(st.lists(st.tuples(*[st.integers(0, 19)] * 4), min_size=1, max_size=4), st.integers(0, 999))
def test_mask_iou_of_filled_boxes_is_box_iou(corners, seed):
    """Masks that are filled boxes have the boxes' IoU (torchvision box_iou; masks_to_boxes round-trips)."""
    rows = [[min(a, c), min(b, d), max(a, c) + 1, max(b, d) + 1] for a, b, c, d in corners]
    boxes = torch.tensor(rows, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    others = boxes[torch.randperm(len(boxes), generator=generator)] + torch.tensor([1.0, 0, 1, 0])
    masks1, masks2 = filled(boxes.tolist(), (20, 21)), filled(others.tolist(), (20, 21))
    expect(
        torch.equal(torchvision.ops.masks_to_boxes(masks1) + torch.tensor([0, 0, 1, 1]), boxes),
        "(check set-up) the filled masks have the boxes as their tight boxes",
    )
    mask_iou_matrix = student("instances.mask_iou_matrix")
    expect_close(
        mask_iou_matrix(masks1, masks2),
        torchvision.ops.box_iou(boxes, others),
        "IoU of masks that are filled boxes (must equal torchvision's box_iou of the boxes)",
    )


@holds_for_constants
@exercise("instances.mask_iou_matrix", points=1)
@settings(max_examples=20)
@given(mask_sets(), st.integers(1, 3), st.randoms(use_true_random=False))
def test_mask_iou_invariances(pair, factor, random):
    """Symmetric; permuting masks permutes rows and columns; scaling masks up (nearest) changes nothing."""
    masks1, masks2 = pair
    mask_iou_matrix = student("instances.mask_iou_matrix")
    iou = mask_iou_matrix(masks1, masks2)
    expect_close(mask_iou_matrix(masks2, masks1), iou.T, "IoU with the two sets swapped (.T)")
    rows = torch.tensor(random.sample(range(len(masks1)), len(masks1)), dtype=torch.int64)
    columns = torch.tensor(random.sample(range(len(masks2)), len(masks2)), dtype=torch.int64)
    expect_close(
        mask_iou_matrix(masks1[rows], masks2[columns]),
        iou[rows][:, columns],
        "IoU of permuted sets (the same pairs, permuted)",
    )

    def scaled(masks: Tensor) -> Tensor:
        return masks.repeat_interleave(factor, dim=1).repeat_interleave(factor, dim=2)

    expect_close(
        mask_iou_matrix(scaled(masks1), scaled(masks2)),
        iou,
        f"IoU after scaling every mask up {factor}x (each pixel becomes {factor}x{factor})",
    )


@exercise("instances.mask_iou_matrix", points=1)
def test_mask_iou_dtypes_empty_sets_and_bad_input():
    """{0, 1} float masks keep their dtype, ints give float32; N or M = 0 gives [N, M]; H, W differ: ValueError."""
    mask_iou_matrix = student("instances.mask_iou_matrix")
    a = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    b = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    iou = expect_tensor(mask_iou_matrix(a, b), "IoU of float32 masks", dtype=torch.float32)
    expect_close(iou, torch.tensor([[0.5]]), "IoU of float {0, 1} masks")
    iou = expect_tensor(
        mask_iou_matrix(a.double(), b.double()), "IoU of float64 masks", dtype=torch.float64
    )
    expect_close(iou, torch.tensor([[0.5]], dtype=torch.float64), "IoU of float64 masks")
    third = torch.tensor([[[1.0, 1.0, 1.0]]], dtype=torch.float64)
    expect_close(
        mask_iou_matrix(third, torch.tensor([[[0.0, 1.0, 0.0]]], dtype=torch.float64)),
        torch.tensor([[1 / 3]], dtype=torch.float64),
        "IoU 1/3 of float64 masks, to float64 precision (computed in float64, not float32)",
        atol=1e-12,
        rtol=0,
    )
    expect_tensor(
        mask_iou_matrix(a.to(torch.uint8), b.to(torch.uint8)),
        "IoU of uint8 {0, 1} masks",
        dtype=torch.float32,
    )
    expect_tensor(
        mask_iou_matrix(a, b.double()), "IoU of float32 and float64 masks", dtype=torch.float64
    )
    expect_tensor(
        mask_iou_matrix(a.bool(), b.double()), "IoU of bool and float64 masks", dtype=torch.float64
    )
    half = expect_tensor(
        mask_iou_matrix(torch.ones(1, 120, 120).half(), torch.ones(120, 120).tril()[None].half()),
        "IoU of float16 120x120 masks",
        dtype=torch.float16,
    )
    expect_close(half.float(), torch.tensor([[7260 / 14400]]), "IoU of float16 masks", atol=1e-3)
    for n, m in ((0, 2), (3, 0), (0, 0)):
        expect_tensor(
            mask_iou_matrix(torch.zeros(n, 4, 5, dtype=bool), torch.zeros(m, 4, 5, dtype=bool)),
            f"mask_iou_matrix of {n} and {m} masks",
            shape=(n, m),
        )
    raises_value_error(
        lambda: mask_iou_matrix(torch.zeros(1, 4, 5, dtype=bool), torch.zeros(1, 5, 4, dtype=bool)),
        "masks of sizes 4x5 and 5x4",
    )
    raises_value_error(
        lambda: mask_iou_matrix(torch.zeros(4, 5, dtype=bool), torch.zeros(1, 4, 5, dtype=bool)),
        "a [4, 5] mask (not [N, H, W])",
    )


# ----------------------------------------------------------------------------- mask_average_precision


@exercise("instances.mask_average_precision", points=3)
@settings(max_examples=60)
@given(blob_scenes())
def test_mask_ap_matches_a_devkit_on_pixel_sets(case):
    """Per-class AP and mAP equal the VOC devkit's, run on sets of pixels (ties, difficult, overlaps)."""
    detections, truths, threshold = case
    result = mask_ap()(detections, truths, threshold, num_classes=2)
    expected = devkit_result(detections, truths, threshold, 2, devkit_mask_ap)
    expect(
        isinstance(result, dict) and sorted(result.get("ap", {})) == sorted(expected["ap"]),
        f"'ap' should hold the classes with a non-difficult ground truth, {sorted(expected['ap'])};"
        f" got {sorted(result.get('ap', {})) if isinstance(result, dict) else result!r}",
    )
    for class_id, value in expected["ap"].items():
        expect_close(result["ap"][class_id], value, f"AP of class {class_id}", atol=1e-4)
    expect_close(
        result["map"], expected["map"], "mAP over the classes with ground truth", atol=1e-4
    )


@exercise("instances.mask_average_precision", points=3)
@settings(max_examples=60)
@given(crowded_detection_sets())
def test_mask_ap_of_filled_boxes_equals_box_ap(case):
    """On masks that are their boxes filled in, mask AP equals lesson 3's box AP (the devkit's)."""
    detections, truths, threshold = case

    def as_masks(entry: dict) -> dict:
        out = {key: value for key, value in entry.items() if key != "boxes"}
        out["masks"] = filled(entry["boxes"].tolist(), (60, 60))
        return out

    result = mask_ap()(
        [as_masks(d) for d in detections], [as_masks(t) for t in truths], threshold, num_classes=2
    )
    expected = devkit_result(detections, truths, threshold, 2, devkit_voc_ap)
    expect(
        sorted(result["ap"]) == sorted(expected["ap"]),
        f"'ap' should hold classes {sorted(expected['ap'])}, got {sorted(result['ap'])}",
    )
    for class_id, value in expected["ap"].items():
        expect_close(
            result["ap"][class_id], value, f"mask AP of class {class_id} (= its box AP)", atol=1e-4
        )
    expect_close(result["map"], expected["map"], "mask mAP (= box mAP)", atol=1e-4)


@exercise("instances.mask_average_precision", points=2)
def test_mask_ap_voc_rule_not_coco_rule_by_hand():
    """Worked by hand: a detection whose best ground truth is taken is a false positive, no fall-back.

    ground truths A = cols 0-9, B = cols 4-13 (rows 0-9, class 1). d1 = cols 1-10 (0.9): IoU
    .82 with A, .54 with B -> A, TP. d2 = cols 2-11 (0.8): IoU .67 with A, .67 with B -> the
    first of equal IoUs, A, is taken -> FP (COCO's rule would give it B). AP = 0.5, not 1.0.
    """
    truths = [instance_image([[0, 0, 10, 10], [4, 0, 14, 10]], [1, 1], size=(10, 16))]
    detections = [instance_image([[1, 0, 11, 10], [2, 0, 12, 10]], [1, 1], [0.9, 0.8], (10, 16))]
    detections[0]["boxes"] = torch.zeros(2, 4)  # other keys are not used: the masks count
    result = mask_ap()(detections, truths, 0.5, num_classes=1)
    expect_close(
        result["ap"].get(1, float("nan")),
        0.5,
        "AP of class 1 (VOC: the second detection's best ground truth is taken -> false positive;"
        " 1.0 means it fell back to the other ground truth, COCO's rule)",
        atol=1e-4,
    )


@exercise("instances.mask_average_precision", points=2)
def test_mask_ap_hand_computed_classes_without_detections_count():
    """Worked by hand: duplicates are false positives, and a class with ground truth but no detection is AP 0.

    class 1: GTs A, B; detections A (0.9), A again (0.8), B (0.7): TP, FP, TP -> AP 0.8333.
    class 2: one GT, no detection -> AP 0.0, in the mean: mAP = 0.4167. class 3: no GT, a
    detection -> not scored.
    """
    truths = [instance_image([[0, 0, 10, 10], [20, 20, 30, 30], [0, 20, 8, 30]], [1, 1, 2])]
    truths[0]["masks"] = truths[0]["masks"].to(torch.uint8)  # {0, 1} ground truth
    detections = [
        instance_image(
            [[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [12, 0, 20, 8]],
            [1, 1, 1, 3],
            [0.9, 0.8, 0.7, 0.95],
        )
    ]
    result = mask_ap()(detections, truths, 0.5, num_classes=3)
    expect(
        sorted(result["ap"]) == [1, 2],
        f"'ap' holds the classes with ground truth, [1, 2]; got {sorted(result['ap'])}",
    )
    expect_close(result["ap"][1], 0.5 + 0.5 * (2 / 3), "AP of class 1", atol=1e-4)
    expect_close(result["ap"][2], 0.0, "AP of class 2 (ground truth, no detection)", atol=1e-6)
    expect_close(result["map"], (0.5 + 0.5 * (2 / 3)) / 2, "mAP (class 2 counts as 0)", atol=1e-4)


@exercise("instances.mask_average_precision", points=1)
def test_mask_ap_iou_exactly_at_threshold_and_difficult():
    """IoU exactly 0.5 (50 / 100 px) matches (>=); a difficult ground truth is neither counted nor penalised."""
    truths = [instance_image([[0, 0, 10, 5]], [1], size=(10, 10))]
    detections = [instance_image([[0, 0, 10, 10]], [1], [0.9], (10, 10))]  # IoU 50 / 100
    result = mask_ap()(detections, truths, 0.5, num_classes=1)
    expect_close(result["map"], 1.0, "mAP with mask IoU exactly 0.5 at threshold 0.5 (>=, not >)")
    result = mask_ap()(detections, truths, 0.51, num_classes=1)
    expect_close(result["map"], 0.0, "mAP with mask IoU 0.5 at threshold 0.51")
    result = mask_ap()(detections, truths, num_classes=1)
    expect_close(result["map"], 1.0, "mAP at the default iou_threshold (0.5) with mask IoU 0.5")
    truth = instance_image([[0, 0, 10, 10], [20, 0, 30, 10], [0, 20, 10, 30]], [1, 1, 2])
    truth["difficult"] = torch.tensor([True, False, True])
    both = instance_image([[0, 0, 10, 10], [20, 0, 30, 10]], [1, 1], [0.9, 0.8])
    result = mask_ap()([both], [truth], 0.5, num_classes=2)
    expect(
        sorted(result["ap"]) == [1],
        f"class 2 has only a difficult ground truth and is not scored; 'ap' has {sorted(result['ap'])}",
    )
    expect_close(
        result["ap"][1], 1.0, "AP when a detection hits the difficult object first", atol=1e-4
    )


@holds_for_constants
@exercise("instances.mask_average_precision", points=1)
def test_mask_ap_ties_keep_their_order():
    """Worked by hand: 30 detections tied at one score, the first one exact, the others misses: AP 1.

    Ties keep their order (a stable sort, per image and over the images), so the hit is ranked
    first: recall 1 at precision 1. A sort that is not stable reorders 30 ties and ranks the
    hit k-th (AP 1 / k).
    """
    truths = [instance_image([[0, 0, 4, 4]], [1], size=(24, 24))]
    boxes = [[0, 0, 4, 4]] + [
        [x, y, x + 2, y + 2] for x in (8, 12, 16, 20) for y in range(0, 24, 3)
    ]
    detections = [instance_image(boxes[:30], [1] * 30, [0.5] * 30, (24, 24))]
    result = mask_ap()(detections, truths, 0.5, num_classes=1)
    expect_close(
        result["ap"].get(1, float("nan")),
        1.0,
        "AP of 30 tied detections whose first one is the only hit (sort with stable=True)",
        atol=1e-6,
    )


@holds_for_constants
@exercise("instances.mask_average_precision", points=1)
@settings(max_examples=20)
@given(blob_scenes(), st.randoms(use_true_random=False))
def test_mask_ap_invariances(case, random):
    """Reordering an image's detections (distinct scores) or scaling every mask up 2x changes nothing."""
    detections, truths, threshold = case
    for detection in detections:  # distinct scores: the order of the input must not matter
        detection["scores"] = torch.tensor(random.sample(range(1, 100), len(detection["scores"])))
        detection["scores"] = detection["scores"].float() / 100
    mask_average_precision = mask_ap()
    before = mask_average_precision(detections, truths, threshold, num_classes=2)
    shuffled = []
    for detection in detections:
        order = torch.tensor(
            random.sample(range(len(detection["scores"])), len(detection["scores"]))
        )
        shuffled.append({key: value[order.long()] for key, value in detection.items()})
    after = mask_average_precision(shuffled, truths, threshold, num_classes=2)
    expect_close(after["map"], before["map"], "mAP after reordering each image's detections")

    def scaled(entry: dict) -> dict:
        masks = entry["masks"].repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
        return dict(entry, masks=masks)

    larger = mask_average_precision(
        [scaled(d) for d in detections], [scaled(t) for t in truths], threshold, num_classes=2
    )
    expect_close(larger["map"], before["map"], "mAP after scaling every mask up 2x")


@exercise("instances.mask_average_precision", points=1)
def test_mask_ap_empty_cases_and_bad_input():
    """No ground truth: mAP 0.0 and no class; no detection: AP 0; different lengths: ValueError."""
    mask_average_precision = mask_ap()
    nothing = {"masks": torch.zeros(0, 8, 8, dtype=bool), "labels": torch.zeros(0).long()}
    no_detection = dict(nothing, scores=torch.zeros(0))
    some = instance_image([[0, 0, 4, 4]], [1], [0.5], (8, 8))
    result = mask_average_precision([some], [nothing], 0.5, num_classes=2)
    expect(
        result == {"map": 0.0, "ap": {}} or (result["map"] == 0.0 and result["ap"] == {}),
        f"without ground truth the result is {{'map': 0.0, 'ap': {{}}}}, got {result}",
    )
    result = mask_average_precision(
        [no_detection], [instance_image([[0, 0, 4, 4]], [1], size=(8, 8))], 0.5, num_classes=2
    )
    expect(
        sorted(result["ap"]) == [1] and result["ap"][1] == 0.0 and result["map"] == 0.0,
        f"a ground truth without any detection gives AP 0 for its class, got {result}",
    )
    expect(isinstance(result["map"], float), f"'map' is a float, got {type(result['map'])}")
    raises_value_error(
        lambda: mask_average_precision([some, some], [nothing], 0.5, num_classes=1),
        "two detection dicts for one ground-truth dict",
    )
    raises_value_error(
        lambda: mask_average_precision(
            [instance_image([[0, 0, 4, 4]], [1], [0.5], (8, 9))],
            [instance_image([[0, 0, 4, 4]], [1], size=(8, 8))],
            0.5,
            num_classes=1,
        ),
        "detection masks 8x9 against ground-truth masks 8x8",
    )


@exercise("instances.mask_average_precision", points=1)
def test_mask_ap_size_mismatch_is_an_error_even_when_nothing_is_compared():
    """Masks of another size are a ValueError whether or not any IoU gets computed.

    An image's detections and ground truths that never meet (no detection at all, or only of
    another class) still describe one image: 8x9 masks against 8x8 ones are a caller's mistake
    that the docstring promises to report, not to score silently.
    """
    mask_average_precision = mask_ap()
    truth = instance_image([[0, 0, 4, 4]], [1], size=(8, 8))
    no_detection = {
        "masks": torch.zeros(0, 8, 9, dtype=torch.bool),
        "scores": torch.zeros(0),
        "labels": torch.zeros(0, dtype=torch.int64),
    }
    other_class = instance_image([[0, 0, 4, 4]], [2], [0.5], (8, 9))
    for detection, case in ((no_detection, "no detection"), (other_class, "a class-2 detection")):
        raises_value_error(
            lambda detection=detection: mask_average_precision(
                [detection], [truth], 0.5, num_classes=2
            ),
            f"{case} with 8x9 masks against class-1 ground truth of 8x8",
        )


# ----------------------------------------------------------------------------- segment_instances


def painter_detection() -> tuple[Tensor, dict]:
    """A 48x80 image, 4 detections: two kept ones overlap (the later scores higher), one sticks out."""
    image = scene_image((48, 80), seed=0)
    detection = {
        "boxes": torch.tensor(
            [
                [4.0, 4.0, 40.0, 30.0],
                [30.0, 10.0, 70.0, 44.0],
                [0.0, 0.0, 8.0, 8.0],
                [60.0, -6.0, 95.0, 20.0],
            ]
        ),
        "scores": torch.tensor([0.6, 0.9, 0.5, 0.7]),
        "labels": torch.tensor([2, 1, 3, 2]),
    }
    return image, detection


@exercise("instances.segment_instances", points=3)
def test_segment_prompts_segment_and_paste_in_the_right_frames():
    """With a stand-in SAM that paints its prompts, the masks are the kept boxes, resized back, overlaps by score."""
    image, detection = painter_detection()
    model = PainterSam(side=64)
    result = segment()(model, image, detection)
    expect(
        isinstance(result, dict) and {"boxes", "scores", "labels", "masks"} <= set(result),
        "segment_instances returns {'boxes', 'scores', 'labels', 'masks'}",
    )
    expected = painter_expected(image, detection)
    masks = expect_tensor(
        result["masks"], "masks", shape=tuple(expected["masks"].shape), dtype=torch.bool
    )
    for key in ("boxes", "scores", "labels"):
        expect(
            torch.equal(result[key], expected[key]),
            f"{key} should be the kept detections' (score > 0.5, original order)"
            f" {expected[key].tolist()}, got {result[key].tolist()}",
        )
    wrong = masks != expected["masks"]
    expect(
        not bool(wrong.any()),
        f"{int(wrong.sum())} mask pixels differ from the prompted boxes pasted back at 48x80:"
        " prompts in the 64x64 input frame (boxes_to_prompts), the [K, h, w] single-mask"
        " logits to paste_masks with the kept scores",
    )


@exercise("instances.segment_instances", points=2)
def test_segment_calls_sam_once_with_all_prompts():
    """One SAM call for the image: pixel_values [1, 3, S, S] normalised, input_boxes [1, K, 4], single mask, no grad."""
    image, detection = painter_detection()
    model = PainterSam(side=64)
    segment()(model, image, detection)
    expected = painter_expected(image, detection)
    count = len(expected["boxes"])
    expect(int(model.calls) == 1, f"SAM should run once for the image, it ran {int(model.calls)}x")
    expect(
        model.box_shape.tolist() == [1, count, 4],
        f"input_boxes should be [1, K, 4] = [1, {count}, 4] (all prompts of the one image),"
        f" got {model.box_shape.tolist()}",
    )
    expect_close(model.boxes[:count], expected["prompts"], "input_boxes (SAM-input pixels)")
    expect(
        model.pixel_shape.tolist() == [1, 3, 64, 64],
        f"pixel_values should be [1, 3, S, S] = [1, 3, 64, 64], got {model.pixel_shape.tolist()}",
    )
    pixel_values, _ = sam_inputs(model, image[None], torch.zeros(1, 4))
    expect_close(
        model.pixels,
        pixel_values,
        "pixel_values (resized bilinearly to S x S, then normalised with SAM's IMAGE_MEAN /"
        " IMAGE_STD, as sam_inputs does)",
        atol=1e-4,
    )
    multimask, grad, _ = model.flags.tolist()
    expect(multimask == 0, "call SAM with multimask_output=False (one mask per prompt)")
    expect(grad == 0, "run SAM without gradients (torch.no_grad())")


@exercise("instances.segment_instances", points=1)
def test_segment_keeps_scores_above_the_threshold_in_order():
    """score > score_thresh (strictly, lesson 8's rule), default 0.5; kept ones in their original order."""
    image, detection = painter_detection()
    detection["scores"] = torch.tensor([0.5, 0.25, 0.75, 0.625])  # unsorted; one at exactly 0.5
    model = PainterSam(side=64)
    result = segment()(model, image, detection)
    expect(
        result["scores"].tolist() == [0.75, 0.625],
        "default score_thresh 0.5, strict (a score of exactly 0.5 is dropped), original order:"
        f" scores should be [0.75, 0.625], got {result['scores'].tolist()}",
    )
    result = segment()(model, image, detection, score_thresh=0.25)
    expect(
        result["scores"].tolist() == [0.5, 0.75, 0.625] and result["labels"].tolist() == [2, 3, 2],
        "score_thresh=0.25 keeps scores above 0.25 in their order: [0.5, 0.75, 0.625], labels"
        f" [2, 3, 2]; got {result['scores'].tolist()}, {result['labels'].tolist()}",
    )
    expected = painter_expected(image, detection, 0.25)
    expect(
        torch.equal(result["masks"], expected["masks"]),
        "masks at score_thresh=0.25 (the kept boxes, pasted with the kept scores)",
    )
    expect(
        torch.equal(result["boxes"][2], torch.tensor([60.0, -6.0, 95.0, 20.0])),
        "boxes are returned as given (unclipped); only the prompts are clipped",
    )


@holds_for_constants
@exercise("instances.segment_instances", points=1)
def test_segment_without_kept_detections_does_not_call_sam():
    """No detection above the threshold (or none at all): empty tensors, masks [0, H, W], SAM not called."""
    image, detection = painter_detection()
    model = PainterSam(side=64)
    for scores in (torch.tensor([0.1, 0.2, 0.5, 0.3]), None):
        case = (
            dict(detection, scores=scores)
            if scores is not None
            else {
                "boxes": torch.zeros(0, 4),
                "scores": torch.zeros(0),
                "labels": torch.zeros(0, dtype=torch.int64),
            }
        )
        result = segment()(model, image, case)
        expect_tensor(result["masks"], "masks of no kept detection", shape=(0, 48, 80))
        expect(result["masks"].dtype == torch.bool, "masks are bool, even when empty")
        expect_tensor(result["boxes"], "boxes of no kept detection", shape=(0, 4))
        expect_tensor(result["scores"], "scores of no kept detection", shape=(0,))
        expect(
            result["labels"].shape == (0,) and result["labels"].dtype == torch.int64,
            f"labels of no kept detection: int64 [0], got {result['labels']}",
        )
    expect(int(model.calls) == 0, f"SAM should not run without prompts, it ran {int(model.calls)}x")


@exercise("instances.segment_instances", points=1)
def test_segment_leaves_the_mode_and_ignores_other_keys():
    """The model's train/eval mode is the caller's; extra keys of the detection are ignored; bad input: ValueError."""
    image, detection = painter_detection()
    detection["masks"] = torch.zeros(4, 48, 80, dtype=torch.bool)  # e.g. from an earlier run
    for training in (True, False):
        model = PainterSam(side=64).train(training)
        segment()(model, image, detection)
        expect(
            model.flags.tolist()[2] == int(training) and model.training == training,
            f"a model in {'train' if training else 'eval'} mode should run and stay so",
        )
    segment_instances = segment()
    model = PainterSam(side=64)
    raises_value_error(
        lambda: segment_instances(model, image[None], detection), "a [1, 3, H, W] image"
    )
    raises_value_error(lambda: segment_instances(model, image[:1], detection), "a 1-channel image")
    raises_value_error(
        lambda: segment_instances(model, image, dict(detection, boxes=torch.zeros(4, 5))),
        "boxes [4, 5]",
    )
    raises_value_error(
        lambda: segment_instances(model, image, dict(detection, scores=torch.ones(3))),
        "3 scores for 4 boxes",
    )
    raises_value_error(
        lambda: segment_instances(model, image, dict(detection, labels=torch.ones(5).long())),
        "5 labels for 4 boxes",
    )


@exercise("instances.segment_instances", points=2)
@settings(max_examples=6)
@given(st.integers(0, 3), st.sampled_from([(64, 64), (48, 80), (100, 70)]))
def test_segment_with_a_tiny_sam(seed, size):
    """With a tiny random SAM, the masks equal the pipeline worked out with sam_inputs and the references."""
    model = small_sam(seed)
    image = scene_image(size, seed)
    height, width = size
    detection = {
        "boxes": torch.tensor(
            [
                [0.1 * width, 0.1 * height, 0.55 * width, 0.5 * height],
                [0.45 * width, 0.3 * height, 0.9 * width, 0.9 * height],
                [0.0, 0.0, 1.2 * width, 1.1 * height],
            ]
        ),
        "scores": torch.tensor([0.8, 0.95, 0.6]),
        "labels": torch.tensor([1, 2, 3]),
    }
    result = segment()(copy.deepcopy(model), image, detection)
    logits, expected = sam_expected(model, image, detection)
    masks = expect_tensor(result["masks"], "masks", shape=(3, height, width), dtype=torch.bool)
    decided = (logits.abs() > 1e-3).all(dim=0)  # leave out pixels on a mask's edge itself
    wrong = (masks != expected) & decided
    expect(
        not bool(wrong.any()),
        f"{int(wrong.sum())} pixels of {int(decided.sum()) * 3} differ from SAM's masks for the"
        " prompts (normalise as sam_inputs; prompts from boxes_to_prompts; paste_masks)",
    )


@holds_for_constants
@exercise("instances.segment_instances", points=1)
def test_segment_feeds_sam_in_its_own_dtype():
    """A float64 image and float64 boxes reach a float32 SAM as float32 (as sam_inputs does): same masks."""
    model = small_sam(1)
    image = scene_image((64, 80), 1)
    detection = {
        "boxes": torch.tensor([[8.0, 6.0, 44.0, 40.0], [30.0, 20.0, 76.0, 60.0]]),
        "scores": torch.tensor([0.9, 0.7]),
        "labels": torch.tensor([1, 2]),
    }
    single = segment()(model, image, detection)
    double = dict(detection, boxes=detection["boxes"].double())
    result = segment()(model, image.double(), double)
    expect(
        torch.equal(result["masks"], single["masks"]),
        "masks of a float64 image and boxes should equal those of float32 ones: convert the image"
        " and the prompts to the model's dtype before calling it",
    )
    expect(
        result["boxes"].dtype == torch.float64,
        f"boxes are returned as given (float64), got {result['boxes'].dtype}",
    )


@exercise("instances.segment_instances", points=1, timeout=120)
def test_segment_with_the_course_pretrained_sam():
    """With the course's pretrained tiny SAM, the masks equal the pipeline worked out with the references."""
    if not (PRETRAINED_TINY_SAM / "config.json").is_file():
        model = small_sam(5)  # a copy without data/: the random one stands in
    else:
        model = load_sam(PRETRAINED_TINY_SAM).eval()
    image = scene_image((96, 128), seed=5)
    detection = {
        "boxes": torch.tensor([[16.0, 12.0, 64.0, 48.0], [64.0, 32.0, 112.0, 84.0]]),
        "scores": torch.tensor([0.9, 0.8]),
        "labels": torch.tensor([1, 1]),
    }
    result = segment()(model, image, detection)
    logits, expected = sam_expected(model, image, detection)
    decided = (logits.abs() > 1e-3).all(dim=0)
    wrong = (result["masks"] != expected) & decided
    expect(
        not bool(wrong.any()),
        f"{int(wrong.sum())} pixels differ from the pretrained SAM's masks for the two prompts",
    )
