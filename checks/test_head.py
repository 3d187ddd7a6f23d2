"""Checks for lesson 8, ``head``: sampling RoIs, the Fast R-CNN head, its loss and post-processing.

Oracles: torchvision's ``fastrcnn_loss``, ``RoIHeads.postprocess_detections``, ``TwoMLPHead`` +
``FastRCNNPredictor``, ``BoxCoder``, ``Matcher`` and ``box_iou``; sampling properties (quotas,
IoU of every sampled RoI); small cases worked out by hand.

The head calls lesson 6 (``assign_anchors``, ``sample_labels``, ``encode_boxes``,
``decode_boxes``, ``nms``). Here those are replaced by references built on torchvision, so an
unfinished lesson 6 never costs points in lesson 8.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss

from checks import harness
from checks.harness import (
    exercise,
    expect,
    expect_close,
    expect_tensor,
    not_implemented_guard,
    student,
    use_references,
)
from checks.scoring import holds_for_constants
from checks.strategies import boxes

HEAD_WEIGHTS = (10.0, 10.0, 5.0, 5.0)

# ----------------------------------------------------------------------------- lesson 6 references


def reference_encode(gt_boxes: Tensor, anchors: Tensor, weights=(1.0, 1.0, 1.0, 1.0)) -> Tensor:
    return BoxCoder(tuple(weights)).encode_single(gt_boxes, anchors)


def reference_decode(deltas: Tensor, anchors: Tensor, weights=(1.0, 1.0, 1.0, 1.0)) -> Tensor:
    return BoxCoder(tuple(weights)).decode_single(deltas, anchors)


def reference_assign(anchors: Tensor, gt_boxes: Tensor, fg_iou: float = 0.7, bg_iou: float = 0.3):
    """Labels 1 / 0 / -1 and the matched ground truth of each box (torchvision's ``Matcher``)."""
    matches = Matcher(fg_iou, bg_iou, allow_low_quality_matches=True)(
        torchvision.ops.box_iou(gt_boxes, anchors)
    )
    labels = torch.where(
        matches >= 0, 1, torch.where(matches == Matcher.BELOW_LOW_THRESHOLD, 0, -1)
    )
    return labels, matches.clamp(min=0)


def reference_sample(
    labels: Tensor, batch_size: int = 256, positive_fraction: float = 0.5, generator=None
):
    """Random positives up to the quota, negatives for the rest (torchvision's sampler)."""
    positive = torch.nonzero(labels == 1).squeeze(1)
    negative = torch.nonzero(labels == 0).squeeze(1)
    num_positive = min(int(batch_size * positive_fraction), len(positive))
    num_negative = min(batch_size - num_positive, len(negative))
    positive = positive[torch.randperm(len(positive), generator=generator)[:num_positive]]
    negative = negative[torch.randperm(len(negative), generator=generator)[:num_negative]]
    return positive, negative


LESSON_6_REFERENCES = {
    "assign_anchors": reference_assign,
    "sample_labels": reference_sample,
    "encode_boxes": reference_encode,
    "decode_boxes": reference_decode,
    "nms": torchvision.ops.nms,
}


def lesson_6_references() -> dict:
    """The references for the lesson-6 names that the graded head module imports."""
    module = harness.SESSION.module("head")
    return {name: ref for name, ref in LESSON_6_REFERENCES.items() if hasattr(module, name)}


def head_function(name: str):
    return student(f"head.{name}", **lesson_6_references())


# ----------------------------------------------------------------------------- strategies


@st.composite
def scenes(
    draw: st.DrawFn, min_gt: int = 1, max_proposals: int = 24
) -> tuple[Tensor, Tensor, Tensor]:
    """An image's proposals (random boxes and jittered copies of the objects) and its objects.

    Returns ``(proposals [P, 4], gt_boxes [G, 4], gt_labels [G])`` on a 96 px canvas.
    """
    gt_boxes = draw(boxes(min_count=min_gt, max_count=4, canvas=96, min_side=6))
    gt_labels = torch.tensor(
        draw(st.lists(st.integers(1, 4), min_size=len(gt_boxes), max_size=len(gt_boxes)))
    )
    random_boxes = draw(boxes(min_count=0, max_count=max_proposals // 2, canvas=96))
    jittered = []
    if len(gt_boxes):
        for _ in range(draw(st.integers(0, max_proposals // 2))):
            source = gt_boxes[draw(st.integers(0, len(gt_boxes) - 1))]
            shift = torch.tensor(
                draw(st.lists(st.integers(-3, 3), min_size=4, max_size=4)), dtype=torch.float32
            )
            x1, y1, x2, y2 = (source + shift).tolist()
            jittered.append([x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)])
    proposals = torch.cat(
        [random_boxes, torch.tensor(jittered, dtype=torch.float32).reshape(-1, 4)]
    )
    order = torch.tensor(draw(st.permutations(range(len(proposals)))), dtype=torch.int64)
    return proposals[order], gt_boxes, gt_labels.to(torch.int64)


def sample(proposals, gt_boxes, gt_labels, **options):
    """Calls the student's sample_proposals and checks the types and shapes of what it returns."""
    sample_proposals = head_function("sample_proposals")
    options.setdefault("generator", torch.Generator().manual_seed(0))
    result = sample_proposals(proposals, gt_boxes, gt_labels, **options)
    expect(
        isinstance(result, tuple) and len(result) == 3, "return (rois, labels, regression_targets)"
    )
    rois, labels, targets = result
    count = len(expect_tensor(labels, "sample_proposals labels", dtype=torch.int64))
    expect_tensor(rois, "sample_proposals rois", shape=(count, 4))
    expect_tensor(targets, "sample_proposals regression_targets", shape=(count, 4))
    return rois, labels, targets


def best_matches(rois: Tensor, gt_boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Best IoU of each RoI, and a [K, G] mask of the ground truths that reach it (ties)."""
    iou = torchvision.ops.box_iou(rois, gt_boxes)  # [K, G]
    best = iou.max(dim=1).values
    return best, iou >= best[:, None] - 1e-6


# ----------------------------------------------------------------------------- sample_proposals


@exercise("head.sample_proposals", points=3)
@settings(max_examples=40)
@given(scenes(), st.sampled_from([(0.5, 0.5), (0.7, 0.3), (0.6, 0.1)]))
def test_sample_proposals_labels_follow_iou(scene, thresholds):
    """Positives overlap a ground truth by >= fg_iou and take its class;
    negatives overlap every ground truth by < bg_iou."""
    proposals, gt_boxes, gt_labels = scene
    fg_iou, bg_iou = thresholds
    rois, labels, _ = sample(
        proposals, gt_boxes, gt_labels, batch_size=32, fg_iou=fg_iou, bg_iou=bg_iou
    )
    candidates = torch.cat([proposals, gt_boxes])
    from_candidates = (rois[:, None, :] == candidates[None]).all(dim=-1).any(dim=1)  # [K]
    expect(
        bool(from_candidates.all()), "every RoI must be one of the proposals or ground-truth boxes"
    )
    best, tied = best_matches(rois, gt_boxes)
    positive = labels > 0
    expect(
        bool((labels >= 0).all()), f"labels are 0 (background) or a class, got {labels.tolist()}"
    )
    expect(
        bool((best[positive] >= fg_iou - 1e-6).all()),
        f"a RoI labelled as an object has IoU {best[positive].min().item():.3f} with its best"
        f" ground truth, below fg_iou={fg_iou}",
    )
    expect(
        bool((best[~positive] < bg_iou).all()),
        f"a RoI labelled background overlaps a ground truth by IoU >= bg_iou={bg_iou}"
        " (RoIs between the thresholds are ignored, not background)",
    )
    right_class = (tied & (gt_labels[None, :] == labels[:, None])).any(dim=1)  # [K]
    expect(
        bool(right_class[positive].all()),
        "a positive RoI's label must be the class of the ground truth it overlaps most"
        f" (labels {labels[positive].tolist()}, object classes {gt_labels.tolist()})",
    )


@exercise("head.sample_proposals", points=2)
@settings(max_examples=40)
@given(scenes(max_proposals=40), st.sampled_from([(16, 0.25), (32, 0.25), (8, 0.5), (128, 0.25)]))
def test_sample_proposals_quotas(scene, quota):
    """At most batch_size RoIs, at most positive_fraction of them positive;
    negatives fill the rest."""
    proposals, gt_boxes, gt_labels = scene
    batch_size, positive_fraction = quota
    _, labels, _ = sample(
        proposals, gt_boxes, gt_labels, batch_size=batch_size, positive_fraction=positive_fraction
    )
    candidates = torch.cat([proposals, gt_boxes])
    best = torchvision.ops.box_iou(candidates, gt_boxes).max(dim=1).values
    available_positive, available_negative = int((best >= 0.5).sum()), int((best < 0.5).sum())
    positives = min(int(batch_size * positive_fraction), available_positive)
    negatives = min(batch_size - positives, available_negative)
    got_positive, got_negative = int((labels > 0).sum()), int((labels == 0).sum())
    expect(
        (got_positive, got_negative) == (positives, negatives),
        f"with {available_positive} positive and {available_negative} negative candidates,"
        f" batch_size={batch_size} and positive_fraction={positive_fraction}, expected"
        f" {positives} positives and {negatives} negatives, got {got_positive} and {got_negative}",
    )


@exercise("head.sample_proposals", points=2)
@settings(max_examples=25)
@given(scenes(max_proposals=0))
def test_sample_proposals_adds_ground_truth(scene):
    """With no proposals at all, every ground-truth box is still sampled, as a positive."""
    _, gt_boxes, gt_labels = scene
    rois, labels, targets = sample(torch.zeros(0, 4), gt_boxes, gt_labels, batch_size=32)
    found = (rois[:, None, :] == gt_boxes[None]).all(dim=-1)  # [K, G]
    expect(
        bool(found.any(dim=0).all()),
        "append the ground-truth boxes to the proposals: with no proposals, every object must"
        f" still be among the RoIs ({len(gt_boxes)} objects, {len(rois)} RoIs)",
    )
    expect(bool((labels > 0).all()), "a ground-truth box is a positive (IoU 1 with itself)")
    expect_close(
        targets,
        torch.zeros_like(targets),
        "regression targets of a ground truth onto itself",
        atol=1e-4,
    )


@holds_for_constants
@exercise("head.sample_proposals", points=2)
@settings(max_examples=40)
@given(scenes())
def test_sample_proposals_regression_targets(scene):
    """Positives' targets are BoxCoder((10, 10, 5, 5)) deltas to the matched ground truth;
    negatives' targets are 0."""
    proposals, gt_boxes, gt_labels = scene
    rois, labels, targets = sample(proposals, gt_boxes, gt_labels, batch_size=64)
    _, tied = best_matches(rois, gt_boxes)
    coder = BoxCoder(HEAD_WEIGHTS)
    # deltas from every RoI to every ground truth: [K, G, 4]
    expected = coder.encode_single(
        gt_boxes[None].expand(len(rois), -1, -1).reshape(-1, 4),
        rois[:, None].expand(-1, len(gt_boxes), -1).reshape(-1, 4),
    ).reshape(len(rois), len(gt_boxes), 4)
    close = ((expected - targets[:, None]).abs() <= 1e-3 + 1e-3 * expected.abs()).all(
        dim=-1
    )  # [K, G]
    positive = labels > 0
    matched = (close & tied).any(dim=1)
    expect(
        bool(matched[positive].all()),
        "a positive RoI's regression target should encode its best-matching ground truth with"
        f" weights (10, 10, 5, 5) (first RoI off: {rois[positive & ~matched][:1].tolist()},"
        f" target {targets[positive & ~matched][:1].tolist()})",
    )
    expect_close(
        targets[~positive],
        torch.zeros_like(targets[~positive]),
        "regression targets of background RoIs",
    )


@holds_for_constants
@exercise("head.sample_proposals", points=1)
@settings(max_examples=20)
@given(scenes(min_gt=0))
def test_sample_proposals_without_objects(scene):
    """An image without objects gives only background RoIs, min(batch_size, P) of them."""
    proposals, _, _ = scene
    rois, labels, targets = sample(
        proposals, torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), batch_size=16
    )
    expect(
        len(rois) == min(16, len(proposals)),
        f"expected {min(16, len(proposals))} RoIs, got {len(rois)}",
    )
    expect(bool((labels == 0).all()), "without objects every RoI is background (label 0)")
    expect_close(targets, torch.zeros_like(targets), "regression targets without objects")


@exercise("head.sample_proposals", points=1)
def test_sample_proposals_uses_generator():
    """The same seeded generator gives the same sample; another seed gives another one."""
    gt_boxes = torch.tensor([[10.0, 10.0, 40.0, 40.0]])
    steps = torch.arange(60, dtype=torch.float32)
    proposals = torch.stack([50 + steps, steps, 60 + steps, steps + 10], dim=1)  # 60 negatives
    runs = [
        sample(
            proposals,
            gt_boxes,
            torch.tensor([1]),
            batch_size=8,
            generator=torch.Generator().manual_seed(seed),
        )[0]
        for seed in (3, 3, 4)
    ]
    expect(
        torch.equal(runs[0], runs[1]),
        "two runs with generators seeded alike should sample the same RoIs",
    )
    expect(
        not torch.equal(runs[0], runs[2]), "the sample should depend on the generator (pass it on)"
    )


# ----------------------------------------------------------------------------- FastRCNNHead


def build_head(in_features: int, num_classes: int, hidden: int) -> nn.Module:
    FastRCNNHead = student("head.FastRCNNHead")
    where = f"{harness.SESSION.display_path('head')}::FastRCNNHead"
    with use_references("head", **lesson_6_references()), not_implemented_guard(where):
        head = FastRCNNHead(in_features, num_classes, hidden=hidden)
    expect(isinstance(head, nn.Module), "FastRCNNHead must be an nn.Module")
    return head


def run_head(head: nn.Module, pooled: Tensor) -> tuple[Tensor, Tensor]:
    where = f"{harness.SESSION.display_path('head')}::FastRCNNHead.forward"
    with not_implemented_guard(where):
        result = head(pooled)
    expect(
        isinstance(result, tuple) and len(result) == 2,
        "forward returns (class_logits, box_regression)",
    )
    return result


def torchvision_twin(head: nn.Module, in_features: int, num_classes: int, hidden: int) -> nn.Module:
    """torchvision's TwoMLPHead + FastRCNNPredictor holding the student's weights."""
    linears = {tuple(m.weight.shape): m for m in head.modules() if isinstance(m, nn.Linear)}
    shapes = [
        (hidden, in_features),
        (hidden, hidden),
        (num_classes, hidden),
        (num_classes * 4, hidden),
    ]
    missing = [shape for shape in shapes if shape not in linears]
    expect(
        not missing and len(linears) == 4,
        "FastRCNNHead should hold four nn.Linear layers with weights of shapes"
        f" {shapes} (out, in); found {sorted(linears)}",
    )
    mlp, predictor = TwoMLPHead(in_features, hidden), FastRCNNPredictor(hidden, num_classes)
    targets = [mlp.fc6, mlp.fc7, predictor.cls_score, predictor.bbox_pred]
    with torch.no_grad():
        for shape, target in zip(shapes, targets, strict=True):
            target.weight.copy_(linears[shape].weight)
            target.bias.copy_(linears[shape].bias)
    return nn.Sequential(mlp, predictor)


@exercise("head.FastRCNNHead", points=3)
@settings(max_examples=10)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 1000))
def test_head_matches_torchvision(rois, num_classes, seed):
    """FC-ReLU-FC-ReLU, then logits and per-class deltas, as torchvision's
    TwoMLPHead + FastRCNNPredictor."""
    channels, hidden = (
        3,
        24,
    )  # hidden differs from every 4 * num_classes: layers tell apart by shape
    in_features = channels * 7 * 7
    torch.manual_seed(seed)
    head = build_head(in_features, num_classes, hidden)
    twin = torchvision_twin(head, in_features, num_classes, hidden)
    pooled = torch.randn(rois, channels, 7, 7) * 3
    class_logits, box_regression = run_head(head, pooled)
    expect_tensor(class_logits, "class_logits", shape=(rois, num_classes))
    expect_tensor(box_regression, "box_regression", shape=(rois, num_classes * 4))
    expected_logits, expected_deltas = twin(pooled)
    expect_close(class_logits, expected_logits, "class logits (raw scores)", atol=1e-4)
    expect_close(box_regression, expected_deltas, "per-class box deltas", atol=1e-4)
    flat_logits, _ = run_head(head, pooled.flatten(1))
    expect_close(flat_logits, expected_logits, "class logits of already flattened RoIs", atol=1e-4)


@holds_for_constants
@exercise("head.FastRCNNHead", points=1)
def test_head_logits_are_raw_scores():
    """Class logits are raw scores, not probabilities: loss and post-processing apply softmax."""
    torch.manual_seed(0)
    head = build_head(2 * 7 * 7, 4, 16)
    class_logits, _ = run_head(head, torch.randn(8, 2, 7, 7) * 5)
    sums = class_logits.detach().sum(dim=1)
    looks_like_probabilities = bool(
        ((class_logits >= 0) & (class_logits <= 1)).all()
    ) and torch.allclose(sums, torch.ones_like(sums), atol=1e-4)
    expect(
        not looks_like_probabilities,
        "class_logits sum to 1 per RoI: remove the softmax from the head",
    )


@exercise("head.FastRCNNHead", points=1)
def test_head_parameters_and_gradients():
    """The head has exactly the parameters of its four layers, and each one gets a gradient."""
    torch.manual_seed(0)
    in_features, num_classes, hidden = 2 * 7 * 7, 3, 12
    head = build_head(in_features, num_classes, hidden)
    expected = (in_features + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * num_classes * 5
    count = sum(parameter.numel() for parameter in head.parameters())
    expect(count == expected, f"FastRCNNHead has {count} parameters, expected {expected}")
    class_logits, box_regression = run_head(head, torch.randn(5, 2, 7, 7))
    (class_logits.sum() + box_regression.sum()).backward()
    without = [
        name for name, p in head.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    expect(not without, f"no gradient reaches {without}: is every layer used in forward?")


# ----------------------------------------------------------------------------- fast_rcnn_loss


@st.composite
def head_outputs(
    draw: st.DrawFn, positives: bool | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Logits [K, C], deltas [K, 4C], labels [K] and targets [K, 4], on quarter steps."""
    count, num_classes = draw(st.integers(1, 12)), draw(st.integers(2, 5))

    def values(n: int, low: int = -12, high: int = 12) -> Tensor:
        return (
            torch.tensor(
                draw(st.lists(st.integers(low, high), min_size=n, max_size=n)), dtype=torch.float32
            )
            / 4
        )

    low_label = 1 if positives else 0
    high_label = 0 if positives is False else num_classes - 1
    labels = torch.tensor(
        draw(st.lists(st.integers(low_label, high_label), min_size=count, max_size=count))
    )
    return (
        values(count * num_classes).reshape(count, num_classes),
        values(count * num_classes * 4).reshape(count, num_classes * 4),
        labels.to(torch.int64),
        values(count * 4).reshape(count, 4),
    )


def loss_of(outputs: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
    fast_rcnn_loss = head_function("fast_rcnn_loss")
    result = fast_rcnn_loss(*outputs)
    expect(isinstance(result, tuple) and len(result) == 2, "return (loss_classifier, loss_box_reg)")
    expect_tensor(result[0], "loss_classifier", shape=())
    expect_tensor(result[1], "loss_box_reg", shape=())
    return result


@exercise("head.fast_rcnn_loss", points=3)
@settings(max_examples=60)
@given(head_outputs())
def test_fast_rcnn_loss_matches_torchvision(outputs):
    """Both losses equal torchvision's fastrcnn_loss (cross-entropy; smooth L1 of true class)."""
    loss_classifier, loss_box_reg = loss_of(outputs)
    class_logits, box_regression, labels, targets = outputs
    expected_classifier, expected_box = fastrcnn_loss(
        class_logits, box_regression, [labels], [targets]
    )
    expect_close(
        loss_classifier,
        float(expected_classifier),
        "loss_classifier (cross-entropy of raw logits)",
        atol=1e-5,
    )
    expect_close(
        loss_box_reg, float(expected_box), "loss_box_reg (smooth L1, beta 1/9, / K)", atol=1e-5
    )


@exercise("head.fast_rcnn_loss", points=2)
@settings(max_examples=30)
@given(head_outputs())
def test_fast_rcnn_loss_box_gradient_only_on_true_class(outputs):
    """The box loss reaches only the 4 deltas of each positive RoI's own class, never background."""
    class_logits, box_regression, labels, targets = outputs
    box_regression = box_regression.clone().requires_grad_(True)
    _, loss_box_reg = loss_of((class_logits, box_regression, labels, targets))
    expect(loss_box_reg.requires_grad, "loss_box_reg must keep the graph to box_regression")
    loss_box_reg.backward()
    gradient = box_regression.grad.reshape(len(labels), -1, 4)  # [K, C, 4]
    allowed = torch.zeros_like(gradient, dtype=torch.bool)
    positive = torch.nonzero(labels > 0).squeeze(1)
    allowed[positive, labels[positive]] = True
    stray = (gradient != 0) & ~allowed
    expect(
        not bool(stray.any()),
        f"the box loss has a gradient on the deltas of RoI {stray.nonzero()[:1, 0].tolist()} for"
        " another class or for a background RoI: use only each positive RoI's own class",
    )


@holds_for_constants
@exercise("head.fast_rcnn_loss", points=1)
@settings(max_examples=20)
@given(head_outputs(positives=False))
def test_fast_rcnn_loss_without_positives(outputs):
    """With only background RoIs the box loss is exactly 0 (not NaN), the classifier loss finite."""
    loss_classifier, loss_box_reg = loss_of(outputs)
    expect_close(loss_box_reg, 0.0, "loss_box_reg without positive RoIs")
    expect(bool(torch.isfinite(loss_classifier)), "loss_classifier should be finite")


@exercise("head.fast_rcnn_loss", points=1)
def test_fast_rcnn_loss_hand_computed():
    """Worked by hand: logits (2, 0, 0) of a background RoI give log(1 + 2/e²);
    a delta off by 1 gives (1 - 1/18) / 2."""
    class_logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    box_regression = torch.zeros(2, 12)
    box_regression[1, 8] = 1.0  # RoI 1, class 2, dx
    labels = torch.tensor([0, 2])
    targets = torch.zeros(2, 4)
    loss_classifier, loss_box_reg = loss_of((class_logits, box_regression, labels, targets))
    background = torch.log(1 + 2 * torch.exp(torch.tensor(-2.0)))
    expected = float(background + torch.log(torch.tensor(3.0))) / 2
    expect_close(loss_classifier, expected, "mean cross-entropy of the two RoIs", atol=1e-5)
    expect_close(
        loss_box_reg,
        (1 - 1 / 18) / 2,
        "smooth L1 (beta 1/9) of a 1-off delta, divided by K=2",
        atol=1e-5,
    )


# ------------------------------------------------------------------------ postprocess_detections


@st.composite
def head_predictions(draw: st.DrawFn) -> tuple[Tensor, Tensor, Tensor, tuple[int, int]]:
    """Logits, deltas and proposals of one image (proposals may stick out of it)."""
    count, num_classes = draw(st.integers(1, 20)), draw(st.integers(2, 4))
    height, width = draw(st.integers(40, 96)), draw(st.integers(40, 96))
    proposals = draw(boxes(min_count=count, max_count=count, canvas=100, min_side=2))
    logits = torch.tensor(
        draw(
            st.lists(
                st.integers(-16, 16), min_size=count * num_classes, max_size=count * num_classes
            )
        )
    )
    deltas = torch.tensor(
        draw(
            st.lists(
                st.integers(-8, 8),
                min_size=count * num_classes * 4,
                max_size=count * num_classes * 4,
            )
        )
    )
    return (
        logits.float().reshape(count, num_classes) / 4,
        deltas.float().reshape(count, num_classes * 4) / 4,
        proposals,
        (height, width),
    )


def detect(class_logits, box_regression, proposals, image_size, **options):
    postprocess = head_function("postprocess_detections")
    result = postprocess(class_logits, box_regression, proposals, image_size, **options)
    expect(isinstance(result, tuple) and len(result) == 3, "return (boxes, scores, labels)")
    found_boxes, scores, labels = result
    count = len(expect_tensor(scores, "detection scores"))
    expect_tensor(found_boxes, "detection boxes", shape=(count, 4))
    expect_tensor(labels, "detection labels", shape=(count,), dtype=torch.int64)
    return found_boxes, scores, labels


def torchvision_postprocess(class_logits, box_regression, proposals, image_size, **options):
    heads = RoIHeads(
        None, None, None, 0.5, 0.5, 512, 0.25, HEAD_WEIGHTS,
        options.get("score_thresh", 0.05),
        options.get("nms_thresh", 0.5),
        options.get("detections_per_img", 100),
    )  # fmt: skip
    found_boxes, scores, labels = heads.postprocess_detections(
        class_logits, box_regression, [proposals], [image_size]
    )
    return found_boxes[0], scores[0], labels[0]


@exercise("head.postprocess_detections", points=3)
@settings(max_examples=50)
@given(head_predictions(), st.sampled_from([(0.05, 0.5, 100), (0.2, 0.3, 5), (0.01, 0.7, 10)]))
def test_postprocess_matches_torchvision(prediction, options):
    """Detections equal torchvision's RoIHeads.postprocess_detections (boxes, scores, labels)."""
    score_thresh, nms_thresh, detections_per_img = options
    settings_ = {
        "score_thresh": score_thresh,
        "nms_thresh": nms_thresh,
        "detections_per_img": detections_per_img,
    }
    found_boxes, scores, labels = detect(*prediction, **settings_)
    expected_boxes, expected_scores, expected_labels = torchvision_postprocess(
        *prediction, **settings_
    )
    expect(
        len(scores) == len(expected_scores),
        f"expected {len(expected_scores)} detections (classes {expected_labels.tolist()}),"
        f" got {len(scores)} (classes {labels.tolist()})",
    )
    order, expected_order = (
        scores.argsort(descending=True, stable=True),
        expected_scores.argsort(descending=True, stable=True),
    )
    expect_close(
        scores[order],
        expected_scores[expected_order],
        "detection scores (softmax probabilities)",
        atol=1e-5,
    )
    expect(
        torch.equal(labels[order], expected_labels[expected_order]),
        f"labels {labels.tolist()}, expected {expected_labels.tolist()}",
    )
    expect_close(
        found_boxes[order],
        expected_boxes[expected_order],
        "detection boxes (decoded, clipped)",
        atol=1e-3,
    )


@holds_for_constants
@exercise("head.postprocess_detections", points=2)
@settings(max_examples=40)
@given(head_predictions(), st.integers(1, 6))
def test_postprocess_properties(prediction, detections_per_img):
    """No background, scores above the threshold and sorted, at most detections_per_img,
    boxes inside the image."""
    found_boxes, scores, labels = detect(
        *prediction, score_thresh=0.1, detections_per_img=detections_per_img
    )
    height, width = prediction[3]
    num_classes = prediction[0].shape[1]
    expect(
        len(scores) <= detections_per_img,
        f"{len(scores)} detections, more than detections_per_img={detections_per_img}",
    )
    expect(
        bool(((labels >= 1) & (labels < num_classes)).all()),
        f"labels must be in 1..{num_classes - 1} (no background), got {labels.tolist()}",
    )
    expect(
        bool((scores > 0.1).all()), f"scores must be above score_thresh=0.1, got {scores.tolist()}"
    )
    expect(
        bool((scores[:-1] >= scores[1:]).all()),
        f"detections must be sorted by decreasing score, got {scores.tolist()}",
    )
    inside = (found_boxes[:, 0::2] >= 0).all() & (found_boxes[:, 0::2] <= width).all()
    inside &= (found_boxes[:, 1::2] >= 0).all() & (found_boxes[:, 1::2] <= height).all()
    expect(bool(inside), f"boxes must be clipped to the {width}x{height} image")


@exercise("head.postprocess_detections", points=2)
def test_postprocess_nms_is_per_class():
    """Worked by hand: two RoIs on one spot, a confident class 1 and a class 2: both are kept."""
    proposals = torch.tensor(
        [[10.0, 10.0, 50.0, 50.0], [10.0, 10.0, 50.0, 50.0], [12.0, 10.0, 52.0, 50.0]]
    )
    class_logits = torch.tensor([[0.0, 6.0, 0.0], [0.0, 0.0, 6.0], [0.0, 5.0, 0.0]])
    box_regression = torch.zeros(3, 12)
    found_boxes, _, labels = detect(
        class_logits, box_regression, proposals, (64, 64), score_thresh=0.05
    )
    expect(
        sorted(labels.tolist()) == [1, 2],
        "a class-1 box and a class-2 box on the same spot are two detections (NMS is per class),"
        " and the second class-1 box (IoU 0.9 with the first) is suppressed; got classes"
        f" {labels.tolist()}",
    )
    expect_close(
        found_boxes[labels == 1], proposals[:1], "the kept class-1 box (the higher-scored one)"
    )


@exercise("head.postprocess_detections", points=1)
def test_postprocess_keeps_the_best():
    """Worked by hand: of five confident boxes apart, detections_per_img=2 keeps the two best."""
    offsets = torch.arange(5, dtype=torch.float32)[:, None] * 20
    proposals = torch.tensor([[0.0, 0.0, 10.0, 10.0]]) + offsets
    class_logits = torch.stack([torch.zeros(5), torch.tensor([3.0, 5.0, 4.0, 6.0, 2.0])], dim=1)
    found_boxes, scores, _ = detect(
        class_logits, torch.zeros(5, 8), proposals, (100, 100), detections_per_img=2
    )
    expect(len(scores) == 2, f"expected 2 detections, got {len(scores)}")
    expect_close(found_boxes, proposals[[3, 1]], "the two highest-scored boxes, best first")
    expect_close(
        scores, F.softmax(class_logits[[3, 1]], dim=1)[:, 1], "their class-1 probabilities"
    )


# ----------------------------------------------------------------------------- empty inputs


@holds_for_constants
@exercise("head.postprocess_detections", points=1)
def test_postprocess_no_proposals_and_nothing_above_threshold():
    """Zero proposals, or none scoring above score_thresh, give three empty tensors (not an error)."""
    for count in (0, 3):
        class_logits = torch.zeros(count, 4)
        class_logits[:, 0] = 10.0  # every proposal is background: nothing above 0.05
        found_boxes, scores, labels = detect(
            class_logits,
            torch.zeros(count, 16),
            torch.tensor([[0.0, 0, 10, 10]] * count).reshape(-1, 4),
            (50, 60),
        )
        expect(
            len(found_boxes) == 0 and len(scores) == 0 and len(labels) == 0,
            f"{count} proposals that are all background should give no detection, got {len(scores)}",
        )


# ----------------------------------------------------------------------------- contract (issue 11)
# Boundary values given exactly: IoU at fg_iou / bg_iou in sampling, a score at score_thresh.


@exercise("head.sample_proposals", points=1)
def test_sample_proposals_thresholds_exactly():
    """IoU exactly fg_iou is an object; exactly bg_iou is ignored (background is IoU < bg_iou)."""
    gt_boxes = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    proposals = torch.tensor(
        [
            [0.0, 0.0, 8.0, 4.0],  # IoU 0.5 == fg_iou: positive
            [0.0, 0.0, 8.0, 2.0],  # IoU 0.25 == bg_iou: ignored
            [0.0, 0.0, 8.0, 1.0],  # IoU 0.125: background
        ]
    )
    rois, labels, _ = sample(
        proposals,
        gt_boxes,
        torch.tensor([2]),
        batch_size=64,
        positive_fraction=1.0,
        fg_iou=0.5,
        bg_iou=0.25,
    )
    heights = sorted(float(h) for h in rois[:, 3])
    expect(
        heights == [1.0, 4.0, 8.0],
        "with fg_iou=0.5, bg_iou=0.25 the RoIs should be the ground truth and the proposals at"
        f" IoU 0.5 (positive) and 0.125 (background), not the one at IoU 0.25; got {rois.tolist()}",
    )
    by_height = {float(h): int(label) for h, label in zip(rois[:, 3], labels, strict=True)}
    expect(
        by_height == {8.0: 2, 4.0: 2, 1.0: 0},
        f"labels: IoU 1 and IoU 0.5 (== fg_iou) are class 2, IoU 0.125 is 0; got {by_height}",
    )


@holds_for_constants
@exercise("head.postprocess_detections", points=1)
def test_postprocess_score_thresh_is_strict():
    """Scores must be above score_thresh: a probability exactly at the threshold is dropped."""
    proposals = torch.tensor([[10.0, 10.0, 30.0, 30.0]])
    for classes, probability in ((2, 0.5), (4, 0.25)):
        logits = torch.zeros(1, classes)  # softmax: every class gets 1 / classes exactly
        deltas = torch.zeros(1, 4 * classes)
        for thresh, expected in ((probability, 0), (probability - 1e-3, classes - 1)):
            _, scores, _ = detect(
                logits, deltas, proposals, (64, 64), score_thresh=thresh, nms_thresh=0.5
            )
            tv_scores = torchvision_postprocess(
                logits, deltas, proposals, (64, 64), score_thresh=thresh, nms_thresh=0.5
            )[1]
            expect(
                len(scores) == expected == len(tv_scores),
                f"{classes} classes with equal logits (probability {probability}) and"
                f" score_thresh={thresh:g}: expected {expected} detections (scores > score_thresh),"
                f" got {len(scores)}",
            )


@exercise("head.sample_proposals", points=1)
def test_sample_proposals_default_quota():
    """The defaults are batch_size=128 and positive_fraction=0.25: 32 positives, 96 negatives."""
    sample_proposals = head_function("sample_proposals")
    gt_boxes = torch.tensor([[0.0, 0.0, 40.0, 40.0]])
    steps = torch.arange(60, dtype=torch.float32)[:, None]
    positives = torch.tensor([[0.0, 0.0, 40.0, 38.0]]) + torch.cat(
        [steps * 0.01, steps * 0.0, steps * 0.01, steps * 0.0], dim=1
    )  # IoU ~0.95
    negatives = (
        torch.tensor([[100.0, 100.0, 120.0, 120.0]]).repeat(200, 1) + steps.repeat(4, 1)[:200]
    )
    rois, labels, _ = sample_proposals(
        torch.cat([positives, negatives]),
        gt_boxes,
        torch.tensor([1]),
        generator=torch.Generator().manual_seed(0),
    )
    expect(
        len(rois) == 128 and int((labels > 0).sum()) == 32,
        f"with the defaults expected 128 RoIs, 32 of them positive; got {len(rois)} RoIs,"
        f" {int((labels > 0).sum())} positive",
    )


@holds_for_constants
@exercise("head.FastRCNNHead", points=1)
def test_head_default_hidden_is_4096():
    """FastRCNNHead(in_features, num_classes) has the paper's 4096-wide hidden layers."""
    FastRCNNHead = student("head.FastRCNNHead")
    with harness.not_implemented_guard("head.FastRCNNHead"):
        model = FastRCNNHead(8, 3)
    widths = sorted(
        {layer.out_features for layer in model.modules() if isinstance(layer, nn.Linear)}
    )
    expect(4096 in widths, f"the default hidden width is 4096; the layers have {widths}")


@exercise("head.fast_rcnn_loss", points=1)
def test_fast_rcnn_loss_of_a_single_roi():
    """With one RoI (K = 1) both losses still equal torchvision's fastrcnn_loss."""
    fast_rcnn_loss = student("head.fast_rcnn_loss")
    class_logits = torch.tensor([[0.2, 1.5, -0.3]])
    box_regression = torch.linspace(-1, 1, 12)[None]
    labels, targets = torch.tensor([1]), torch.tensor([[0.5, -0.2, 0.1, 0.3]])
    classifier, box = fast_rcnn_loss(class_logits, box_regression, labels, targets)
    expected_classifier, expected_box = fastrcnn_loss(
        class_logits, box_regression, [labels], [targets]
    )
    expect_close(classifier, float(expected_classifier), "loss_classifier of one RoI")
    expect_close(box, float(expected_box), "loss_box_reg of one RoI (divided by K = 1)")


@exercise("head.postprocess_detections", points=1)
def test_postprocess_defaults_tiny_boxes_and_tiny_images():
    """At most 100 detections by default; a 0.01 px side is kept; per-class NMS on 1 px boxes."""
    count = 130
    steps = torch.arange(count, dtype=torch.float32)[:, None]
    proposals = torch.cat(
        [steps * 3, torch.zeros(count, 1), steps * 3 + 2, torch.full((count, 1), 2.0)], dim=1
    )
    logits = torch.zeros(count, 2)
    logits[:, 1] = 5.0
    _, scores, _ = detect(logits, torch.zeros(count, 8), proposals, (4, 400))
    expect(len(scores) == 100, f"detections_per_img defaults to 100; got {len(scores)} detections")
    tiny = torch.tensor([[0.0, 0.0, 0.01, 5.0], [10.0, 0.0, 15.0, 0.01]])  # a side of 0.01
    for one_box in (tiny[:1], tiny[1:]):
        found, _, _ = detect(torch.tensor([[0.0, 5.0]]), torch.zeros(1, 8), one_box, (64, 64))
        expected = torchvision_postprocess(
            torch.tensor([[0.0, 5.0]]), torch.zeros(1, 8), one_box, (64, 64)
        )[0]
        expect(
            len(found) == len(expected) == 1,
            f"a box with a side of exactly 0.01 px is kept (>= 0.01); got {len(found)} for {one_box.tolist()}",
        )
    pixel = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    _, _, labels = detect(
        torch.tensor([[0.0, 6.0, 0.0], [0.0, 0.0, 6.0]]), torch.zeros(2, 12), pixel, (1, 1)
    )
    expect(
        sorted(labels.tolist()) == [1, 2],
        "two classes on the same 1x1 px box are two detections (NMS is per class, even for boxes"
        f" whose largest coordinate is 1); got classes {labels.tolist()}",
    )


# ----------------------------------------------------------------------------- contract (issue 27)
# Order of the returned RoIs, dtype on the early returns, and the order of the filters.


@holds_for_constants
@exercise("head.sample_proposals", points=1)
@settings(max_examples=40)
@given(scenes(min_gt=1), st.sampled_from([(16, 0.25), (8, 0.5), (64, 0.25)]))
def test_sample_proposals_positives_come_first(scene, quota):
    """The sampled RoIs are the positives first, then the negatives (as the docstring says).

    The head's loss does not care, but code that slices ``rois[:num_positives]`` (as lesson 9
    and torchvision's ``RoIHeads`` keep positives and negatives apart) does.
    """
    proposals, gt_boxes, gt_labels = scene
    batch_size, fraction = quota
    _, labels, _ = sample(
        proposals, gt_boxes, gt_labels, batch_size=batch_size, positive_fraction=fraction
    )
    positive = (labels > 0).tolist()
    expect(
        positive == sorted(positive, reverse=True),
        f"labels of the sampled RoIs in the order returned: {labels.tolist()}; every positive"
        " (label > 0) must come before every negative (label 0)",
    )


@holds_for_constants
@exercise("head.sample_proposals", points=1)
def test_sample_proposals_keep_the_dtype_without_objects():
    """float64 proposals stay float64 on every path, also for an image with no object (G = 0)."""
    proposals = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 30.0, 20.0]], dtype=torch.float64)
    for gt_boxes, gt_labels, case in (
        (torch.zeros(0, 4, dtype=torch.float64), torch.zeros(0, dtype=torch.int64), "G = 0"),
        (torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64), torch.tensor([2]), "G = 1"),
    ):
        rois, _, targets = sample(proposals, gt_boxes, gt_labels, batch_size=8)
        expect_tensor(rois, f"rois of float64 proposals ({case})", dtype=torch.float64)
        expect_tensor(targets, f"regression_targets ({case})", dtype=torch.float64)


@holds_for_constants
@exercise("head.postprocess_detections", points=1)
def test_postprocess_keeps_the_dtype_when_nothing_is_detected():
    """float64 inputs give float64 boxes and scores: with detections, with none above the
    threshold, and with no proposal at all (K = 0); labels are int64 on every path."""
    for count, background, case in ((0, 0.0, "K = 0"), (3, 10.0, "nothing above score_thresh"),
                                     (3, -10.0, "three detections")):  # fmt: skip
        class_logits = torch.zeros(count, 3, dtype=torch.float64)
        class_logits[:, 0] = background
        proposals = torch.tensor([[0.0, 0, 10, 10], [20, 20, 40, 30], [5, 30, 15, 45]])[:count]
        found_boxes, scores, _ = detect(
            class_logits,
            torch.zeros(count, 12, dtype=torch.float64),
            proposals.double(),
            (50, 60),
        )
        expect_tensor(found_boxes, f"boxes of float64 inputs ({case})", dtype=torch.float64)
        expect_tensor(scores, f"scores of float64 inputs ({case})", dtype=torch.float64)


@exercise("head.postprocess_detections", points=1)
def test_postprocess_drops_small_boxes_before_nms():
    """A box too small to keep must not suppress anything: the size filter runs before NMS.

    Two boxes of one class, IoU 0.82: the better one is 0.009 px wide (below 0.01, dropped),
    the other 0.011 px. torchvision removes small boxes first, so the second one is detected;
    running NMS first lets the dropped box suppress it, and nothing is left.
    """
    proposals = torch.tensor([[10.0, 10.0, 10.009, 30.0], [10.0, 10.0, 10.011, 30.0]])
    class_logits = torch.tensor([[0.0, 4.0], [0.0, 3.0]])
    found_boxes, scores, _ = detect(class_logits, torch.zeros(2, 8), proposals, (64, 64))
    expected_boxes, expected_scores, _ = torchvision_postprocess(
        class_logits, torch.zeros(2, 8), proposals, (64, 64)
    )
    expect(
        len(scores) == len(expected_scores) == 1,
        f"expected one detection (the 0.011 px box; the 0.009 px one is dropped before NMS), got"
        f" {len(scores)}: {found_boxes.tolist()}",
    )
    expect_close(found_boxes, expected_boxes, "the detection left after the size filter")
