"""Checks for lesson 9, ``detector``: Faster R-CNN end to end, on your own lessons 5-8.

Unlike the other lessons, nothing is replaced by a reference here: the capstone runs *your*
backbone, RPN, RoI pooling and head together. The checks: the torchvision detection interface
(a loss dict in training, detections in evaluation), and overfitting three bundled images to a
high mAP@0.5, scored by an independent VOC-style AP written below with torchvision's box_iou.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from checks import harness
from checks.harness import exercise, expect, expect_close, expect_tensor, student
from checks.scoring import holds_for_constants
from given.detection import IMAGENET_MEAN, IMAGENET_STD

LOSS_KEYS = {"loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg"}


@contextlib.contextmanager
def graded_stack() -> Iterator[None]:
    """'Not implemented yet', naming the stub of lessons 5-9 that the detector ran into."""
    try:
        yield
    except NotImplementedError as error:
        package = harness.SESSION.package
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if f"/{package}/" in frame.filename.replace("\\", "/")
        ]
        where = f"{harness.SESSION.display_path('detector')}::FasterRCNN"
        if frames:
            last = frames[-1]
            lesson = last.filename.replace("\\", "/").rsplit("/", 1)[-1]
            where = f"{package}/{lesson}::{last.name} (run by FasterRCNN)"
        raise harness.ExerciseNotImplemented(where) from None


def build(num_classes: int = 4, **options) -> nn.Module:
    FasterRCNN = student("detector.FasterRCNN")
    settings = {
        "width": 0.125,
        "hidden": 64,
        "anchor_sizes": (16, 32, 64),
        "rpn_batch_size": 64,
        "roi_batch_size": 32,
        "rpn_post_nms_top_n": 100,
    }
    with graded_stack():
        model = FasterRCNN(num_classes, **{**settings, **options})
    expect(isinstance(model, nn.Module), "FasterRCNN must be an nn.Module")
    return model


def toy_batch() -> tuple[Tensor, list[dict[str, Tensor]]]:
    """Two 80x112 images with bright squares and discs on grey, and their targets."""
    images = torch.full((2, 3, 80, 112), 0.4)
    images[0, :, 10:40, 12:42] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    images[0, :, 45:75, 60:100] = torch.tensor([0.1, 0.8, 0.2])[:, None, None]
    yy, xx = torch.meshgrid(torch.arange(80.0), torch.arange(112.0), indexing="ij")
    disc = (yy - 40) ** 2 + (xx - 56) ** 2 < 20**2
    images[1, :, disc] = torch.tensor([0.1, 0.2, 0.9])[:, None]
    targets = [
        {
            "boxes": torch.tensor([[12.0, 10.0, 42.0, 40.0], [60.0, 45.0, 100.0, 75.0]]),
            "labels": torch.tensor([1, 2]),
        },
        {"boxes": torch.tensor([[36.0, 20.0, 76.0, 60.0]]), "labels": torch.tensor([3])},
    ]
    return images, targets


@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_training_mode_returns_the_four_losses():
    """In training, model(images, targets) returns the four losses; their sum reaches every part."""
    torch.manual_seed(0)
    model = build()
    model.train()
    images, targets = toy_batch()
    with graded_stack():
        losses = model(images, targets)
    expect(
        isinstance(losses, dict),
        f"in training mode forward returns a dict of losses, got {type(losses).__name__}",
    )
    expect(
        set(losses) == LOSS_KEYS,
        f"the loss dict has keys {sorted(losses)}, expected {sorted(LOSS_KEYS)}",
    )
    for name, value in losses.items():
        expect_tensor(value, name, shape=())
        expect(value.requires_grad, f"{name} must keep its graph (no .item() or .detach())")
    sum(losses.values()).backward()
    parts = {"backbone": model.backbone, "RPN head": model.rpn_head, "detection head": model.head}
    for part, module in parts.items():
        reached = any(
            p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters()
        )
        expect(reached, f"no gradient reaches the {part}: is its output used by a loss?")


@holds_for_constants
@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_eval_mode_returns_detections():
    """In evaluation, model(images) gives one {boxes, scores, labels} per image, inside each image."""
    torch.manual_seed(0)
    model = build(detections_per_img=7, score_thresh=0.0)
    model.eval()
    images, _ = toy_batch()
    batch = [images[0], images[1, :, :64, :96]]  # two sizes: padded inside, clipped to each
    with torch.no_grad(), graded_stack():
        outputs = model(batch)
    expect(
        isinstance(outputs, list) and len(outputs) == 2,
        "in eval mode forward returns a list, one dict per image",
    )
    for number, (output, image) in enumerate(zip(outputs, batch, strict=True)):
        expect(
            isinstance(output, dict) and {"boxes", "scores", "labels"} <= set(output),
            "each image gets a dict with boxes, scores and labels",
        )
        count = len(expect_tensor(output["scores"], f"image {number} scores"))
        boxes = expect_tensor(output["boxes"], f"image {number} boxes", shape=(count, 4))
        labels = expect_tensor(
            output["labels"], f"image {number} labels", shape=(count,), dtype=torch.int64
        )
        expect(count <= 7, f"image {number}: {count} detections, more than detections_per_img=7")
        expect(
            bool(((labels >= 1) & (labels <= 3)).all()),
            f"image {number}: labels must be classes 1..3, got {labels.tolist()}",
        )
        height, width = image.shape[-2:]
        inside = bool(
            (boxes[:, 0::2] <= width).all()
            and (boxes[:, 1::2] <= height).all()
            and (boxes >= 0).all()
        )
        expect(inside, f"image {number}: boxes must lie inside its own {width}x{height} pixels")


@exercise("detector.FasterRCNN", points=1, timeout=60)
def test_training_without_targets_is_a_clear_error():
    """In training mode, a call without targets raises a ValueError that says so."""
    model = build()
    model.train()
    images, _ = toy_batch()
    try:
        with graded_stack():
            model(images)
    except ValueError:
        return
    except Exception as error:
        expect(
            False,
            f"model(images) in training mode raised {type(error).__name__}: {error}; expected a ValueError",
        )
    expect(False, "model(images) in training mode (no targets) should raise a ValueError")


@holds_for_constants
@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_each_image_uses_its_own_features():
    """Swapping the images of a batch swaps their detections and leaves the losses unchanged."""
    images, targets = toy_batch()
    swapped_images, swapped_targets = images.flip(0), targets[::-1]
    # sample every anchor and RoI, so the losses do not depend on random draws
    model = build(rpn_batch_size=10**6, roi_batch_size=10**6, score_thresh=0.0)
    losses = []
    for batch, batch_targets in ((images, targets), (swapped_images, swapped_targets)):
        torch.manual_seed(0)
        model.train()
        with graded_stack():
            losses.append({key: float(value) for key, value in model(batch, batch_targets).items()})
    for key in sorted(LOSS_KEYS):
        expect(
            abs(losses[0][key] - losses[1][key]) <= 1e-4 + 1e-4 * abs(losses[0][key]),
            f"{key} is {losses[0][key]:.6f} for images (A, B) but {losses[1][key]:.6f} for (B, A):"
            " does every image use its own anchors' predictions and its own RoIs' features"
            " (batch index in the RoIs, sampled indices offset per image)?",
        )
    model.eval()
    with torch.no_grad(), graded_stack():
        forward, backward = model(images), model(swapped_images)
    for number, (first, second) in enumerate(zip(forward, backward[::-1], strict=True)):
        first_scores = first["scores"].sort(descending=True).values
        second_scores = second["scores"].sort(descending=True).values
        same = first_scores.shape == second_scores.shape and torch.allclose(
            first_scores, second_scores, atol=1e-5
        )
        expect(
            same, f"image {number} gets other detections when it is at another place in the batch"
        )


# ----------------------------------------------------------------------------- overfitting


def voc_average_precision(detections: list[dict], truths: list[dict], num_classes: int) -> float:
    """mAP@0.5, VOC all-point AP per class present, greedy matching by score (independent oracle)."""
    aps = []
    for label in range(1, num_classes + 1):
        total = sum(int((truth["labels"] == label).sum()) for truth in truths)
        if total == 0:
            continue
        ranked = []  # (score, image, box)
        for image, detection in enumerate(detections):
            chosen = detection["labels"] == label
            ranked += [
                (float(s), image, b)
                for s, b in zip(
                    detection["scores"][chosen], detection["boxes"][chosen], strict=True
                )
            ]
        ranked.sort(key=lambda entry: -entry[0])
        used = [
            torch.zeros(int((truth["labels"] == label).sum()), dtype=torch.bool) for truth in truths
        ]
        hits = []
        for _, image, box in ranked:
            candidates = truths[image]["boxes"][truths[image]["labels"] == label]
            hit = False
            if len(candidates):
                overlaps = torchvision.ops.box_iou(box[None], candidates)[0]
                best = int(overlaps.argmax())
                if overlaps[best] >= 0.5 and not used[image][best]:
                    used[image][best] = hit = True
            hits.append(hit)
        true_positives = torch.tensor(hits, dtype=torch.float64).cumsum(0)
        recall = true_positives / total
        precision = true_positives / torch.arange(1, len(hits) + 1)
        area, previous = 0.0, 0.0
        for index in range(len(hits)):
            if hits[index]:
                area += (float(recall[index]) - previous) * float(precision[index:].max())
                previous = float(recall[index])
        aps.append(area)
    return sum(aps) / len(aps) if aps else 0.0


def bundled_images(count: int, size: tuple[int, int]) -> tuple[Tensor, list[dict[str, Tensor]]]:
    """The first ``count`` training images of data/shapes, resized here (not by lesson 1)."""
    from bam.configs import SHAPES_ROOT
    from bam.data.datasets import load_image, read_voc_annotation

    classes = ("circle", "square", "triangle")
    ids = (SHAPES_ROOT / "ImageSets" / "Main" / "train.txt").read_text().split()[:count]
    images, targets = [], []
    for image_id in ids:
        annotation = read_voc_annotation(SHAPES_ROOT / "Annotations" / f"{image_id}.xml")
        image = load_image(SHAPES_ROOT / "JPEGImages" / annotation.filename)
        scale = torch.tensor([size[1] / image.shape[2], size[0] / image.shape[1]] * 2)
        images.append(
            F.interpolate(image[None], size=size, mode="bilinear", antialias=True)[0].clamp(0, 1)
        )
        boxes = torch.from_numpy(annotation.boxes).float() * scale
        labels = torch.tensor([classes.index(name) + 1 for name in annotation.names])
        targets.append({"boxes": boxes, "labels": labels})
    return torch.stack(images), targets


@exercise("detector.FasterRCNN", points=5, timeout=420)
def test_overfits_three_bundled_images():
    """Trained on three bundled shapes images, the detector finds their objects: mAP@0.5 >= 0.85 on them."""
    torch.manual_seed(0)
    images, targets = bundled_images(3, (96, 128))
    model = build(anchor_sizes=(13, 26, 52), hidden=128)
    steps = 200
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=2e-3, total_steps=steps, pct_start=0.15
    )
    best = 0.0
    for step in range(1, steps + 1):
        model.train()
        with graded_stack():
            losses = model(images, targets)
        total = sum(losses.values())
        expect(
            bool(torch.isfinite(total)), f"the loss became {total.item()} at step {step}: {losses}"
        )
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        schedule.step()
        if step >= 40 and step % 20 == 0:
            model.eval()
            with torch.no_grad(), graded_stack():
                detections = model(images)
            best = max(best, voc_average_precision(detections, targets, num_classes=3))
            if best >= 0.85:
                return
    expect(
        False, f"after {steps} steps on 3 images the best mAP@0.5 was {best:.2f}, expected >= 0.85"
    )


@holds_for_constants
@exercise("detector.FasterRCNN", points=1, timeout=120)
def test_eval_with_every_proposal_dropped_gives_no_detections():
    """An RPN whose boxes are all too small (all dropped) gives empty detections, not a crash."""
    torch.manual_seed(0)
    model = build()
    model.eval()
    anchors = 3 * 3  # build()'s 3 sizes x 3 ratios
    convs = [m for m in model.rpn_head.modules() if isinstance(m, nn.Conv2d)]
    deltas = [m for m in convs if m.out_channels == 4 * anchors and m.bias is not None]
    expect(
        len(deltas) == 1,
        f"the RPN head should have one 1x1 conv with 4 x {anchors} outputs (the deltas)",
    )
    with torch.no_grad():  # deltas dw = dh = -30 for every anchor: proposals of ~0 px
        deltas[0].weight.zero_()
        deltas[0].bias.copy_(torch.tensor([0.0, 0.0, -30.0, -30.0]).repeat(anchors))
    images, _ = toy_batch()
    with torch.no_grad(), graded_stack():
        outputs = model(images)
    expect(
        isinstance(outputs, list) and len(outputs) == 2,
        f"eval mode returns one dict per image, got {type(outputs).__name__}",
    )
    for number, output in enumerate(outputs):
        expect_tensor(output["boxes"], f"image {number}'s boxes", shape=(0, 4))
        expect_tensor(output["scores"], f"image {number}'s scores", shape=(0,))
        expect_tensor(output["labels"], f"image {number}'s labels", shape=(0,))


# ----------------------------------------------------------------------------- wiring (issue 11)
# Contract of FasterRCNN, clause by clause, without training: which parameters each loss reaches,
# batches with unequal proposal counts and an image without objects, eval() decided by
# self.training, and an observable effect of every constructor setting.

PARTS = ("backbone", "rpn_head", "head")
PART_NAMES = {"backbone": "backbone", "rpn_head": "RPN head", "head": "detection head"}
REACHES = {  # which parts each loss must reach; the others must get no gradient from it
    "loss_objectness": {"backbone", "rpn_head"},
    "loss_rpn_box_reg": {"backbone", "rpn_head"},
    "loss_classifier": {"backbone", "head"},
    "loss_box_reg": {"backbone", "head"},
}


def no_objects() -> dict[str, Tensor]:
    return {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}


def gradient_reaches(module: nn.Module) -> bool:
    return any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters())


def seeded_losses(model: nn.Module, images, targets, seed: int = 0) -> dict[str, float]:
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad(), graded_stack():
        losses = model(images, targets)
    expect(isinstance(losses, dict), "in training mode forward returns a dict of losses")
    return {key: float(value) for key, value in losses.items()}


def same_weights(model: nn.Module, **options) -> nn.Module:
    """A model built with other settings and the weights of ``model``."""
    other = build(**options)
    other.load_state_dict(model.state_dict())
    return other


def detections(model: nn.Module, images) -> list[dict[str, Tensor]]:
    model.eval()
    with torch.no_grad(), graded_stack():
        outputs = model(images)
    expect(
        isinstance(outputs, list) and all(isinstance(o, dict) for o in outputs),
        "in eval mode forward returns a list of dicts",
    )
    return outputs


def zero_rpn_deltas(model: nn.Module) -> None:
    """Makes the RPN predict zero deltas, so every proposal is an anchor clipped to the image."""
    with torch.no_grad():
        model.rpn_head.bbox_pred.weight.zero_()
        model.rpn_head.bbox_pred.bias.zero_()


@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_each_loss_reaches_exactly_its_parts():
    """RPN losses reach backbone and RPN head only; the head's losses reach backbone and head only."""
    torch.manual_seed(0)
    model = build()
    model.train()
    images, targets = toy_batch()
    with graded_stack():
        losses = model(images, targets)
    expect(set(losses) == LOSS_KEYS, f"the loss dict has keys {sorted(losses)}")
    for name in sorted(LOSS_KEYS):
        model.zero_grad(set_to_none=True)
        expect(losses[name].requires_grad, f"{name} must keep its graph")
        losses[name].backward(retain_graph=True)
        for part in PARTS:
            reached = gradient_reaches(getattr(model, part))
            if part in REACHES[name]:
                expect(
                    reached,
                    f"{name} sends no gradient to the {PART_NAMES[part]}: is the"
                    f" {PART_NAMES[part]}'s output (not a detached copy) used by this loss?",
                )
            else:
                expect(
                    not reached,
                    f"{name} sends gradient to the {PART_NAMES[part]}, which it must not reach"
                    " (proposals carry no gradient: detach the RPN's outputs before propose)",
                )


@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_trains_on_a_batch_with_an_image_without_objects():
    """A training batch where one image has no objects gives four finite losses that back-propagate."""
    images, targets = toy_batch()
    for order in ((targets[0], no_objects()), (no_objects(), targets[1])):
        torch.manual_seed(0)
        model = build()
        model.train()
        with graded_stack():
            losses = model(images, list(order))
        expect(
            isinstance(losses, dict) and set(losses) == LOSS_KEYS,
            "a batch with an image without objects still gives the four losses",
        )
        for name, value in losses.items():
            expect_tensor(value, f"{name} (one image without objects)", shape=())
        sum(losses.values()).backward()
        expect(gradient_reaches(model.backbone), "no gradient reaches the backbone in this batch")
    torch.manual_seed(0)
    model = build()
    model.train()
    with graded_stack():
        losses = model(images, [no_objects(), no_objects()])
    for name, value in losses.items():
        expect_tensor(value, f"{name} (no image has objects)", shape=())
    expect(
        float(losses["loss_rpn_box_reg"]) == 0.0 and float(losses["loss_box_reg"]) == 0.0,
        "without any object there is nothing to regress: both box losses should be 0, got"
        f" {float(losses['loss_rpn_box_reg']):.4g} and {float(losses['loss_box_reg']):.4g}",
    )


@holds_for_constants
@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_eval_is_decided_by_self_training_not_by_targets():
    """model.eval(); model(images, targets) returns detections (the same as without targets)."""
    torch.manual_seed(0)
    model = build(score_thresh=0.0)
    images, targets = toy_batch()
    model.eval()
    with torch.no_grad(), graded_stack():
        with_targets = model(images, targets)
        without = model(images)
    expect(
        isinstance(with_targets, list) and len(with_targets) == 2,
        "in eval mode, forward returns detections even when targets are passed"
        f" (got {type(with_targets).__name__}): decide the mode by self.training",
    )
    for number, (first, second) in enumerate(zip(with_targets, without, strict=True)):
        expect(
            torch.equal(first["scores"], second["scores"])
            and torch.equal(first["boxes"], second["boxes"]),
            f"image {number}: eval detections change when targets are passed",
        )
    with torch.no_grad(), graded_stack():
        features = model.backbone((images - 0.45) / 0.25)
        proposals, losses = model.region_proposals(features, [(80, 112)] * 2)
    expect(
        isinstance(losses, dict) and not losses,
        f"in eval mode region_proposals returns an empty loss dict, got {losses!r}",
    )
    expect(
        isinstance(proposals, list) and len(proposals) == 2,
        "region_proposals returns one proposal tensor per image",
    )
    for number, boxes in enumerate(proposals):
        expect_tensor(boxes, f"proposals of image {number}", shape=(len(boxes), 4))
        expect(not boxes.requires_grad, "proposals carry no gradient")


@holds_for_constants
@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_detection_head_with_unequal_proposal_counts():
    """detection_head splits the RoIs by each image's own count: a batch gives each image's own result."""
    torch.manual_seed(0)
    model = build(score_thresh=0.0, detections_per_img=50)
    model.eval()
    images, _ = toy_batch()
    proposals = [
        torch.tensor([[10.0, 8.0, 44.0, 42.0], [58.0, 40.0, 104.0, 78.0], [0.0, 0.0, 30.0, 20.0]]),
        torch.tensor(
            [[30.0, 15.0, 80.0, 65.0], [5.0, 5.0, 60.0, 70.0], [40.0, 30.0, 70.0, 50.0]]
            + [[8.0 * i, 4.0 * i, 8.0 * i + 24.0, 4.0 * i + 30.0] for i in range(6)]
        ),
    ]
    sizes = [(80, 112), (80, 112)]
    with torch.no_grad(), graded_stack():
        features = model.backbone((images - 0.45) / 0.25)
        together, losses = model.detection_head(features, proposals, sizes)
        alone = [
            model.detection_head(features[i : i + 1], proposals[i : i + 1], sizes[i : i + 1])[0]
            for i in range(2)
        ]
    expect(
        isinstance(together, list) and len(together) == 2,
        "detection_head returns one detection dict per image",
    )
    expect(not losses, f"in eval mode detection_head returns an empty loss dict, got {losses!r}")
    for number in range(2):
        first, second = together[number], alone[number][0]
        same = first["scores"].shape == second["scores"].shape and torch.allclose(
            first["scores"], second["scores"], atol=1e-5
        )
        expect(
            same,
            f"image {number} ({len(proposals[number])} proposals) gets other detections in a"
            " batch than alone: split the head's outputs by each image's number of RoIs",
        )
    # training: unequal counts after sampling, one image without objects
    model.train()
    torch.manual_seed(0)
    targets = [
        {"boxes": torch.tensor([[12.0, 10.0, 42.0, 40.0]]), "labels": torch.tensor([1])},
        no_objects(),
    ]
    with graded_stack():
        _, losses = model.detection_head(features, proposals, sizes, targets)
    expect(
        isinstance(losses, dict) and set(losses) == {"loss_classifier", "loss_box_reg"},
        f"in training detection_head returns the head's two losses, got {sorted(losses)}",
    )
    for name, value in losses.items():
        expect_tensor(value, f"{name} (unequal RoI counts, one image without objects)", shape=())


@holds_for_constants
@exercise("detector.FasterRCNN", points=1, timeout=60)
def test_proposals_and_detections_are_clipped_to_each_images_own_size():
    """In a batch of two sizes, the small image's proposals and detections stay inside *its* size.

    The batch is padded to the larger image, and the feature map (with its anchors) covers the
    padding too. Clipping to the padded batch instead of ``image_sizes[i]`` leaves boxes in the
    small image's padding: invisible on one image, or on images of one size.
    """
    torch.manual_seed(0)
    model = build(score_thresh=0.0, detections_per_img=50)
    model.eval()
    sizes = [(96, 128), (40, 56)]
    with torch.no_grad(), graded_stack():
        features = model.backbone(torch.randn(2, 3, 96, 128))
        proposals, _ = model.region_proposals(features, sizes)
        spanning = torch.tensor([[4.0, 4.0, 120.0, 90.0], [30.0, 20.0, 110.0, 80.0]])
        detections, _ = model.detection_head(features, [spanning, spanning], sizes)
    expect(
        isinstance(proposals, list) and len(proposals) == 2,
        "region_proposals returns one Tensor[P_i, 4] of proposals per image",
    )
    height, width = sizes[1]
    small = expect_tensor(proposals[1], "proposals of the 40x56 image")
    expect(len(small) > 0, "the 40x56 image gets proposals")
    for what, boxes in (("proposals", small), ("detections", detections[1]["boxes"])):
        boxes = expect_tensor(boxes, f"{what} of the 40x56 image")
        outside = (boxes[:, 0::2] > width).any(dim=1) | (boxes[:, 1::2] > height).any(dim=1)
        example = boxes[outside][0].tolist() if bool(outside.any()) else None
        expect(
            example is None,
            f"{int(outside.sum())} {what} of the second image (40x56, padded to 96x128 in the"
            f" batch) reach past its own size, e.g. {example}: clip each image's boxes to"
            " image_sizes[i], not to the padded batch",
        )


def anchor_set(sizes, ratios, image_size: tuple[int, int]) -> Tensor:
    """torchvision's anchors for a stride-16 map of ``image_size``, clipped to it."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    height, width = image_size
    generator = AnchorGenerator((tuple(sizes),), (tuple(ratios),))
    feature = torch.zeros(1, 1, height // 16, width // 16)
    anchors = generator(ImageList(torch.zeros(1, 3, height, width), [image_size]), [feature])[0]
    return torchvision.ops.clip_boxes_to_image(anchors, image_size)


@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_rpn_settings_take_effect():
    """anchor_sizes/ratios, rpn_pre/post_nms_top_n and rpn_nms_thresh shape the proposals."""
    images, _ = toy_batch()
    images = images[:, :, :64, :96]
    for sizes, ratios in (((16, 32, 64), (0.5, 1.0, 2.0)), ((24, 40), (1.0, 3.0))):
        torch.manual_seed(0)
        model = build(anchor_sizes=sizes, anchor_ratios=ratios, rpn_post_nms_top_n=1000)
        zero_rpn_deltas(model)
        model.eval()
        with torch.no_grad(), graded_stack():
            features = model.backbone(images)
            proposals, _ = model.region_proposals(features, [(64, 96)] * 2)
        oracle = anchor_set(sizes, ratios, (64, 96))
        for boxes in proposals:
            expect(len(boxes) > 0, "(check set-up) the RPN should propose something")
            distance = torch.cdist(boxes.double(), oracle.double()).min(dim=1).values
            expect(
                bool((distance < 1e-3).all()),
                f"with zero deltas every proposal is an anchor clipped to the image; with"
                f" anchor_sizes={sizes} and anchor_ratios={ratios} some are not: are the"
                " constructor's anchor settings used?",
            )
    torch.manual_seed(0)
    model = build(rpn_post_nms_top_n=1000, rpn_nms_thresh=1.0)
    runs = {}
    for name, options in {
        "loose": {"rpn_post_nms_top_n": 1000, "rpn_nms_thresh": 1.0},
        "nms 0.3": {"rpn_post_nms_top_n": 1000, "rpn_nms_thresh": 0.3},
        "post 5": {"rpn_post_nms_top_n": 5, "rpn_nms_thresh": 1.0},
        "pre 7": {"rpn_post_nms_top_n": 1000, "rpn_nms_thresh": 1.0, "rpn_pre_nms_top_n": 7},
    }.items():
        other = same_weights(model, **options)
        other.eval()
        with torch.no_grad(), graded_stack():
            features = other.backbone(images)
            runs[name] = other.region_proposals(features, [(64, 96)] * 2)[0]
    for number in range(2):
        loose, tight = runs["loose"][number], runs["nms 0.3"][number]
        expect(
            len(runs["post 5"][number]) <= 5,
            f"rpn_post_nms_top_n=5 but image {number} has {len(runs['post 5'][number])} proposals",
        )
        expect(
            len(runs["pre 7"][number]) <= 7,
            f"rpn_pre_nms_top_n=7 but image {number} has {len(runs['pre 7'][number])} proposals",
        )
        overlap = torchvision.ops.box_iou(tight, tight).fill_diagonal_(0)
        expect(
            len(tight) < len(loose) and bool((overlap <= 0.3 + 1e-6).all()),
            f"rpn_nms_thresh=0.3 should leave fewer proposals than 1.0 ({len(tight)} vs"
            f" {len(loose)}) with no pair above IoU 0.3 (max {float(overlap.max()):.2f})",
        )


@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_sampling_settings_take_effect():
    """rpn_/roi_ batch sizes, positive fractions and IoU thresholds change the losses as documented."""
    images, targets = toy_batch()
    torch.manual_seed(0)
    base_options = {"rpn_batch_size": 64, "roi_batch_size": 32}
    model = build(**base_options)
    base = seeded_losses(model, images, targets)
    for key in ("loss_rpn_box_reg", "loss_box_reg"):
        expect(base[key] > 0, f"(check set-up) {key} should be positive with objects: {base}")
    no_positives = seeded_losses(
        same_weights(model, **base_options, rpn_positive_fraction=0.0, roi_positive_fraction=0.0),
        images,
        targets,
    )
    expect(
        no_positives["loss_rpn_box_reg"] == 0.0,
        "rpn_positive_fraction=0.0 samples no positive anchor, so loss_rpn_box_reg should be 0,"
        f" got {no_positives['loss_rpn_box_reg']:.4g}",
    )
    expect(
        no_positives["loss_box_reg"] == 0.0,
        "roi_positive_fraction=0.0 samples no positive RoI, so loss_box_reg should be 0,"
        f" got {no_positives['loss_box_reg']:.4g}",
    )
    changes = {
        "rpn_batch_size": ({"rpn_batch_size": 8}, "loss_objectness"),
        "rpn_fg_iou": ({"rpn_fg_iou": 0.5}, "loss_rpn_box_reg"),
        "rpn_bg_iou": ({"rpn_bg_iou": 0.01}, "loss_objectness"),
        "roi_batch_size": ({"roi_batch_size": 6}, "loss_classifier"),
        "roi_fg_iou": ({"roi_fg_iou": 0.9}, "loss_box_reg"),
        "roi_bg_iou": ({"roi_bg_iou": 0.1}, "loss_classifier"),
    }
    for setting, (options, key) in changes.items():
        changed = seeded_losses(same_weights(model, **{**base_options, **options}), images, targets)
        expect(
            abs(changed[key] - base[key]) > 1e-6,
            f"{setting}: {options} leaves {key} at {base[key]:.6f}, the same as with the defaults"
            " of this check: is the constructor's setting passed on?",
        )


@exercise("detector.FasterRCNN", points=2, timeout=120)
def test_detection_settings_and_pool_take_effect():
    """score_thresh, nms_thresh, detections_per_img, pool and image_mean/std act on the detections."""
    images, _ = toy_batch()
    torch.manual_seed(0)
    model = build(score_thresh=0.0, nms_thresh=1.0, detections_per_img=1000)
    loose = detections(model, images)
    for options in (
        {"score_thresh": 0.26, "nms_thresh": 1.0, "detections_per_img": 1000},
        {"score_thresh": 0.0, "nms_thresh": 0.2, "detections_per_img": 1000},
        {"score_thresh": 0.0, "nms_thresh": 1.0, "detections_per_img": 3},
    ):
        outputs = detections(same_weights(model, **options), images)
        for number, (output, everything) in enumerate(zip(outputs, loose, strict=True)):
            scores, boxes, labels = output["scores"], output["boxes"], output["labels"]
            expect(
                len(scores) <= options["detections_per_img"]
                and bool((scores >= options["score_thresh"]).all()),
                f"with {options}, image {number} has {len(scores)} detections, scores"
                f" {scores.min().item() if len(scores) else 'none'} and up",
            )
            same_class = labels[:, None] == labels[None, :]
            overlap = torchvision.ops.box_iou(boxes, boxes).fill_diagonal_(0) * same_class
            expect(
                bool((overlap <= options["nms_thresh"] + 1e-6).all()),
                f"with nms_thresh={options['nms_thresh']} two detections of one class overlap"
                f" with IoU {float(overlap.max()):.2f} in image {number}",
            )
            expect(
                len(scores) < len(everything["scores"]),
                f"{options} should keep fewer detections than score_thresh=0, nms_thresh=1"
                f" ({len(scores)} vs {len(everything['scores'])}): is the setting passed on?",
            )
    align = detections(
        same_weights(model, pool="roi_align", score_thresh=0.0, nms_thresh=1.0), images
    )
    expect(
        not torch.allclose(align[0]["scores"][:5], loose[0]["scores"][:5]),
        "pool='roi_align' gives the same scores as 'roi_pool': is self.pool used?",
    )
    mean, std = (0.3, 0.5, 0.2), (0.2, 0.3, 0.4)
    custom = same_weights(
        model,
        image_mean=mean,
        image_std=std,
        score_thresh=0.0,
        nms_thresh=1.0,
        detections_per_img=1000,
    )
    # (moved - mean) / std equals (images - ImageNet mean) / ImageNet std, the default's input
    imagenet_mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    imagenet_std = torch.tensor(IMAGENET_STD)[:, None, None]
    moved = (images - imagenet_mean) / imagenet_std * torch.tensor(std)[:, None, None]
    moved = moved + torch.tensor(mean)[:, None, None]
    ours, theirs = detections(custom, moved), loose
    for number in range(2):
        expect(
            ours[number]["scores"].shape == theirs[number]["scores"].shape
            and torch.allclose(ours[number]["scores"], theirs[number]["scores"], atol=1e-4),
            "image_mean/image_std: the detector should normalise with the constructor's"
            " statistics ((image - mean) / std)",
        )


class _HeadAdapter(nn.Module):
    """Hands torchvision's RPN the student's RPN head (torchvision calls it on a list of maps)."""

    def __init__(self, rpn_head: nn.Module) -> None:
        super().__init__()
        self.rpn_head = rpn_head

    def forward(self, maps: list[Tensor]):
        objectness, deltas = self.rpn_head(maps[0])
        return [objectness], [deltas]


class _RoiPoolAdapter(nn.Module):
    def __init__(self, align: bool) -> None:
        super().__init__()
        self.align = align

    def forward(self, features, proposals, image_shapes):
        if self.align:
            return torchvision.ops.roi_align(features["0"], proposals, 7, 1 / 16, 2, True)
        return torchvision.ops.roi_pool(features["0"], proposals, 7, 1 / 16)


def torchvision_twins(model: nn.Module, sizes, ratios, align: bool = False):
    """torchvision's RPN and RoIHeads around the student's RPN head and Fast R-CNN head, every
    anchor and RoI sampled (so no random draw decides), the settings of ``build``."""
    from torchvision.models.detection.roi_heads import RoIHeads
    from torchvision.models.detection.rpn import RegionProposalNetwork

    rpn = RegionProposalNetwork(
        torchvision.models.detection.anchor_utils.AnchorGenerator(
            (tuple(sizes),), (tuple(ratios),)
        ),
        _HeadAdapter(model.rpn_head),
        0.7,
        0.3,
        10**6,
        1.0,
        {"training": 6000, "testing": 6000},
        {"training": 100, "testing": 100},
        0.7,
    )
    heads = RoIHeads(
        _RoiPoolAdapter(align), nn.Identity(), model.head, 0.5, 0.5, 10**6, 1.0,
        (10.0, 10.0, 5.0, 5.0), 0.0, 0.5, 100,
    )  # fmt: skip
    return rpn, heads


def _compare_with_torchvision_twins(
    model, rpn, heads, features, image_list, image_sizes, targets, pool, training
):
    """(test_rpn_and_head_equal_torchvision_around_the_same_layers) One mode of one pool:
    region_proposals and detection_head against torchvision's RPN and RoIHeads."""
    model.train(training)
    rpn.train(training)
    heads.train(training)
    with torch.no_grad(), graded_stack():
        proposals, rpn_losses = model.region_proposals(
            features, image_sizes, targets if training else None
        )
        expected_proposals, expected_rpn = rpn(
            image_list, {"0": features}, targets if training else None
        )
        if not training:
            for number, (ours, theirs) in enumerate(
                zip(proposals, expected_proposals, strict=True)
            ):
                expect_close(
                    ours,
                    theirs,
                    f"proposals of image {number} (torchvision's RPN on the same head)",
                    atol=1e-4,
                )
        for key, value in expected_rpn.items():
            expect_close(
                rpn_losses[key],
                float(value),
                f"{key} with every anchor sampled (torchvision's RPN; three images, one without objects)",
                atol=1e-5,
                rtol=1e-4,
            )
        detections, head_losses = model.detection_head(
            features, expected_proposals, image_sizes, targets if training else None
        )
        expected_detections, expected_head = heads(
            {"0": features}, expected_proposals, image_sizes, targets if training else None
        )
    for key, value in expected_head.items():
        expect_close(
            head_losses[key],
            float(value),
            f"{key} with every RoI sampled ({pool}; torchvision's RoIHeads)",
            atol=1e-5,
            rtol=1e-4,
        )
    if not training:
        for number, (ours, theirs) in enumerate(zip(detections, expected_detections, strict=True)):
            expect_close(
                ours["scores"],
                theirs["scores"],
                f"detection scores of image {number} ({pool}; torchvision's RoIHeads)",
                atol=1e-5,
            )
            expect_close(
                ours["boxes"],
                theirs["boxes"],
                f"detection boxes of image {number}",
                atol=1e-3,
            )


@exercise("detector.FasterRCNN", points=3, timeout=120)
def test_rpn_and_head_equal_torchvision_around_the_same_layers():
    """region_proposals and detection_head equal torchvision's RPN and RoIHeads on the same layers."""
    from torchvision.models.detection.image_list import ImageList

    sizes, ratios = (16, 32, 64), (0.5, 1.0, 2.0)
    images, targets = toy_batch()
    images = torch.cat([images, images[:1].flip(-1)])  # three images: offsets of 0, N and 2N
    flipped = targets[0]["boxes"][:, [2, 1, 0, 3]] * torch.tensor([-1.0, 1.0, -1.0, 1.0])
    flipped = flipped + torch.tensor([112.0, 0.0, 112.0, 0.0])
    targets = [
        targets[0],
        no_objects(),  # one image without objects
        {"boxes": flipped, "labels": targets[0]["labels"]},
    ]
    image_sizes = [(80, 112)] * 3
    for pool in ("roi_pool", "roi_align"):
        torch.manual_seed(0)
        model = build(
            pool=pool,
            rpn_batch_size=10**6,
            rpn_positive_fraction=1.0,
            roi_batch_size=10**6,
            roi_positive_fraction=1.0,
            score_thresh=0.0,
        )
        with torch.no_grad():  # logits and deltas of order 1, so that every term of a loss counts
            model.rpn_head.cls_logits.weight.mul_(50.0)
            model.rpn_head.bbox_pred.weight.mul_(10.0)
            for layer in model.head.modules():
                if isinstance(layer, nn.Linear):
                    layer.weight.mul_(3.0)
        rpn, heads = torchvision_twins(model, sizes, ratios, align=pool == "roi_align")
        with torch.no_grad():
            features = model.backbone((images - 0.45) / 0.25)
        image_list = ImageList(images, image_sizes)
        for training in (True, False):
            _compare_with_torchvision_twins(
                model, rpn, heads, features, image_list, image_sizes, targets, pool, training
            )
