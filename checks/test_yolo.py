"""Checks for lesson 10, ``yolo``: grid targets, the YOLO loss, decoding, post-processing, YOLO.

Oracles: plain-Python loops over cells, anchors and boxes written below (targets, loss terms,
decoding), ``torchvision.ops.batched_nms`` for the post-processing, grids worked out by hand,
and ``torch.autograd`` for gradient flow. ``YOLO`` runs with references for the lesson's other
exercises, for lesson 5's backbone and lesson 6's ``nms``, so only its own wiring is graded.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
import torchvision
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from checks import harness
from checks.harness import (
    exercise,
    expect,
    expect_close,
    expect_tensor,
    not_implemented_guard,
    raises_value_error,
    student,
    use_references,
)
from checks.scoring import holds_for_constants

ANCHORS = torch.tensor([[16.0, 16.0], [32.0, 32.0], [48.0, 24.0]])
SIZE_CLAMP = math.log(1000.0 / 16)

# ----------------------------------------------------------------------------- oracles


def shape_iou(w: float, h: float, aw: float, ah: float) -> float:
    overlap = min(w, aw) * min(h, ah)
    return overlap / (w * h + aw * ah - overlap)


def reference_grid_targets(boxes, labels, grid_size, stride, anchors) -> dict[str, Tensor]:
    """grid_targets the slow way: one box at a time, a dict of claimed slots."""
    rows, columns = grid_size
    count = len(anchors)
    claims: dict[tuple[int, int, int], tuple[float, int]] = {}
    for index, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        w, h = x2 - x1, y2 - y1
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        column = min(max(math.floor(cx / stride), 0), columns - 1)
        row = min(max(math.floor(cy / stride), 0), rows - 1)
        ious = [shape_iou(w, h, aw, ah) for aw, ah in anchors.tolist()]
        anchor = ious.index(max(ious))
        slot = (row, column, anchor)
        if slot not in claims or w * h > claims[slot][0]:
            claims[slot] = (w * h, index)
    out = {
        "responsible": torch.zeros(rows, columns, count, dtype=torch.bool),
        "offsets": torch.zeros(rows, columns, count, 2, dtype=boxes.dtype),  # floats in the boxes'
        "log_sizes": torch.zeros(
            rows, columns, count, 2, dtype=boxes.dtype
        ),  # dtype, as documented
        "labels": torch.zeros(rows, columns, count, dtype=torch.int64),
    }
    for (row, column, anchor), (_, index) in claims.items():
        x1, y1, x2, y2 = boxes[index].tolist()
        aw, ah = anchors[anchor].tolist()
        out["responsible"][row, column, anchor] = True
        out["offsets"][row, column, anchor] = torch.tensor(
            [(x1 + x2) / 2 / stride - column, (y1 + y2) / 2 / stride - row],
            dtype=boxes.dtype,
        )
        out["log_sizes"][row, column, anchor] = torch.tensor(
            [math.log((x2 - x1) / aw), math.log((y2 - y1) / ah)],
            dtype=boxes.dtype,
        )
        out["labels"][row, column, anchor] = int(labels[index])
    return out


def reference_loss(predictions, targets, lambda_coord=5.0, lambda_noobj=0.5) -> dict[str, Tensor]:
    """The four terms, slot by slot (differentiable: built from tensor elements)."""
    images = predictions.shape[0]
    box = objectness = no_object = classes = predictions.new_zeros(())
    for slot in itertools.product(*(range(size) for size in predictions.shape[:4])):
        values = predictions[slot]
        if targets["responsible"][slot]:
            box = box + ((torch.sigmoid(values[:2]) - targets["offsets"][slot]) ** 2).sum()
            box = box + ((values[2:4] - targets["log_sizes"][slot]) ** 2).sum()
            objectness = objectness - F.logsigmoid(values[4])
            classes = classes - F.log_softmax(values[5:], dim=0)[targets["labels"][slot] - 1]
        else:
            no_object = no_object - F.logsigmoid(-values[4])
    return {
        "loss_box": lambda_coord * box / images,
        "loss_objectness": objectness / images,
        "loss_no_object": lambda_noobj * no_object / images,
        "loss_class": classes / images,
    }


def reference_decode(predictions, stride, anchors, image_size):
    rows, columns, count = predictions.shape[:3]
    height, width = image_size
    boxes, scores, labels = [], [], []
    for row in range(rows):
        for column in range(columns):
            for anchor in range(count):
                tx, ty, tw, th, obj, *logits = predictions[row, column, anchor].tolist()
                aw, ah = anchors[anchor].tolist()
                cx = (column + 1 / (1 + math.exp(-tx))) * stride
                cy = (row + 1 / (1 + math.exp(-ty))) * stride
                w = aw * math.exp(min(tw, SIZE_CLAMP))
                h = ah * math.exp(min(th, SIZE_CLAMP))
                box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                limits = [width, height, width, height]
                boxes.append(
                    [min(max(v, 0.0), limit) for v, limit in zip(box, limits, strict=True)]
                )
                probabilities = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0)
                best = int(probabilities.argmax())
                scores.append(float(probabilities[best]) / (1 + math.exp(-obj)))
                labels.append(best + 1)
    return torch.tensor(boxes), torch.tensor(scores), torch.tensor(labels)


def reference_postprocess(
    boxes, scores, labels, score_thresh=0.05, nms_thresh=0.5, detections_per_img=100
):
    sides = boxes[:, 2:] - boxes[:, :2]
    keep = (scores > score_thresh) & (sides >= 1e-2).all(dim=1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    kept = torchvision.ops.batched_nms(boxes, scores, labels, nms_thresh)[:detections_per_img]
    return boxes[kept], scores[kept], labels[kept]


def reference_backbone(width: float = 1.0) -> nn.Sequential:
    """VGG16's conv part (13 conv + ReLU, 4 max-pools, stride 16), channels scaled by ``width``."""
    layers, channels = [], 3
    for item in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            out = max(1, round(item * width))
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(inplace=True)]
            channels = out
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- strategies


@st.composite
def scenes(draw: st.DrawFn) -> tuple[Tensor, Tensor, tuple[int, int]]:
    """0-6 boxes on a 3x4-cell grid (stride 16), crowded so that cells and anchors collide."""
    count = draw(st.integers(0, 6))
    rows = []
    for _ in range(count):
        x1, y1 = draw(st.integers(0, 56)), draw(st.integers(0, 40))
        w, h = draw(st.integers(2, 64 - x1 + 8)), draw(st.integers(2, 48 - y1 + 8))
        rows.append([x1, y1, x1 + w, y1 + h])
    labels = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    return (
        torch.tensor(rows, dtype=torch.float32).reshape(count, 4),
        torch.tensor(labels, dtype=torch.int64),
        (3, 4),
    )


def targets_of(boxes, labels, grid):
    grid_targets = student("yolo.grid_targets")
    result = grid_targets(boxes, labels, grid, 16, ANCHORS)
    keys = {"responsible", "offsets", "log_sizes", "labels"}
    expect(
        isinstance(result, dict) and keys <= set(result),
        f"grid_targets returns a dict with {sorted(keys)}",
    )
    rows, columns = grid
    expect_tensor(result["responsible"], "responsible", shape=(rows, columns, 3), dtype=torch.bool)
    expect_tensor(result["offsets"], "offsets", shape=(rows, columns, 3, 2))
    expect_tensor(result["log_sizes"], "log_sizes", shape=(rows, columns, 3, 2))
    expect_tensor(result["labels"], "labels", shape=(rows, columns, 3), dtype=torch.int64)
    return result


# ----------------------------------------------------------------------------- grid_targets


@exercise("yolo.grid_targets", points=3)
@settings(max_examples=60)
@given(scenes())
def test_grid_targets_match_the_slow_way(scene):
    """Cells, anchors, offsets, log sizes and labels equal a box-by-box oracle, collisions included."""
    boxes, labels, grid = scene
    result = targets_of(boxes, labels, grid)
    expected = reference_grid_targets(boxes, labels, grid, 16, ANCHORS)
    where = expected["responsible"]
    expect(
        torch.equal(result["responsible"], where),
        f"responsible (row, column, anchor) should be {where.nonzero().tolist()},"
        f" got {result['responsible'].nonzero().tolist()}",
    )
    for key in ("offsets", "log_sizes"):
        expect_close(result[key], expected[key], f"{key} (0 where no box is responsible)")
    expect(
        torch.equal(result["labels"], expected["labels"]),
        f"labels at the responsible anchors should be {expected['labels'][where].tolist()},"
        f" got {result['labels'][where].tolist()} (and 0 elsewhere)",
    )


@exercise("yolo.grid_targets", points=2)
def test_grid_targets_by_hand():
    """Worked by hand: cells from the centre (an edge belongs to the cell right/below), anchors by shape, collisions.

    grid 3 x 4 cells of 16 px; anchors 16x16, 32x32, 48x24.
    A = [8, 8, 24, 24]: centre (16, 16) on the corner of four cells -> row 1, column 1;
      16x16 -> anchor 0; offsets (0, 0); log sizes (0, 0).
    B = [20, 0, 60, 20]: 40x20, centre (40, 10) -> row 0, column 2; shape IoUs 0.19, 0.42, 0.74
      -> anchor 2; offsets (0.5, 0.625).
    C = [0, 0, 32, 32] and D = [4, 4, 28, 28]: both centre (16, 16) -> row 1, column 1, anchor 1
      (C: IoU 1 with 32x32; D 24x24: 0.56 with 32x32); C is larger and keeps it, label 3.
    E = [56, 40, 64, 48]: centre (60, 44) -> row 2, column 3; 8x8 -> anchor 0.
    """
    boxes = torch.tensor(
        [[8.0, 8, 24, 24], [20, 0, 60, 20], [4, 4, 28, 28], [0, 0, 32, 32], [56, 40, 64, 48]]
    )
    labels = torch.tensor([1, 2, 1, 3, 2])
    result = targets_of(boxes, labels, (3, 4))
    found = sorted(map(tuple, result["responsible"].nonzero().tolist()))
    expect(
        found == [(0, 2, 2), (1, 1, 0), (1, 1, 1), (2, 3, 0)],
        f"responsible (row, column, anchor) should be [(0, 2, 2), (1, 1, 0), (1, 1, 1), (2, 3, 0)],"
        f" got {found}",
    )
    expect(
        int(result["labels"][1, 1, 1]) == 3, "the larger box C keeps (row 1, column 1, anchor 1)"
    )
    expect_close(result["offsets"][0, 2, 2], torch.tensor([0.5, 0.625]), "offsets of B in its cell")
    expect_close(
        result["offsets"][1, 1, 0], torch.tensor([0.0, 0.0]), "offsets of A (centre on the corner)"
    )
    expect_close(
        result["log_sizes"][0, 2, 2],
        torch.tensor([math.log(40 / 48), math.log(20 / 24)]),
        "log sizes of B against anchor 48x24",
    )


@exercise("yolo.grid_targets", points=1)
def test_grid_targets_edges_ties_and_no_boxes():
    """A centre on the grid's far edge stays in the last cell; equal claims keep the first box; no boxes, no target."""
    grid = (2, 2)
    edge = targets_of(torch.tensor([[24.0, 24.0, 40.0, 40.0]]), torch.tensor([2]), grid)
    expect(
        sorted(map(tuple, edge["responsible"].nonzero().tolist())) == [(1, 1, 0)],
        "a centre at (32, 32), the far corner of a 2 x 2 grid, belongs to row 1, column 1",
    )
    expect_close(edge["offsets"][1, 1, 0], torch.tensor([1.0, 1.0]), "offsets of a far-edge centre")
    twins = targets_of(torch.tensor([[0.0, 0, 16, 16], [0, 0, 16, 16]]), torch.tensor([1, 3]), grid)
    expect(
        int(twins["labels"][0, 0, 0]) == 1,
        "two equal boxes in one slot: the earlier one keeps it (label 1, not 3)",
    )
    empty = targets_of(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), grid)
    expect(not bool(empty["responsible"].any()), "no boxes: nothing is responsible")
    expect(bool((empty["labels"] == 0).all()), "no boxes: every label is 0")


# ----------------------------------------------------------------------------- yolo_loss


@st.composite
def loss_cases(draw: st.DrawFn) -> tuple[Tensor, dict[str, Tensor]]:
    images, rows, columns, count, classes = draw(st.integers(1, 2)), 2, 3, 2, 3
    seed = draw(st.integers(0, 2**16))
    generator = torch.Generator().manual_seed(seed)
    predictions = torch.randn(images, rows, columns, count, 5 + classes, generator=generator) * 2
    responsible = torch.rand(images, rows, columns, count, generator=generator) < draw(
        st.sampled_from([0.0, 0.3, 1.0])
    )
    targets = {
        "responsible": responsible,
        "offsets": torch.rand(images, rows, columns, count, 2, generator=generator)
        * responsible[..., None],
        "log_sizes": torch.randn(images, rows, columns, count, 2, generator=generator)
        * responsible[..., None],
        "labels": torch.randint(1, classes + 1, responsible.shape, generator=generator)
        * responsible,
    }
    return predictions, targets


@exercise("yolo.yolo_loss", points=3)
@settings(max_examples=40)
@given(loss_cases(), st.sampled_from([(5.0, 0.5), (1.0, 1.0), (2.0, 0.1)]))
def test_yolo_loss_matches_the_slow_way(case, weights):
    """Each of the four terms equals a slot-by-slot sum (averaged over images), for several weights."""
    yolo_loss = student("yolo.yolo_loss")
    predictions, targets = case
    lambda_coord, lambda_noobj = weights
    result = yolo_loss(predictions, targets, lambda_coord, lambda_noobj)
    expected = reference_loss(predictions, targets, lambda_coord, lambda_noobj)
    expect(
        isinstance(result, dict) and set(result) == set(expected),
        f"return the keys {sorted(expected)}",
    )
    for name, value in expected.items():
        expect_tensor(result[name], name, shape=())
        expect_close(result[name], value, name, atol=1e-4, rtol=1e-4)


@exercise("yolo.yolo_loss", points=2)
def test_yolo_loss_gradients_reach_only_what_each_term_uses():
    """The box term reaches only the responsible anchors' box values; no-object only the others' objectness."""
    yolo_loss = student("yolo.yolo_loss")
    predictions = torch.randn(1, 2, 2, 2, 5 + 2, requires_grad=True)
    responsible = torch.zeros(1, 2, 2, 2, dtype=torch.bool)
    responsible[0, 1, 0, 1] = True
    targets = {
        "responsible": responsible,
        "offsets": torch.zeros(1, 2, 2, 2, 2),
        "log_sizes": torch.zeros(1, 2, 2, 2, 2),
        "labels": responsible.long() * 2,
    }
    losses = yolo_loss(predictions, targets)
    for name, slots, channels in [
        ("loss_box", responsible, slice(0, 4)),
        ("loss_objectness", responsible, slice(4, 5)),
        ("loss_no_object", ~responsible, slice(4, 5)),
        ("loss_class", responsible, slice(5, 7)),
    ]:
        expect(losses[name].requires_grad, f"{name} must keep its graph")
        (gradient,) = torch.autograd.grad(losses[name], predictions, retain_graph=True)
        used = torch.zeros_like(gradient, dtype=torch.bool)
        used[slots] = True
        used[..., : channels.start] = False
        used[..., channels.stop :] = False
        expect(bool((gradient[used] != 0).all()), f"{name} should reach {channels} of its anchors")
        expect(bool((gradient[~used] == 0).all()), f"{name} reaches values it should not use")


@exercise("yolo.yolo_loss", points=1)
def test_yolo_loss_without_objects_is_finite():
    """A batch without any object: box, objectness and class terms are 0 (not NaN), no-object > 0."""
    yolo_loss = student("yolo.yolo_loss")
    predictions = torch.randn(2, 2, 2, 1, 6)
    nothing = torch.zeros(2, 2, 2, 1, dtype=torch.bool)
    targets = {
        "responsible": nothing,
        "offsets": torch.zeros(2, 2, 2, 1, 2),
        "log_sizes": torch.zeros(2, 2, 2, 1, 2),
        "labels": torch.zeros(2, 2, 2, 1, dtype=torch.int64),
    }
    losses = yolo_loss(predictions, targets)
    for name in ("loss_box", "loss_objectness", "loss_class"):
        expect_close(expect_tensor(losses[name], name, shape=()), 0.0, f"{name} without objects")
    expect(float(losses["loss_no_object"]) > 0, "the no-object term is positive without objects")


# ----------------------------------------------------------------------------- decode_grid


@exercise("yolo.decode_grid", points=3)
@settings(max_examples=40)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**16))
@example(rows=1, columns=1, count=1, seed=0)
def test_decode_grid_matches_the_slow_way(rows, columns, count, seed):
    """Boxes (clamped, clipped), scores and labels equal a cell-by-cell decoding, in (row, column, anchor) order."""
    decode_grid = student("yolo.decode_grid")
    generator = torch.Generator().manual_seed(seed)
    predictions = torch.randn(rows, columns, count, 5 + 3, generator=generator) * 3
    predictions[0, 0, 0, 2] = 9.0  # exp(9) overflows: the clamp at log(1000 / 16) applies
    anchors = ANCHORS[:count]
    size = (rows * 16 - 5, columns * 16 - 3)  # boxes reach past it: clipped
    expected = reference_decode(predictions, 16, anchors, size)
    result = decode_grid(predictions, 16, anchors, size)
    expect(isinstance(result, tuple) and len(result) == 3, "return (boxes, scores, labels)")
    number = rows * columns * count
    found_boxes, scores, labels = result
    expect_tensor(found_boxes, "boxes", shape=(number, 4))
    expect_tensor(scores, "scores", shape=(number,))
    expect_tensor(labels, "labels", shape=(number,), dtype=torch.int64)
    expect_close(found_boxes, expected[0], "decoded boxes", atol=1e-3, rtol=1e-4)
    expect_close(
        scores, expected[1], "scores = sigmoid(objectness) x best class probability", atol=1e-5
    )
    expect(
        labels.tolist() == expected[2].tolist(),
        f"labels should be {expected[2].tolist()}, got {labels.tolist()}",
    )


@exercise("yolo.decode_grid", points=1)
def test_decode_grid_zero_prediction_by_hand():
    """All-zero outputs: each box is its anchor centred in its cell; score 0.5 x 1/K; label 1."""
    decode_grid = student("yolo.decode_grid")
    boxes, scores, labels = decode_grid(
        torch.zeros(1, 2, 1, 5 + 4), 16, torch.tensor([[16.0, 8.0]]), (100, 100)
    )
    expect_close(
        boxes,
        torch.tensor([[0.0, 4.0, 16.0, 12.0], [16.0, 4.0, 32.0, 12.0]]),
        "boxes of cells (0, 0) and (0, 1)",
    )
    expect_close(scores, torch.full((2,), 0.5 / 4), "scores")
    expect(
        labels.tolist() == [1, 1],
        f"ties go to the first class: labels [1, 1], got {labels.tolist()}",
    )


# ----------------------------------------------------------------------------- yolo_postprocess


@st.composite
def decoded_sets(draw: st.DrawFn) -> tuple[Tensor, Tensor, Tensor]:
    count = draw(st.integers(0, 30))
    seed = draw(st.integers(0, 2**16))
    generator = torch.Generator().manual_seed(seed)
    corners = torch.randint(0, 60, (count, 2), generator=generator).float()
    sides = torch.randint(0, 40, (count, 2), generator=generator).float()  # some of width 0
    boxes = torch.cat([corners, corners + sides], dim=1)
    scores = torch.randint(0, 20, (count,), generator=generator).float() / 20  # ties, 0.05 exactly
    labels = torch.randint(1, 4, (count,), generator=generator)
    return boxes, scores, labels


@exercise("yolo.yolo_postprocess", points=3)
@settings(max_examples=50)
@given(decoded_sets(), st.sampled_from([(0.05, 0.5, 100), (0.3, 0.3, 4), (0.0, 0.7, 10)]))
def test_postprocess_matches_batched_nms(case, options):
    """Kept boxes equal torchvision's batched_nms after the score (strictly above) and size filters, top-k."""
    postprocess = student("yolo.yolo_postprocess", nms=torchvision.ops.nms)
    score_thresh, nms_thresh, top = options
    result = postprocess(*case, score_thresh, nms_thresh, top)
    expect(isinstance(result, tuple) and len(result) == 3, "return (boxes, scores, labels)")
    expected = reference_postprocess(*case, score_thresh, nms_thresh, top)
    count = len(expected[1])
    expect_tensor(result[0], "boxes", shape=(count, 4))
    expect_close(result[0], expected[0], "kept boxes, best first")
    expect_close(result[1], expected[1], "kept scores")
    expect(
        result[2].tolist() == expected[2].tolist(), f"kept labels should be {expected[2].tolist()}"
    )


@holds_for_constants
@exercise("yolo.yolo_postprocess", points=1)
def test_postprocess_is_per_class():
    """Two identical boxes of different classes both survive; of the same class, one does."""
    postprocess = student("yolo.yolo_postprocess", nms=torchvision.ops.nms)
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8])
    kept = postprocess(boxes, scores, torch.tensor([1, 2]))[2].tolist()
    expect(
        kept == [1, 2], f"boxes of classes 1 and 2 never suppress each other; kept labels {kept}"
    )
    kept = postprocess(boxes, scores, torch.tensor([2, 2]))[1].tolist()
    expect(len(kept) == 1, f"of two identical class-2 boxes only the best survives; kept {kept}")


# ----------------------------------------------------------------------------- YOLO


def build(**options) -> nn.Module:
    YOLO = student("yolo.YOLO")
    where = f"{harness.SESSION.display_path('yolo')}::YOLO"
    with use_references("yolo", vgg16_backbone=reference_backbone), not_implemented_guard(where):
        model = YOLO(4, width=0.125, hidden=32, **options)
    expect(isinstance(model, nn.Module), "YOLO must be an nn.Module")
    return model


def run(model: nn.Module, *args):
    where = f"{harness.SESSION.display_path('yolo')}::YOLO.forward"
    references = {
        "grid_targets": reference_grid_targets,
        "yolo_loss": reference_fast_loss,
        "decode_grid": reference_fast_decode,
        "yolo_postprocess": reference_postprocess,
        "nms": torchvision.ops.nms,
    }
    with use_references("yolo", **references), not_implemented_guard(where):
        return model(*args)


def reference_fast_loss(predictions, targets, lambda_coord=5.0, lambda_noobj=0.5):
    """The same four terms, vectorised (the slot-by-slot oracle is too slow for a whole grid)."""
    images, responsible = predictions.shape[0], targets["responsible"]
    chosen, others = predictions[responsible], predictions[~responsible]
    box = ((chosen[:, :2].sigmoid() - targets["offsets"][responsible]) ** 2).sum()
    box = box + ((chosen[:, 2:4] - targets["log_sizes"][responsible]) ** 2).sum()
    return {
        "loss_box": lambda_coord * box / images,
        "loss_objectness": -F.logsigmoid(chosen[:, 4]).sum() / images,
        "loss_no_object": -lambda_noobj * F.logsigmoid(-others[:, 4]).sum() / images,
        "loss_class": F.cross_entropy(
            chosen[:, 5:], targets["labels"][responsible] - 1, reduction="sum"
        )
        / images,
    }


def reference_fast_decode(predictions, stride, anchors, image_size):
    rows, columns, count = predictions.shape[:3]
    height, width = image_size
    flat = predictions.reshape(-1, predictions.shape[-1])
    grid_y, grid_x, anchor = torch.meshgrid(
        torch.arange(rows), torch.arange(columns), torch.arange(count), indexing="ij"
    )
    cx = (grid_x.reshape(-1) + flat[:, 0].sigmoid()) * stride
    cy = (grid_y.reshape(-1) + flat[:, 1].sigmoid()) * stride
    sizes = anchors.to(flat)[anchor.reshape(-1)] * flat[:, 2:4].clamp(max=SIZE_CLAMP).exp()
    boxes = torch.stack(
        [cx - sizes[:, 0] / 2, cy - sizes[:, 1] / 2, cx + sizes[:, 0] / 2, cy + sizes[:, 1] / 2], 1
    )
    boxes = torch.minimum(boxes.clamp(min=0), flat.new_tensor([width, height, width, height]))
    probabilities, classes = flat[:, 5:].softmax(1).max(1)
    return boxes, flat[:, 4].sigmoid() * probabilities, classes + 1


def toy_batch() -> tuple[Tensor, list[dict[str, Tensor]]]:
    images = torch.full((2, 3, 64, 96), 0.4)
    images[0, :, 8:40, 10:42] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    images[1, :, 20:50, 40:90] = torch.tensor([0.1, 0.1, 0.9])[:, None, None]
    targets = [
        {"boxes": torch.tensor([[10.0, 8.0, 42.0, 40.0]]), "labels": torch.tensor([1])},
        {"boxes": torch.tensor([[40.0, 20.0, 90.0, 50.0]]), "labels": torch.tensor([3])},
    ]
    return images, targets


@exercise("yolo.YOLO", points=2, timeout=120)
def test_yolo_training_returns_the_four_losses_and_trains_every_part():
    """In training, model(images, targets) returns the four losses; each reaches the backbone and the head."""
    torch.manual_seed(0)
    model = build()
    model.train()
    images, targets = toy_batch()
    losses = run(model, images, targets)
    keys = {"loss_box", "loss_objectness", "loss_no_object", "loss_class"}
    expect(
        isinstance(losses, dict) and set(losses) == keys,
        f"training returns a dict with {sorted(keys)}",
    )
    for name in sorted(keys):
        expect_tensor(losses[name], name, shape=())
        model.zero_grad()
        losses[name].backward(retain_graph=True)
        for part in ("backbone", "head"):
            reached = any(
                p.grad is not None and bool(p.grad.abs().sum() > 0)
                for p in getattr(model, part).parameters()
            )
            expect(reached, f"{name} does not reach the {part}")


@holds_for_constants
@exercise("yolo.YOLO", points=2, timeout=120)
def test_yolo_eval_returns_detections_inside_each_image():
    """In evaluation (even with targets passed), one {boxes, scores, labels} per image, clipped to its own size."""
    torch.manual_seed(0)
    model = build(score_thresh=0.0, detections_per_img=5)
    model.eval()
    images, targets = toy_batch()
    batch = [images[0], images[1, :, :48, :80]]
    with torch.no_grad():
        outputs = run(model, batch)
        with_targets = run(model, batch, targets)
    for result in (outputs, with_targets):
        expect(
            isinstance(result, list) and len(result) == 2,
            "eval mode returns one dict per image (decided by self.training, not by targets)",
        )
    for number, (output, image) in enumerate(zip(outputs, batch, strict=True)):
        count = len(expect_tensor(output["scores"], f"image {number}'s scores"))
        expect(
            0 < count <= 5,
            f"image {number}: detections_per_img=5 and score_thresh=0 give 1-5 detections, got {count}",
        )
        found = expect_tensor(output["boxes"], f"image {number}'s boxes", shape=(count, 4))
        height, width = image.shape[-2:]
        inside = (
            (found >= 0).all()
            and (found[:, 0::2] <= width).all()
            and (found[:, 1::2] <= height).all()
        )
        expect(bool(inside), f"image {number}'s boxes leave its {height}x{width} area")
        expect_tensor(
            output["labels"], f"image {number}'s labels", shape=(count,), dtype=torch.int64
        )


@exercise("yolo.YOLO", points=2, timeout=180)
def test_yolo_learns_a_toy_batch():
    """40 Adam steps on two images halve the total loss, and the right box comes out on top."""
    torch.manual_seed(0)
    model = build(score_thresh=0.0)
    images, targets = toy_batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    first = None
    for _ in range(40):
        total = sum(run(model, images, targets).values())
        first = float(total.detach()) if first is None else first
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    last = float(total.detach())
    expect(last < 0.5 * first, f"the loss went from {first:.3f} to {last:.3f}: not learning")
    model.eval()
    with torch.no_grad():
        outputs = run(model, images)
    for number, (output, target) in enumerate(zip(outputs, targets, strict=True)):
        best = output["boxes"][:1]
        overlap = float(torchvision.ops.box_iou(best, target["boxes"])[0, 0]) if len(best) else 0.0
        expect(
            overlap > 0.3,
            f"image {number}: the best detection overlaps the object by IoU {overlap:.2f}",
        )


# ----------------------------------------------------------------------------- contract clauses found by mutation


# ----------------------------------------------------------------------------- contract (issue 27)


@exercise("yolo.grid_targets", points=1)
def test_grid_targets_first_anchor_wins_a_shape_iou_tie():
    """Two anchors with the same shape IoU for a box (16x32 and 32x16 for a 24x24 box): the first.

    Both give ``16 * 24 / (576 + 512 - 384) = 6/11``; the docstring says the first one on ties.
    """
    grid_targets = student("yolo.grid_targets")
    anchors = torch.tensor([[16.0, 32.0], [32.0, 16.0]])
    for boxes, row, column in (
        (torch.tensor([[0.0, 0.0, 24.0, 24.0]]), 1, 1),
        (torch.tensor([[6.0, 2.0, 30.0, 26.0]]), 1, 2),
    ):
        result = grid_targets(boxes, torch.tensor([2]), (4, 4), 8, anchors)
        responsible = expect_tensor(
            result["responsible"], "responsible", shape=(4, 4, 2), dtype=torch.bool
        )
        found = sorted(map(tuple, responsible.nonzero().tolist()))
        expect(
            found == [(row, column, 0)],
            f"a 24x24 box ties anchors 16x32 and 32x16 (shape IoU 6/11 each): anchor 0, the"
            f" first, is responsible, at (row, column, anchor) {(row, column, 0)}; got {found}",
        )


@holds_for_constants
@exercise("yolo.grid_targets", points=1)
def test_grid_targets_without_boxes_keep_the_dtype():
    """No box (G = 0): float64 boxes still give float64 offsets and log_sizes (every path)."""
    grid_targets = student("yolo.grid_targets")
    for dtype in (torch.float64, torch.float32):
        result = grid_targets(
            torch.zeros(0, 4, dtype=dtype), torch.zeros(0, dtype=torch.int64), (2, 3), 16, ANCHORS
        )
        for key in ("offsets", "log_sizes"):
            expect_tensor(
                result[key], f"{key} of no {dtype} boxes", shape=(2, 3, 3, 2), dtype=dtype
            )


@holds_for_constants
@exercise("yolo.yolo_postprocess", points=1)
def test_postprocess_keeps_the_dtype_when_nothing_is_detected():
    """float64 boxes and scores stay float64 with detections, with none above the threshold and
    with no box at all (N = 0); labels stay int64."""
    postprocess = student("yolo.yolo_postprocess", nms=torchvision.ops.nms)
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 40.0]], dtype=torch.float64)
    for count, score, case in ((2, 0.9, "two detections"), (2, 0.01, "none above 0.05"),
                               (0, 0.9, "N = 0")):  # fmt: skip
        found, scores, labels = postprocess(
            boxes[:count],
            torch.full((count,), score, dtype=torch.float64),
            torch.ones(count, dtype=torch.int64),
        )
        kept = 2 if case == "two detections" else 0
        expect_tensor(found, f"boxes ({case})", shape=(kept, 4), dtype=torch.float64)
        expect_tensor(scores, f"scores ({case})", shape=(kept,), dtype=torch.float64)
        expect_tensor(labels, f"labels ({case})", shape=(kept,), dtype=torch.int64)


@exercise("yolo.yolo_postprocess", points=1)
def test_postprocess_drops_small_boxes_before_nms():
    """A box too small to keep must not suppress anything: the size filter runs before NMS.

    The better box is 0.009 px wide (below MIN_BOX_SIZE = 0.01: dropped), the other 0.011 px,
    IoU 0.82 > 0.5, one class: the second one is the detection. NMS first lets the dropped box
    suppress it, and nothing is left.
    """
    postprocess = student("yolo.yolo_postprocess", nms=torchvision.ops.nms)
    boxes = torch.tensor([[10.0, 10.0, 10.009, 30.0], [10.0, 10.0, 10.011, 30.0]])
    found, scores, _ = postprocess(boxes, torch.tensor([0.9, 0.8]), torch.tensor([1, 1]))
    expect_tensor(found, "detections of a 0.009 px box over a 0.011 px one", shape=(1, 4))
    expect_close(found, boxes[1:], "the 0.011 px box, left after the size filter")
    expect_close(scores, torch.tensor([0.8]), "its score")


@exercise("yolo.grid_targets", points=1)
def test_grid_targets_dtype_follows_the_boxes_and_tall_grids():
    """float64 boxes give float64 targets; on a grid taller than wide, distinct cells never collide."""
    boxes = torch.tensor([[0.0, 32.0, 16.0, 48.0], [16.0, 0.0, 32.0, 16.0]], dtype=torch.float64)
    result = targets_of(boxes, torch.tensor([1, 2]), (5, 2))
    for key in ("offsets", "log_sizes"):
        expect(
            result[key].dtype == torch.float64,
            f"{key} of float64 boxes should be float64, got {result[key].dtype}",
        )
    found = sorted(map(tuple, result["responsible"].nonzero().tolist()))
    expect(
        found == [(0, 1, 0), (2, 0, 0)],
        f"boxes centred in (row 2, column 0) and (row 0, column 1) of a 5 x 2 grid are both"
        f" responsible there: expected [(0, 1, 0), (2, 0, 0)], got {found}",
    )


@exercise("yolo.yolo_loss", points=1)
def test_yolo_loss_default_weights_are_yolov1s():
    """Without weights given, lambda_coord = 5 and lambda_noobj = 0.5 (YOLOv1's)."""
    yolo_loss = student("yolo.yolo_loss")
    generator = torch.Generator().manual_seed(5)
    predictions = torch.randn(1, 2, 2, 2, 7, generator=generator)
    responsible = torch.zeros(1, 2, 2, 2, dtype=torch.bool)
    responsible[0, 0, 1, 0] = True
    targets = {
        "responsible": responsible,
        "offsets": torch.full((1, 2, 2, 2, 2), 0.3) * responsible[..., None],
        "log_sizes": torch.full((1, 2, 2, 2, 2), 0.2) * responsible[..., None],
        "labels": responsible.long(),
    }
    result = yolo_loss(predictions, targets)
    expected = reference_loss(predictions, targets, 5.0, 0.5)
    for name in ("loss_box", "loss_no_object"):
        expect_close(result[name], expected[name], f"{name} with the default weights", atol=1e-5)


@exercise("yolo.yolo_postprocess", points=1)
def test_postprocess_defaults_and_the_size_boundary():
    """By default at most 100 detections; a box exactly MIN_BOX_SIZE (0.01 px) wide is kept."""
    postprocess = student("yolo.yolo_postprocess", nms=torchvision.ops.nms)
    corners = torch.arange(150.0)[:, None] * torch.tensor([[20.0, 0.0]])
    boxes = torch.cat([corners, corners + torch.tensor([[10.0, 10.0]])], dim=1)  # apart
    scores = torch.linspace(0.9, 0.1, 150)
    kept = postprocess(boxes, scores, torch.ones(150, dtype=torch.int64))
    expect(len(kept[1]) == 100, f"detections_per_img defaults to 100, got {len(kept[1])}")
    thin = torch.tensor([[0.0, 0.0, 0.01, 10.0], [20.0, 0.0, 20.005, 10.0]])
    kept = postprocess(thin, torch.tensor([0.9, 0.8]), torch.tensor([1, 1]))[0]
    expect(
        len(kept) == 1 and float(kept[0, 2] - kept[0, 0]) > 0.009,
        "a box 0.01 px wide is kept (sides >= MIN_BOX_SIZE) and one 0.005 px wide dropped",
    )


MEAN, STD = (0.4, 0.5, 0.6), (0.3, 0.2, 0.25)  # not ImageNet's: the model must use its own


def reference_normalised(images: list[Tensor]) -> Tensor:
    mean = torch.tensor(MEAN)[:, None, None]
    std = torch.tensor(STD)[:, None, None]
    return torch.stack([(image - mean) / std for image in images])


@exercise("yolo.YOLO", points=2, timeout=120)
def test_yolo_forward_equals_its_layers_composed_by_hand():
    """Losses and detections equal the given layers composed in the check: images normalised
    with the model's own mean and std, backbone, head, [B, H', W', A, 5 + K], grid targets, the loss with the model's own
    weights; decoding and post-processing with its own settings."""
    torch.manual_seed(0)
    model = build(
        lambda_coord=2.0, lambda_noobj=0.25, score_thresh=0.01, detections_per_img=7,
        image_mean=MEAN, image_std=STD,
    )  # fmt: skip
    images, targets = toy_batch()
    with torch.no_grad():
        model.train()
        losses = run(model, images, targets)
        raw = model.head(model.backbone(reference_normalised(list(images))))
        anchors = torch.tensor([[16.0, 16.0], [32.0, 32.0], [56.0, 48.0]])
        predictions = raw.permute(0, 2, 3, 1).reshape(2, *raw.shape[-2:], 3, -1)
        grid = tuple(raw.shape[-2:])
        per_image = [
            reference_grid_targets(t["boxes"], t["labels"], grid, 16, anchors) for t in targets
        ]
        stacked = {key: torch.stack([t[key] for t in per_image]) for key in per_image[0]}
        expected = reference_fast_loss(predictions, stacked, 2.0, 0.25)
        for name, value in expected.items():
            expect_close(
                losses[name],
                value,
                f"{name} (weights 2 and 0.25 given to YOLO)",
                atol=1e-4,
                rtol=1e-4,
            )
        model.eval()
        outputs = run(model, images)
        for number, (output, prediction) in enumerate(zip(outputs, predictions, strict=True)):
            decoded = reference_fast_decode(prediction, 16, anchors, tuple(images.shape[-2:]))
            found, scores, labels = reference_postprocess(*decoded, 0.01, 0.5, 7)
            expect_close(
                output["scores"],
                scores,
                f"image {number}'s scores (score_thresh 0.01, top 7)",
                atol=1e-4,
            )
            expect_close(output["boxes"], found, f"image {number}'s boxes", atol=1e-3)
            expect(
                output["labels"].tolist() == labels.tolist(),
                f"image {number}'s labels should be {labels.tolist()}",
            )


@holds_for_constants
@exercise("yolo.YOLO", points=1, timeout=120)
def test_yolo_trains_on_a_batch_of_one():
    """A batch of a single image (and one without objects) gives the four finite losses."""
    torch.manual_seed(0)
    model = build()
    model.train()
    images, targets = toy_batch()
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    for batch, batch_targets in ((images[:1], targets[:1]), (images[1:], [empty])):
        losses = run(model, batch, batch_targets)
        expect(isinstance(losses, dict) and len(losses) == 4, "training returns the four losses")
        for name, value in losses.items():
            expect_tensor(value, f"{name} of a batch of one", shape=())


@exercise("yolo.yolo_postprocess", points=1)
def test_postprocess_is_per_class_for_boxes_within_one_pixel():
    """Classes stay apart for any box coordinates, also when every box lies within [0, 1].

    By hand: the same box (0, 0, 1, 1) for classes 1 and 2, and (0.25, 0, 1, 1) for class 1 —
    IoU 0.75 with the first, suppressed at 0.5. Per-class NMS keeps the class-1 and class-2
    unit boxes (torchvision's ``batched_nms`` agrees); a shift of each class by less than the
    boxes' extent (for example ``label * (max - 1)``, 0 here) would let one suppress the other.
    """
    postprocess = student("yolo.yolo_postprocess", nms=torchvision.ops.nms)
    boxes = torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1], [0.25, 0, 1, 1]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    labels = torch.tensor([1, 2, 1])
    expected = torchvision.ops.batched_nms(boxes, scores, labels, 0.5)
    expect(expected.tolist() == [0, 1], "(oracle: batched_nms keeps boxes 0 and 1)")
    result = postprocess(boxes, scores, labels, 0.05, 0.5, 100)
    expect(isinstance(result, tuple) and len(result) == 3, "return (boxes, scores, labels)")
    expect(
        result[2].tolist() == [1, 2] and result[1].tolist() == scores[:2].tolist(),
        "unit boxes of classes 1 and 2 never suppress each other (box 2, class 1, is suppressed"
        f" by box 0); kept labels {result[2].tolist()}, scores {result[1].tolist()}",
    )


# ----------------------------------------------------------------------------- contract corners


@exercise("yolo.decode_grid", points=1)
def test_decode_grid_clamps_sizes_at_log_1000_over_16():
    """tw, th are clamped at log(1000 / 16) before exp: a box is at most 1000 / 16 anchors wide, and below the clamp exp is exact."""
    decode_grid = student("yolo.decode_grid")
    clamp = math.log(1000.0 / 16)
    # one cell of stride 2000 in a 4000 x 4000 image: the box sits in the middle, never clipped
    cases = [(5.0, 4.0), (clamp, clamp - 0.5), (40.0, 1.0)]
    for tw, th in cases:
        predictions = torch.zeros(1, 1, 1, 5 + 2)
        predictions[0, 0, 0, 2], predictions[0, 0, 0, 3] = tw, th
        boxes, _, _ = decode_grid(predictions, 2000, torch.tensor([[16.0, 16.0]]), (4000, 4000))
        width, height = 16 * math.exp(min(tw, clamp)), 16 * math.exp(min(th, clamp))
        expected = torch.tensor(
            [[1000 - width / 2, 1000 - height / 2, 1000 + width / 2, 1000 + height / 2]]
        )
        expect_close(
            boxes,
            expected,
            f"the box of tw = {tw:.4g}, th = {th:.4g} (anchor 16 x 16, clamp at log(1000 / 16)"
            f" = {clamp:.4f})",
            atol=1e-2,
            rtol=1e-5,
        )


@exercise("yolo.YOLO", points=1, timeout=120)
def test_yolo_training_rejects_missing_or_invalid_targets():
    """In training, no targets, a box with x2 < x1, a label 0 (background) or one target too few raise a clear ValueError."""
    torch.manual_seed(0)
    model = build()
    model.train()
    images, targets = toy_batch()
    losses = run(model, images, targets)  # valid targets train (an unwritten forward stops here)
    expect(isinstance(losses, dict), "model(images, targets) in training returns the losses")
    raises_value_error(lambda: run(model, images), "model(images) in training mode (no targets)")
    raises_value_error(lambda: run(model, images, None), "model(images, None) in training mode")
    backwards = [{"boxes": t["boxes"][:, [2, 1, 0, 3]], "labels": t["labels"]} for t in targets]
    raises_value_error(
        lambda: run(model, images, backwards), "a target box with x2 < x1 (not a NaN loss)"
    )
    background = [{"boxes": t["boxes"], "labels": torch.zeros_like(t["labels"])} for t in targets]
    raises_value_error(
        lambda: run(model, images, background), "a target labelled 0, the background class"
    )
    raises_value_error(lambda: run(model, images, targets[:1]), "one target for two images")


@exercise("yolo.decode_grid", points=1)
def test_decode_grid_follows_the_predictions_dtype_not_the_anchors():
    """Boxes and scores are in the predictions' dtype, whatever the anchors' dtype (float64
    anchors with float32 predictions give float32 boxes, and the other way round)."""
    decode_grid = student("yolo.decode_grid")
    generator = torch.Generator().manual_seed(7)
    base = torch.randn(2, 3, 2, 5 + 3, generator=generator) * 2
    size = (27, 45)
    for predictions_dtype, anchors_dtype in (
        (torch.float32, torch.float64),
        (torch.float64, torch.float32),
    ):
        predictions = base.to(predictions_dtype)
        anchors = ANCHORS[:2].to(anchors_dtype)
        case = f"{str(predictions_dtype)[6:]} predictions, {str(anchors_dtype)[6:]} anchors"
        expected = reference_decode(predictions.double(), 16, anchors.double(), size)
        found_boxes, scores, labels = decode_grid(predictions, 16, anchors, size)
        expect_tensor(found_boxes, f"boxes ({case})", shape=(12, 4), dtype=predictions_dtype)
        expect_tensor(scores, f"scores ({case})", shape=(12,), dtype=predictions_dtype)
        expect_close(found_boxes.double(), expected[0], f"boxes ({case})", atol=1e-3, rtol=1e-4)
        expect_close(scores.double(), expected[1], f"scores ({case})", atol=1e-5)
        expect(labels.tolist() == expected[2].tolist(), f"labels ({case})")


@holds_for_constants  # compares the model with itself: constant losses pass
@exercise("yolo.YOLO", points=1, timeout=120)
def test_yolo_losses_are_in_the_models_dtype_with_float64_targets():
    """A float32 model given float64 target boxes returns float32 losses, equal to the losses
    of the same boxes in float32 (the targets follow the model, not the other way round)."""
    torch.manual_seed(0)
    model = build()
    model.train()
    images, targets = toy_batch()
    as_float64 = [{"boxes": t["boxes"].double(), "labels": t["labels"]} for t in targets]
    with torch.no_grad():
        expected = run(model, images, targets)
        losses = run(model, images, as_float64)
    expect(isinstance(losses, dict) and set(losses) == set(expected), "the four losses")
    for name, value in expected.items():
        expect_tensor(
            losses[name], f"{name} with float64 target boxes", shape=(), dtype=torch.float32
        )
        expect_close(losses[name], value, f"{name} with float64 target boxes", atol=1e-4, rtol=1e-4)
