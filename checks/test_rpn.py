"""Checks for lesson 6, ``rpn``: anchors, box coding, labelling, sampling, the head, NMS, proposals.

Oracles: torchvision's ``AnchorGenerator``, ``BoxCoder``, ``Matcher``,
``BalancedPositiveNegativeSampler`` (counts), ``RPNHead``, ``ops.nms`` and the pieces of its
``RegionProposalNetwork`` (``filter_proposals`` steps and ``compute_loss``); properties
(``decode(encode(b)) == b``, anchor centres, areas and ratios, sampling quotas); cases by hand.

Exercises that call others of this lesson get torchvision references for them, and
``box_iou`` (lesson 3) is replaced by ``torchvision.ops.box_iou``, so each check grades one thing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchvision
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torchvision.models.detection._utils import BalancedPositiveNegativeSampler, BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.models.detection.rpn import RPNHead as TorchvisionRPNHead

from checks import harness
from checks.harness import (
    exercise,
    expect,
    expect_close,
    expect_tensor,
    not_implemented_guard,
    raises_value_error,
    student,
)
from checks.scoring import holds_for_constants
from checks.strategies import boxes

IOU = torchvision.ops.box_iou

# ----------------------------------------------------------------------------- references


def torchvision_anchors(feature_size, stride, sizes, ratios) -> Tensor:
    """``AnchorGenerator`` on one feature map of an image ``feature_size * stride`` pixels big."""
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else stride
    rows, cols = feature_size
    generator = AnchorGenerator((tuple(sizes),), (tuple(ratios),))
    images = ImageList(
        torch.zeros(1, 3, rows * stride_y, cols * stride_x), [(rows * stride_y, cols * stride_x)]
    )
    return generator(images, [torch.zeros(1, 1, rows, cols)])[0]


def reference_encode(gt_boxes: Tensor, anchors: Tensor, weights=(1.0, 1.0, 1.0, 1.0)) -> Tensor:
    return BoxCoder(tuple(weights)).encode_single(gt_boxes, anchors)


def reference_decode(deltas: Tensor, anchors: Tensor, weights=(1.0, 1.0, 1.0, 1.0)) -> Tensor:
    return BoxCoder(tuple(weights)).decode_single(deltas, anchors)


def matcher_labels(
    anchors: Tensor, gt_boxes: Tensor, fg_iou: float, bg_iou: float
) -> tuple[Tensor, Tensor]:
    """Labels 1 / 0 / -1 and matches of torchvision's ``Matcher`` with low-quality matches."""
    matches = Matcher(fg_iou, bg_iou, allow_low_quality_matches=True)(IOU(gt_boxes, anchors))
    labels = torch.where(
        matches >= 0, 1.0, torch.where(matches == Matcher.BELOW_LOW_THRESHOLD, 0.0, -1.0)
    )
    return labels, matches


def reference_propose(
    anchors, objectness, deltas, image_size, pre_nms_top_n, post_nms_top_n, nms_thresh, min_size
):
    """torchvision's ``filter_proposals`` steps for one image and one feature map."""
    top_scores, top_idx = objectness.topk(min(pre_nms_top_n, objectness.numel()))
    proposals = reference_decode(deltas[top_idx], anchors[top_idx])
    scores = torch.sigmoid(top_scores)
    proposals = torchvision.ops.clip_boxes_to_image(proposals, image_size)
    keep = torchvision.ops.remove_small_boxes(proposals, min_size)
    proposals, scores = proposals[keep], scores[keep]
    keep = torchvision.ops.nms(proposals, scores, nms_thresh)[:post_nms_top_n]
    return proposals[keep], scores[keep]


def torchvision_rpn_loss(objectness, deltas, labels, regression_targets) -> tuple[Tensor, Tensor]:
    """``RegionProposalNetwork.compute_loss``, its sampler taking every labelled anchor."""
    labelled = int((labels >= 0).sum())
    rpn = RegionProposalNetwork(
        AnchorGenerator(), TorchvisionRPNHead(1, 1), 0.7, 0.3, max(labelled, 1), 1.0, {}, {}, 0.7
    )
    return rpn.compute_loss(objectness, deltas, [labels], [regression_targets])


# ----------------------------------------------------------------------------- strategies


@st.composite
def anchor_settings(draw: st.DrawFn) -> tuple:
    """A small feature map, a stride (int or (y, x)), 1-3 sizes and 1-3 ratios."""
    feature_size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = draw(
        st.one_of(
            st.sampled_from([4, 8, 16, 32]),
            st.tuples(st.sampled_from([8, 16]), st.sampled_from([4, 16])),
        )
    )
    sizes = tuple(
        draw(st.lists(st.sampled_from([16, 24, 32, 64, 128]), min_size=1, max_size=3, unique=True))
    )
    ratios = tuple(
        draw(
            st.lists(
                st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]), min_size=1, max_size=3, unique=True
            )
        )
    )
    return feature_size, stride, sizes, ratios


@st.composite
def box_pairs(draw: st.DrawFn) -> tuple[Tensor, Tensor]:
    """Ground-truth boxes and anchors of positive size: ``([N, 4], [N, 4])``."""
    gt = draw(boxes(min_count=1, max_count=6, canvas=128))
    anchors = draw(boxes(min_count=len(gt), max_count=len(gt), canvas=128))
    return gt, anchors


@st.composite
def scene(draw: st.DrawFn) -> tuple[Tensor, Tensor]:
    """Anchors of a 4x5 map (stride 16, sizes 16/32/64, 3 ratios), 0-4 boxes in its 64x80 image."""
    anchors = torchvision_anchors((4, 5), 16, (16, 32, 64), (0.5, 1.0, 2.0))
    gt = draw(boxes(min_count=0, max_count=4, canvas=64, min_side=4))
    return anchors, gt


@st.composite
def distinct_scores(draw: st.DrawFn, count: int) -> Tensor:
    """``count`` scores in (0, 1) that are all different (no ties to break)."""
    order = draw(st.permutations(list(range(count))))
    return (torch.tensor(order, dtype=torch.float32) + 0.5) / count


@st.composite
def nms_inputs(draw: st.DrawFn) -> tuple[Tensor, Tensor, float]:
    """Boxes, distinct scores and a threshold; no IoU within 1e-4 of the threshold."""
    candidates = draw(boxes(min_count=1, max_count=24, canvas=48, min_side=2))
    scores = draw(distinct_scores(len(candidates)))
    threshold = draw(st.sampled_from([0.1, 0.3, 0.5, 0.7]))
    assume(not ((IOU(candidates, candidates) - threshold).abs() < 1e-4).any())
    return candidates, scores, threshold


# ----------------------------------------------------------------------------- generate_anchors


@exercise("rpn.generate_anchors", points=3)
@settings(max_examples=30)
@given(anchor_settings())
def test_anchors_match_torchvision(setting):
    """Anchors have the values and order of torchvision's AnchorGenerator on one feature map."""
    generate_anchors = student("rpn.generate_anchors")
    feature_size, stride, sizes, ratios = setting
    expected = torchvision_anchors(feature_size, stride, sizes, ratios)
    result = expect_tensor(
        generate_anchors(feature_size, stride, sizes, ratios),
        "generate_anchors(...)",
        shape=tuple(expected.shape),
    )
    expect_close(
        result, expected, "anchor corners, in order (position by position, ratio-major)", atol=1e-4
    )


@exercise("rpn.generate_anchors", points=2)
@settings(max_examples=15)
@given(anchor_settings())
def test_anchors_are_centred_on_the_grid_with_their_areas_and_ratios(setting):
    """Each anchor is centred on (x * stride, y * stride), with area ≈ size² and h / w ≈ ratio."""
    generate_anchors = student("rpn.generate_anchors")
    (rows, cols), stride, sizes, ratios = setting
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else stride
    count = len(sizes) * len(ratios)
    result = expect_tensor(
        generate_anchors((rows, cols), stride, sizes, ratios),
        "generate_anchors(...)",
        shape=(rows * cols * count, 4),
    )
    grid = result.reshape(rows, cols, count, 4)
    centre_x = (grid[..., 0] + grid[..., 2]) / 2  # [H, W, A]
    centre_y = (grid[..., 1] + grid[..., 3]) / 2
    expect_close(
        centre_x,
        (torch.arange(cols) * stride_x).float()[None, :, None].expand_as(centre_x),
        "x of anchor centres (x * stride_x)",
    )
    expect_close(
        centre_y,
        (torch.arange(rows) * stride_y).float()[:, None, None].expand_as(centre_y),
        "y of anchor centres (y * stride_y)",
    )
    widths, heights = grid[0, 0, :, 2] - grid[0, 0, :, 0], grid[0, 0, :, 3] - grid[0, 0, :, 1]
    expected_ratio = torch.tensor([r for r in ratios for _ in sizes])  # ratio-major
    expected_area = torch.tensor([float(s * s) for _ in ratios for s in sizes])
    expect_close(
        heights / widths,
        expected_ratio,
        "aspect ratio h / w of each anchor (2 means tall)",
        rtol=0.1,
    )
    expect_close(heights * widths, expected_area, "area of each anchor (size²)", rtol=0.15)


# ----------------------------------------------------------------------------- encode / decode


@exercise("rpn.encode_boxes", points=3)
@settings(max_examples=30)
@given(
    box_pairs(),
    st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 4.0)]),
)
def test_encode_matches_box_coder(pair, weights):
    """encode_boxes equals torchvision's BoxCoder.encode_single, for RPN and head weights."""
    encode_boxes = student("rpn.encode_boxes")
    gt, anchors = pair
    expected = reference_encode(gt, anchors, weights)
    result = expect_tensor(
        encode_boxes(gt, anchors, weights),
        "encode_boxes(gt_boxes, anchors, weights)",
        shape=tuple(expected.shape),
    )
    expect_close(
        result, expected, f"deltas (dx, dy, dw, dh) with weights {weights}", atol=1e-4, rtol=1e-4
    )


@exercise("rpn.decode_boxes", points=3)
@settings(max_examples=30)
@given(
    box_pairs(),
    st.integers(1, 3),
    st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]),
    st.integers(0, 2**16),
)
def test_decode_matches_box_coder(pair, classes, weights, seed):
    """decode_boxes equals BoxCoder.decode_single, with [N, 4C] deltas and the clamp of dw, dh."""
    decode_boxes = student("rpn.decode_boxes")
    _, anchors = pair
    generator = torch.Generator().manual_seed(seed)
    deltas = torch.randn(len(anchors), 4 * classes, generator=generator) * 2
    deltas[0, 2::4] = (
        8.0 * weights[2]
    )  # exp(8) overflows the box: the clamp at log(1000/16) applies
    expected = reference_decode(deltas, anchors, weights)
    result = expect_tensor(
        decode_boxes(deltas, anchors, weights),
        "decode_boxes(deltas, anchors, weights)",
        shape=tuple(expected.shape),
    )
    expect_close(
        result,
        expected,
        f"decoded boxes (weights {weights}, dw/dh clamped at log(1000/16))",
        atol=1e-3,
        rtol=1e-4,
    )


@exercise("rpn.decode_boxes", points=2)
@settings(max_examples=20)
@given(box_pairs(), st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]))
def test_decode_inverts_encode(pair, weights):
    """decode_boxes(encode(b, anchors), anchors) gives back b (encode from torchvision)."""
    decode_boxes = student("rpn.decode_boxes")
    gt, anchors = pair
    deltas = reference_encode(gt, anchors, weights)
    assume(bool((deltas[:, 2:].abs() < math.log(1000 / 16)).all()))  # within the clamp
    expect_close(
        decode_boxes(deltas, anchors, weights), gt, "decode(encode(boxes)) == boxes", atol=1e-3
    )


# ----------------------------------------------------------------------------- assign_anchors


@exercise("rpn.assign_anchors", points=3)
@settings(max_examples=30)
@given(scene(), st.sampled_from([(0.7, 0.3), (0.5, 0.5), (0.6, 0.2)]))
def test_assign_matches_torchvision_matcher(case, thresholds):
    """Labels equal torchvision's Matcher with low-quality matches (1 / 0 / -1 ignored)."""
    assign_anchors = student("rpn.assign_anchors", box_iou=IOU)
    anchors, gt = case
    fg_iou, bg_iou = thresholds
    labels, matched_idx = assign_anchors(anchors, gt, fg_iou, bg_iou)
    expect_tensor(labels, "labels", shape=(len(anchors),))
    expect_tensor(matched_idx, "matched_idx", shape=(len(anchors),))
    if len(gt) == 0:
        expect_close(
            labels.float(),
            torch.zeros(len(anchors)),
            "labels without ground truth (all background)",
            atol=0,
        )
        return
    expected, matches = matcher_labels(anchors, gt, fg_iou, bg_iou)
    expect_close(
        labels.float(), expected, f"label of each anchor (fg_iou={fg_iou}, bg_iou={bg_iou})", atol=0
    )
    positive = expected == 1
    iou = IOU(gt, anchors)  # [G, N]
    ours = iou[matched_idx[positive].long(), positive.nonzero().squeeze(1)]
    theirs = iou[matches[positive], positive.nonzero().squeeze(1)]
    expect_close(
        ours, theirs, "IoU of each positive anchor with its matched ground truth (the best one)"
    )


@exercise("rpn.assign_anchors", points=2)
def test_assign_ties_and_thresholds_by_hand():
    """Two anchors tied as a box's best match are both positive; IoU 0.3 exactly is ignored."""
    assign_anchors = student("rpn.assign_anchors", box_iou=IOU)
    anchors = torch.tensor(
        [[0.0, 0, 10, 10], [10, 0, 20, 10], [0, 20, 10, 30], [100, 100, 110, 110]]
    )
    gt = torch.tensor([[5.0, 0, 15, 10]])  # IoU 1/3 with each of the first two anchors
    labels, _ = assign_anchors(anchors, gt, 0.7, 0.3)
    expect_close(
        labels.float(),
        torch.tensor([1.0, 1.0, 0.0, 0.0]),
        "labels when a box's best anchors tie (all are positive)",
        atol=0,
    )
    gt = torch.tensor([[0.0, 0, 10, 30]])
    anchors = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 9], [0, 0, 10, 20], [0, 20, 10, 40]])
    labels, _ = assign_anchors(anchors, gt, 0.9, 0.3)  # IoUs: 1/3, 0.3 exactly, 2/3 (best), 0.25
    expected = torch.tensor([-1.0, -1.0, 1.0, 0.0])
    expect_close(
        labels.float(), expected, "labels: IoU 0.3 = bg_iou is ignored, not negative", atol=0
    )


# ----------------------------------------------------------------------------- sample_labels


@st.composite
def label_vectors(draw: st.DrawFn) -> Tensor:
    values = draw(st.lists(st.sampled_from([1.0, 0.0, -1.0]), min_size=1, max_size=300))
    return torch.tensor(values)


@exercise("rpn.sample_labels", points=3)
@settings(max_examples=40)
@given(
    label_vectors(), st.integers(1, 64), st.sampled_from([0.25, 0.5, 1.0]), st.integers(0, 2**16)
)
def test_sampler_quotas(labels, batch_size, fraction, seed):
    """Sampled positives and negatives are distinct, of their label, as many as torchvision's."""
    sample_labels = student("rpn.sample_labels")
    pos_idx, neg_idx = sample_labels(
        labels, batch_size, fraction, torch.Generator().manual_seed(seed)
    )
    for name, idx, value in (("pos_idx", pos_idx, 1), ("neg_idx", neg_idx, 0)):
        expect_tensor(idx, name, dtype=torch.int64)
        expect(
            idx.dim() == 1,
            f"{name} should be a 1-D tensor of indices, got shape {tuple(idx.shape)}",
        )
        expect(idx.unique().numel() == idx.numel(), f"{name} has repeated indices")
        expect(
            bool((labels[idx] == value).all()),
            f"{name} has anchors whose label is not {value} (ignored anchors are never sampled)",
        )
    torch.manual_seed(seed)
    positive_mask, negative_mask = BalancedPositiveNegativeSampler(batch_size, fraction)([labels])
    expected_pos, expected_neg = int(positive_mask[0].sum()), int(negative_mask[0].sum())
    expect(
        pos_idx.numel() == expected_pos,
        f"{pos_idx.numel()} positives sampled, expected {expected_pos}"
        " (at most int(batch_size * positive_fraction))",
    )
    expect(
        neg_idx.numel() == expected_neg,
        f"{neg_idx.numel()} negatives sampled, expected {expected_neg} (the rest of the batch)",
    )


@exercise("rpn.sample_labels", points=2)
def test_sampler_is_random_and_reproducible():
    """The same generator seed gives the same draw; different seeds draw different anchors."""
    sample_labels = student("rpn.sample_labels")
    labels = torch.tensor([1.0, 0.0, -1.0] * 100)
    first = sample_labels(labels, 32, 0.5, torch.Generator().manual_seed(1))
    again = sample_labels(labels, 32, 0.5, torch.Generator().manual_seed(1))
    expect(
        all(torch.equal(a, b) for a, b in zip(first, again, strict=True)),
        "two draws with the same seed differ",
    )
    draws = {
        tuple(
            sample_labels(labels, 32, 0.5, torch.Generator().manual_seed(seed))[0]
            .sort()
            .values.tolist()
        )
        for seed in range(4)
    }
    expect(
        len(draws) > 1, "four seeds drew the same positives: pick them at random (torch.randperm)"
    )
    low = sample_labels(labels, 32, 0.5, torch.Generator().manual_seed(2))[1]
    expect(
        bool((low >= 100).any()),
        "negatives come only from the start: pick them at random among all negatives",
    )


# ----------------------------------------------------------------------------- RPNHead


@exercise("rpn.RPNHead", points=3)
@settings(max_examples=6)
@given(
    st.integers(1, 2),
    st.sampled_from([(5, 3), (8, 9), (6, 2)]),
    st.integers(2, 6),
    st.integers(2, 6),
)
def test_head_computes_like_torchvision(batch, channels_anchors, h, w):
    """With torchvision's weights, RPNHead gives its objectness [B,A,H,W] and deltas [B,4A,H,W]."""
    channels, anchors = channels_anchors
    head_class = student("rpn.RPNHead")
    with not_implemented_guard(f"{harness.SESSION.display_path('rpn')}::RPNHead"):
        head = head_class(channels, anchors)
        torch.manual_seed(0)
        reference = TorchvisionRPNHead(channels, anchors)
        for parameter in reference.parameters():
            nn.init.normal_(parameter, std=0.5)
        by_shape = {tuple(p.shape): p for p in reference.parameters()}
        ours = list(head.parameters())
        expect(
            len(ours) == 6,
            f"RPNHead should have 6 parameters (3 convs with biases), has {len(ours)}",
        )
        for parameter in ours:
            expect(
                tuple(parameter.shape) in by_shape,
                f"RPNHead has a parameter of shape {tuple(parameter.shape)}; expected a 3x3 conv"
                " C->C and 1x1 convs C->A and C->4A",
            )
            with torch.no_grad():
                parameter.copy_(by_shape[tuple(parameter.shape)])
        features = torch.randn(batch, channels, h, w)
        objectness, deltas = head(features)
    (expected_objectness,), (expected_deltas,) = reference([features])
    expect_tensor(objectness, "objectness", shape=(batch, anchors, h, w))
    expect_tensor(deltas, "deltas", shape=(batch, 4 * anchors, h, w))
    expect_close(
        objectness,
        expected_objectness,
        "objectness logits (ReLU after the 3x3 conv, no sigmoid)",
        atol=1e-4,
    )
    expect_close(deltas, expected_deltas, "deltas", atol=1e-4)


@holds_for_constants
@exercise("rpn.RPNHead", points=1)
def test_head_initialisation():
    """Conv weights start N(0, 0.01) with zero biases, as torchvision's RPNHead."""
    head_class = student("rpn.RPNHead")
    with not_implemented_guard(f"{harness.SESSION.display_path('rpn')}::RPNHead"):
        torch.manual_seed(0)
        head = head_class(64, 9)
        weights = [m.weight for m in head.modules() if isinstance(m, nn.Conv2d)]
        biases = [m.bias for m in head.modules() if isinstance(m, nn.Conv2d)]
    expect(len(weights) == 3, f"RPNHead should have 3 convs, has {len(weights)}")
    for weight in weights:
        expect(
            0.008 < float(weight.detach().std()) < 0.012,
            f"a conv weight has std {float(weight.detach().std()):.4f}, expected 0.01",
        )
    expect(
        all(b is not None and float(b.detach().abs().max()) == 0 for b in biases),
        "conv biases should start at 0",
    )


# ----------------------------------------------------------------------------- nms


@exercise("rpn.nms", points=3)
@settings(max_examples=60)
@given(nms_inputs())
def test_nms_matches_torchvision(case):
    """nms keeps the same boxes as torchvision.ops.nms, in decreasing score order."""
    nms = student("rpn.nms", box_iou=IOU)
    candidates, scores, threshold = case
    expected = torchvision.ops.nms(candidates, scores, threshold)
    result = expect_tensor(
        nms(candidates, scores, threshold), "nms(boxes, scores, iou_threshold)", dtype=torch.int64
    )
    expect(
        result.dim() == 1,
        f"nms should return a 1-D tensor of indices, got shape {tuple(result.shape)}",
    )
    expect(
        result.tolist() == expected.tolist(),
        f"kept indices should be {expected.tolist()} (original indices, best score first),"
        f" got {result.tolist()}",
    )


@exercise("rpn.nms", points=2)
def test_nms_by_hand():
    """A chain A ⊃ B ⊃ C keeps A and C; IoU equal to the threshold does not suppress."""
    nms = student("rpn.nms", box_iou=IOU)
    chain = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]])
    scores = torch.tensor([0.5, 0.9, 0.8, 0.7])  # box 1 suppresses 0 and 2; 3 overlaps only 2
    result = nms(chain, scores, 0.5).tolist()
    expect(
        result == [1, 3],
        f"nms on a chain should keep [1, 3] (a suppressed box suppresses nothing), got {result}",
    )
    half = torch.tensor([[0.0, 0, 4, 1], [0, 0, 2, 1]])  # IoU exactly 0.5
    result = nms(half, torch.tensor([0.9, 0.8]), 0.5).tolist()
    expect(
        result == [0, 1],
        f"boxes with IoU exactly 0.5 both survive threshold 0.5 (suppress IoU > it), got {result}",
    )
    empty = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    expect(
        isinstance(empty, Tensor) and empty.numel() == 0,
        "nms of no boxes should return an empty tensor",
    )


# ----------------------------------------------------------------------------- propose


@st.composite
def proposal_inputs(draw: st.DrawFn) -> tuple:
    """Anchors of a 3x4 map, distinct logits, deltas (some shrinking boxes to slivers), limits."""
    anchors = torchvision_anchors((3, 4), 16, (16, 32, 48), (0.5, 1.0, 2.0))  # [108, 4]
    count = len(anchors)
    logits = (draw(distinct_scores(count)) - 0.5) * 12  # distinct, in (-6, 6)
    seed = draw(st.integers(0, 2**16))
    deltas = torch.randn(count, 4, generator=torch.Generator().manual_seed(seed)) * 0.4
    slivers = torch.tensor(draw(st.lists(st.integers(0, count - 1), max_size=20)), dtype=torch.long)
    deltas[slivers, 2] = -6.0  # width * e^-6: below min_size
    pre_nms_top_n = draw(st.sampled_from([10, 40, 200]))
    post_nms_top_n = draw(st.sampled_from([3, 10, 50]))
    nms_thresh = draw(st.sampled_from([0.3, 0.5, 0.7]))
    min_size = draw(st.sampled_from([1e-3, 1.0, 4.0]))
    image_size = (draw(st.integers(30, 60)), draw(st.integers(40, 70)))
    return anchors, logits, deltas, image_size, pre_nms_top_n, post_nms_top_n, nms_thresh, min_size


@exercise("rpn.propose", points=4)
@settings(max_examples=30)
@given(proposal_inputs())
def test_propose_matches_torchvision_filter_proposals(case):
    """Proposals equal torchvision's: top-k, decode, sigmoid, clip, drop small, NMS, top-k."""
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    anchors, logits, deltas, image_size, pre_n, post_n, thresh, min_size = case
    expected_boxes, expected_scores = reference_propose(
        anchors, logits, deltas, image_size, pre_n, post_n, thresh, min_size
    )
    result = propose(anchors, logits, deltas, image_size, pre_n, post_n, thresh, min_size)
    expect(isinstance(result, tuple) and len(result) == 2, "propose should return (boxes, scores)")
    boxes_out, scores_out = result
    expect_tensor(boxes_out, "proposal boxes", shape=tuple(expected_boxes.shape))
    expect_tensor(scores_out, "proposal scores", shape=tuple(expected_scores.shape))
    expect_close(scores_out, expected_scores, "proposal scores (sigmoid of the logits, best first)")
    expect_close(
        boxes_out, expected_boxes, "proposal boxes (decoded, clipped to the image)", atol=1e-4
    )


@holds_for_constants
@exercise("rpn.propose", points=1)
def test_propose_passes_no_gradient():
    """Proposals are detached: no gradient flows back through them (as torchvision)."""
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    anchors = torchvision_anchors((2, 2), 16, (16,), (1.0,))
    logits = torch.tensor([0.1, 0.4, 0.3, 0.2], requires_grad=True)
    deltas = torch.zeros(4, 4, requires_grad=True)
    boxes_out, scores_out = propose(anchors, logits, deltas, (32, 32), 10, 10, 0.7, 1e-3)
    expect(
        not boxes_out.requires_grad and not scores_out.requires_grad,
        "propose returned tensors that require grad: detach the inputs",
    )


# ----------------------------------------------------------------------------- rpn_loss


@st.composite
def loss_inputs(draw: st.DrawFn) -> tuple:
    count = draw(st.integers(1, 60))
    label_list = draw(st.lists(st.sampled_from([1.0, 0.0, -1.0]), min_size=count, max_size=count))
    assume(any(label >= 0 for label in label_list))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    objectness = torch.randn(count, generator=generator) * 3
    deltas = torch.randn(count, 4, generator=generator) * 0.3  # both sides of beta = 1/9
    targets = torch.randn(count, 4, generator=generator) * 0.3
    return objectness, deltas, torch.tensor(label_list), targets


@exercise("rpn.rpn_loss", points=3)
@settings(max_examples=30)
@given(loss_inputs())
def test_rpn_loss_matches_torchvision(case):
    """With every labelled anchor sampled, the losses equal RegionProposalNetwork.compute_loss."""
    rpn_loss = student("rpn.rpn_loss")
    objectness, deltas, labels, targets = case
    pos_idx, neg_idx = torch.where(labels == 1)[0], torch.where(labels == 0)[0]
    result = rpn_loss(objectness, deltas, labels, targets, pos_idx, neg_idx)
    expect(
        isinstance(result, tuple) and len(result) == 2,
        "rpn_loss should return (loss_objectness, loss_rpn_box_reg)",
    )
    expected_objectness, expected_box = torchvision_rpn_loss(objectness, deltas, labels, targets)
    expect_close(
        result[0],
        float(expected_objectness),
        "loss_objectness (BCE with logits over sampled anchors)",
        atol=1e-5,
    )
    expect_close(
        result[1],
        float(expected_box),
        "loss_rpn_box_reg (smooth L1, beta 1/9, summed over positives / number sampled)",
        atol=1e-5,
    )


@exercise("rpn.rpn_loss", points=2)
def test_rpn_loss_uses_only_the_sample_by_hand():
    """Only sampled anchors count; the box loss is divided by the number sampled, not positives."""
    rpn_loss = student("rpn.rpn_loss")
    objectness = torch.tensor([2.0, -1.0, 0.5, 3.0, -2.0], requires_grad=True)
    deltas = torch.tensor(
        [[0.5, 0, 0, 0], [0.05, 0, 0, 0], [1.0, 1, 1, 1], [2.0, 2, 2, 2], [0.0, 0, 0, 0]],
        requires_grad=True,
    )
    labels = torch.tensor([1.0, 1.0, 0.0, -1.0, 0.0])
    targets = torch.zeros(5, 4)
    pos_idx, neg_idx = torch.tensor([0, 1]), torch.tensor([4])  # anchor 1 is positive, 2 unsampled
    loss_objectness, loss_box = rpn_loss(objectness, deltas, labels, targets, pos_idx, neg_idx)
    bce = (
        F.softplus(-torch.tensor(2.0))
        + F.softplus(torch.tensor(1.0))
        + F.softplus(torch.tensor(-2.0))
    ) / 3
    smooth_l1 = (0.5 - 0.5 / 9) + 0.5 * 0.05**2 * 9  # |0.5| >= 1/9: linear; |0.05| < 1/9: quadratic
    expect_close(loss_objectness, float(bce), "loss_objectness of 3 sampled anchors (by hand)")
    expect_close(
        loss_box,
        smooth_l1 / 3,
        "loss_rpn_box_reg: smooth L1 (beta 1/9) of the 2 positives / 3 sampled",
    )
    (loss_objectness + loss_box).backward()
    expect(
        objectness.grad is not None and float(objectness.grad[2].abs()) == 0,
        "an unsampled anchor should get no gradient",
    )


# ----------------------------------------------------------------------------- empty and bad inputs


@holds_for_constants
@exercise("rpn.decode_boxes", points=1)
def test_decode_zero_anchors_gives_empty_boxes():
    """No anchors (or no proposals) decode to an empty [0, 4C] tensor, for C = 1 and C = 3."""
    decode_boxes = student("rpn.decode_boxes")
    for classes in (1, 3):
        result = decode_boxes(
            torch.zeros(0, 4 * classes), torch.zeros(0, 4), (10.0, 10.0, 5.0, 5.0)
        )
        expect_tensor(
            result, f"decode_boxes of 0 anchors, {classes} class(es)", shape=(0, 4 * classes)
        )


@exercise("rpn.nms", points=1)
def test_nms_empty_and_invalid_inputs():
    """No boxes keep nothing (int64 [0]); boxes not [N, 4] or scores not [N] raise ValueError."""
    nms = student("rpn.nms", box_iou=IOU)
    expect_tensor(
        nms(torch.zeros(0, 4), torch.zeros(0), 0.5),
        "nms of no boxes",
        shape=(0,),
        dtype=torch.int64,
    )
    boxes4 = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11]])
    raises_value_error(lambda: nms(torch.zeros(2, 5), torch.zeros(2), 0.5), "nms of [2, 5] boxes")
    raises_value_error(lambda: nms(boxes4, torch.zeros(3), 0.5), "nms with 3 scores for 2 boxes")
    raises_value_error(lambda: nms(boxes4, torch.zeros(2, 1), 0.5), "nms with [2, 1] scores")


@exercise("rpn.nms", points=1)
def test_nms_half_precision_boxes_like_float32():
    """float16 and bfloat16 boxes of a few hundred pixels keep what torchvision keeps in float32.

    Their areas overflow float16 (a 300 px box has area 90,000 > 65,504): IoUs must be computed
    in float32, as torchvision's autocast does.
    """
    nms = student("rpn.nms", box_iou=IOU)
    generator = torch.Generator().manual_seed(3)
    corners = torch.rand(40, 2, generator=generator) * 400
    sizes = 150 + torch.rand(40, 2, generator=generator) * 250
    boxes = torch.cat([corners, corners + sizes], dim=1)
    scores = torch.rand(40, generator=generator)
    for dtype in (torch.float16, torch.bfloat16):
        low_boxes, low_scores = boxes.to(dtype), scores.to(dtype)
        expected = torchvision.ops.nms(low_boxes.float(), low_scores.float(), 0.5)
        result = nms(low_boxes, low_scores, 0.5)
        expect(
            result.tolist() == expected.tolist(),
            f"nms of {dtype} boxes should keep {expected.tolist()}, got {result.tolist()}",
        )


# ----------------------------------------------------------------------------- contract (issue 11)
# Boundary values given exactly (binary fractions, so no rounding decides), empty inputs, and the
# one-sided clamp of decode_boxes.


@exercise("rpn.assign_anchors", points=1)
def test_assign_thresholds_are_inclusive_and_exclusive_exactly():
    """IoU exactly fg_iou is positive (>=); IoU exactly bg_iou is ignored (negative is < bg_iou)."""
    assign_anchors = student("rpn.assign_anchors", box_iou=IOU)
    gt = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    anchors = torch.tensor(
        [
            [0.0, 0.0, 8.0, 8.0],  # IoU 1: the best anchor of the object
            [0.0, 0.0, 8.0, 4.0],  # IoU 0.5 == fg_iou
            [0.0, 0.0, 8.0, 2.0],  # IoU 0.25 == bg_iou
            [0.0, 0.0, 8.0, 1.0],  # IoU 0.125 < bg_iou
            [0.0, 0.0, 8.0, 3.0],  # IoU 0.375, between
        ]
    )
    labels, matched = assign_anchors(anchors, gt, 0.5, 0.25)
    expected, _ = matcher_labels(anchors, gt, 0.5, 0.25)
    expect_tensor(labels, "labels", shape=(5,))
    expect(
        labels.tolist() == expected.tolist() == [1.0, 1.0, -1.0, 0.0, -1.0],
        f"labels at IoU 1, 0.5, 0.25, 0.125, 0.375 with fg_iou=0.5, bg_iou=0.25 should be"
        f" [1, 1, -1, 0, -1] (IoU >= fg_iou is positive, IoU < bg_iou negative), got"
        f" {labels.tolist()}",
    )
    expect(matched.tolist() == [0] * 5, f"every anchor matches object 0, got {matched.tolist()}")


@exercise("rpn.assign_anchors", points=1)
def test_assign_without_ground_truth():
    """With no ground truth every anchor is negative (0) and matched_idx is -1, int64."""
    assign_anchors = student("rpn.assign_anchors", box_iou=IOU)
    anchors = torchvision_anchors((2, 3), 16, (16, 32), (1.0,))
    labels, matched = assign_anchors(anchors, torch.zeros(0, 4), 0.7, 0.3)
    expect_tensor(labels, "labels without ground truth", shape=(len(anchors),))
    expect_tensor(matched, "matched_idx without ground truth", shape=(len(anchors),))
    expect(labels.dtype == anchors.dtype, f"labels are float like the anchors, got {labels.dtype}")
    expect(matched.dtype == torch.int64, f"matched_idx is int64, got {matched.dtype}")
    expect(bool((labels == 0).all()), f"without objects every anchor is negative: {labels}")
    expect(bool((matched == -1).all()), f"without objects matched_idx is -1: {matched}")


@exercise("rpn.decode_boxes", points=1)
def test_decode_clamps_only_large_size_deltas():
    """dw, dh are clamped from above at log(1000/16) only: a very negative dw still shrinks the box."""
    decode_boxes = student("rpn.decode_boxes")
    anchors = torch.tensor([[0.0, 0.0, 32.0, 32.0], [10.0, 10.0, 26.0, 42.0]])
    deltas = torch.tensor([[0.0, 0.0, -20.0, 30.0], [0.5, -0.5, 8.0, -9.0]])
    result = expect_tensor(
        decode_boxes(deltas, anchors, (1.0, 1.0, 1.0, 1.0)), "decoded", shape=(2, 4)
    )
    expect_close(
        result,
        reference_decode(deltas, anchors),
        "boxes from extreme size deltas (clamp max at log(1000/16), no lower clamp)",
        atol=1e-3,
        rtol=1e-5,
    )
    for dtype in (torch.float64, torch.float16):
        typed = decode_boxes(deltas[:1].to(dtype) / 10, anchors[:1].to(dtype), (1.0, 1.0, 1.0, 1.0))
        expect(
            typed.dtype == dtype,
            f"decode_boxes returns the dtype of deltas: {dtype} -> {typed.dtype}",
        )


@holds_for_constants
@exercise("rpn.sample_labels", points=1)
def test_sampler_with_nothing_to_sample():
    """All ignored, or batch_size 0: empty int64 index tensors, no error."""
    sample_labels = student("rpn.sample_labels")
    for labels, batch_size in ((torch.full((6,), -1.0), 4), (torch.tensor([1.0, 0.0, 0.0]), 0)):
        pos, neg = sample_labels(labels, batch_size, 0.5, torch.Generator().manual_seed(0))
        for name, indices in (("pos_idx", pos), ("neg_idx", neg)):
            expect_tensor(indices, name, shape=(0,))
            expect(indices.dtype == torch.int64, f"{name} is int64, got {indices.dtype}")


@exercise("rpn.propose", points=1)
def test_propose_min_size_is_inclusive():
    """A proposal whose side equals min_size is kept; one a little smaller is dropped."""
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    anchors = torch.tensor(
        [
            [0.0, 0.0, 4.0, 8.0],
            [20.0, 0.0, 23.5, 8.0],
            [40.0, 0.0, 48.0, 4.0],
            [0.0, 20.0, 8.0, 23.75],
        ]
    )
    logits = torch.tensor([3.0, 2.0, 1.0, 0.0])
    boxes_out, _ = propose(anchors, logits, torch.zeros(4, 4), (64, 64), 10, 10, 0.7, 4.0)
    expected, _ = reference_propose(anchors, logits, torch.zeros(4, 4), (64, 64), 10, 10, 0.7, 4.0)
    expect_tensor(boxes_out, "proposals with min_size=4", shape=(2, 4))
    expect_close(
        boxes_out, expected, "boxes with a side of exactly min_size are kept, smaller dropped"
    )


@exercise("rpn.rpn_loss", points=1)
def test_rpn_loss_with_nothing_sampled_is_zero():
    """No sampled anchor: both losses are 0 (not NaN) and still back-propagate."""
    rpn_loss = student("rpn.rpn_loss")
    objectness = torch.randn(6, requires_grad=True)
    deltas = torch.randn(6, 4, requires_grad=True)
    empty = torch.zeros(0, dtype=torch.int64)
    losses = rpn_loss(objectness, deltas, torch.full((6,), -1.0), torch.zeros(6, 4), empty, empty)
    expect(isinstance(losses, tuple) and len(losses) == 2, "rpn_loss returns two losses")
    for name, value in zip(("loss_objectness", "loss_rpn_box_reg"), losses, strict=True):
        expect_tensor(value, f"{name} with nothing sampled", shape=())
        expect(float(value) == 0.0, f"{name} with nothing sampled should be 0, got {float(value)}")
    sum(losses).backward()
    for name, tensor in (("objectness", objectness), ("deltas", deltas)):
        gradient = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
        expect_tensor(gradient, f"gradient of {name} with nothing sampled")


@exercise("rpn.nms", points=1)
def test_nms_many_boxes_matches_torchvision():
    """Hundreds of boxes (more than any small example) give torchvision's keep list."""
    nms = student("rpn.nms", box_iou=IOU)
    generator = torch.Generator().manual_seed(11)
    for count, threshold in ((300, 0.5), (700, 0.3)):
        corners = torch.rand(count, 2, generator=generator) * 200
        sides = 5 + torch.rand(count, 2, generator=generator) * 40
        candidates = torch.cat([corners, corners + sides], dim=1)
        scores = torch.rand(count, generator=generator)
        keep = expect_tensor(nms(candidates, scores, threshold), f"nms of {count} boxes")
        expected = torchvision.ops.nms(candidates, scores, threshold)
        expect(
            keep.tolist() == expected.tolist(),
            f"nms of {count} boxes at IoU {threshold}: kept {len(keep)} boxes, torchvision keeps"
            f" {len(expected)}; first difference at position"
            f" {next((i for i, (a, b) in enumerate(zip(keep.tolist(), expected.tolist(), strict=False)) if a != b), min(len(keep), len(expected)))}",
        )


# ----------------------------------------------------------------------------- defaults, clipping, shapes (issue 11)
# Survivors of the first mutation run: the documented defaults, clipping from both sides, the
# input-shape ValueErrors and the "provided that IoU is > 0" rule. Every boundary is given
# exactly (binary fractions), so no rounding decides.


@exercise("rpn.assign_anchors", points=1)
def test_assign_default_thresholds():
    """Without fg_iou / bg_iou the thresholds are 0.7 and 0.3 (the signature's defaults)."""
    assign_anchors = student("rpn.assign_anchors", box_iou=IOU)
    gt = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    anchors = torch.tensor(
        [
            [0.0, 0.0, 8.0, 8.0],  # IoU 1: the best anchor of the object
            [0.0, 0.0, 8.0, 6.0],  # IoU 0.75 >= 0.7: positive
            [0.0, 0.0, 8.0, 5.0],  # IoU 0.625: ignored
            [0.0, 0.0, 8.0, 2.5],  # IoU 0.3125 >= 0.3: ignored
            [0.0, 0.0, 8.0, 2.0],  # IoU 0.25 < 0.3: negative
        ]
    )
    labels, _ = assign_anchors(anchors, gt)
    expected, _ = matcher_labels(anchors, gt, 0.7, 0.3)
    expect_tensor(labels, "labels", shape=(5,))
    expect(
        labels.tolist() == expected.tolist() == [1.0, 1.0, -1.0, -1.0, 0.0],
        "with the default thresholds (fg_iou=0.7, bg_iou=0.3) anchors of IoU 1, 0.75, 0.625,"
        f" 0.3125, 0.25 are labelled [1, 1, -1, -1, 0], got {labels.tolist()}",
    )


@exercise("rpn.assign_anchors", points=1)
def test_assign_no_low_quality_match_at_zero_iou():
    """An object that overlaps no anchor adds no positive ("provided that IoU is > 0").

    All its IoUs are 0, so every anchor ties as its best: without the rule all of them would
    turn positive. (torchvision's Matcher has no such rule; the course's docstring does.)
    """
    assign_anchors = student("rpn.assign_anchors", box_iou=IOU)
    anchors = torch.tensor([[0.0, 0, 8, 8], [8, 0, 16, 8], [0, 8, 8, 16], [8, 8, 16, 16]])
    gt = torch.tensor([[0.0, 0.0, 8.0, 8.0], [100.0, 100.0, 110.0, 110.0]])  # object 1: IoU 0
    labels, matched = assign_anchors(anchors, gt, 0.7, 0.3)
    expect_tensor(labels, "labels", shape=(4,))
    expect(
        labels.tolist() == [1.0, 0.0, 0.0, 0.0],
        "an object whose best IoU is 0 must not make anchors positive: expected labels"
        f" [1, 0, 0, 0], got {labels.tolist()}",
    )
    expect(int(matched[0]) == 0, f"anchor 0 matches object 0, got {matched.tolist()}")
    labels, _ = assign_anchors(anchors, gt[1:], 0.7, 0.3)  # the far object alone
    expect(
        labels.tolist() == [0.0] * 4,
        f"one object overlapping no anchor: every anchor negative, got {labels.tolist()}",
    )


@exercise("rpn.sample_labels", points=1)
def test_sampler_default_batch_and_fraction():
    """Without batch_size / positive_fraction / generator: 128 positives and 128 negatives."""
    sample_labels = student("rpn.sample_labels")
    labels = torch.tensor([1.0, 0.0, -1.0] * 300)  # 300 of each: more than the batch needs
    pos_idx, neg_idx = sample_labels(labels)
    expect_tensor(pos_idx, "pos_idx", dtype=torch.int64)
    expect_tensor(neg_idx, "neg_idx", dtype=torch.int64)
    expect(
        (pos_idx.numel(), neg_idx.numel()) == (128, 128),
        "defaults batch_size=256, positive_fraction=0.5: expected 128 positives and 128"
        f" negatives, got {pos_idx.numel()} and {neg_idx.numel()}",
    )
    expect(
        bool((labels[pos_idx] == 1).all()) and bool((labels[neg_idx] == 0).all()),
        "sampled indices of the wrong label",
    )
    few = torch.tensor([1.0] * 200 + [0.0] * 40)  # 128 positives at most; negatives run out
    pos_idx, neg_idx = sample_labels(few, 256)
    expect(
        (pos_idx.numel(), neg_idx.numel()) == (128, 40),
        "default positive_fraction=0.5 of 256 with 200 positives and 40 negatives: expected 128"
        f" and 40, got {pos_idx.numel()} and {neg_idx.numel()}",
    )


@exercise("rpn.decode_boxes", points=1)
def test_decode_rejects_deltas_of_the_wrong_shape():
    """deltas not [N, 4 * C] for the N anchors raise ValueError; [N, 8] is fine."""
    decode_boxes = student("rpn.decode_boxes")
    anchors = torch.tensor([[0.0, 0, 10, 10], [5, 5, 20, 30]])
    weights = (1.0, 1.0, 1.0, 1.0)
    result = decode_boxes(torch.zeros(2, 8), anchors, weights)
    expect_tensor(result, "decode_boxes of [2, 8] deltas (2 classes)", shape=(2, 8))
    cases = (
        (torch.zeros(8), "1-D deltas [8]"),
        (torch.zeros(2, 1, 4), "3-D deltas [2, 1, 4]"),
        (torch.zeros(2, 6), "deltas [2, 6] (6 is not a multiple of 4)"),
        (torch.zeros(2, 5), "deltas [2, 5]"),
        (torch.zeros(3, 4), "deltas [3, 4] for 2 anchors"),
        (torch.zeros(1, 8), "deltas [1, 8] for 2 anchors"),
    )
    for deltas, what in cases:
        raises_value_error(lambda deltas=deltas: decode_boxes(deltas, anchors, weights), what)


@exercise("rpn.propose", points=1)
def test_propose_rejects_unflattened_head_outputs():
    """objectness not [N] or deltas not [N, 4] for the N anchors raise ValueError."""
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    anchors = torchvision_anchors((2, 2), 16, (16,), (1.0,))  # [4, 4]
    logits, deltas = torch.linspace(-1, 1, 4), torch.zeros(4, 4)
    boxes_out, _ = propose(anchors, logits, deltas, (32, 32), 10, 10, 0.7, 1e-3)
    expect_tensor(boxes_out, "proposals of valid inputs", shape=(4, 4))
    cases = (
        (logits[None], deltas, "objectness [1, 4] (the head's [A, H, W] layout, unflattened)"),
        (logits[:3], deltas, "objectness [3] for 4 anchors"),
        (logits, deltas.reshape(1, 16), "deltas [1, 16]"),
        (logits, deltas[:3], "deltas [3, 4] for 4 anchors"),
        (logits, deltas.reshape(4, 2, 2), "deltas [4, 2, 2]"),
    )
    for objectness, codes, what in cases:
        raises_value_error(
            lambda objectness=objectness, codes=codes: propose(
                anchors, objectness, codes, (32, 32), 10, 10, 0.7, 1e-3
            ),
            f"propose with {what}",
        )


@exercise("rpn.propose", points=1)
def test_propose_clips_every_side_from_both_ends():
    """Boxes beyond any side of the image are clipped onto it (x to [0, W], y to [0, H]).

    With ``min_size=0`` a box clipped to a line (side 0, not below 0) is kept, as torchvision's
    ``clip_boxes_to_image`` + ``remove_small_boxes`` keep it, so the clip of each coordinate
    shows, from below and from above: a box starting right of the image has ``x1 = W``.
    """
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    anchors = torch.tensor(
        [
            [70.0, 10.0, 90.0, 30.0],  # right of the 64 px wide image: x1, x2 -> 64
            [10.0, 40.0, 30.0, 60.0],  # partly below the 48 px high image: y2 -> 48
            [10.0, 52.0, 30.0, 70.0],  # below: y1, y2 -> 48
            [-30.0, 10.0, -10.0, 30.0],  # left: x1, x2 -> 0
            [10.0, -30.0, 30.0, -10.0],  # above: y1, y2 -> 0
            [-5.0, -6.0, 70.0, 50.0],  # over the whole image: (0, 0, 64, 48)
        ]
    )
    logits = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    deltas = torch.zeros(6, 4)
    result = propose(anchors, logits, deltas, (48, 64), 10, 10, 0.7, 0.0)
    expected_boxes, expected_scores = reference_propose(
        anchors, logits, deltas, (48, 64), 10, 10, 0.7, 0.0
    )
    by_hand = torch.tensor(
        [
            [64.0, 10.0, 64.0, 30.0],
            [10.0, 40.0, 30.0, 48.0],
            [10.0, 48.0, 30.0, 48.0],
            [0.0, 10.0, 0.0, 30.0],
            [10.0, 0.0, 30.0, 0.0],
            [0.0, 0.0, 64.0, 48.0],
        ]
    )
    boxes_out, scores_out = result
    expect_tensor(boxes_out, "proposals with min_size=0", shape=tuple(expected_boxes.shape))
    expect_close(
        boxes_out,
        expected_boxes,
        "boxes beyond the image clipped onto it (x1, x2 in [0, W]; y1, y2 in [0, H])",
        atol=0,
    )
    expect_close(scores_out, expected_scores, "scores of the clipped proposals")
    expect_close(expected_boxes, by_hand, "(oracle) the hand-clipped boxes, in score order", atol=0)


@exercise("rpn.propose", points=1)
def test_propose_defaults():
    """Defaults pre_nms_top_n=6000, post_nms_top_n=300, nms_thresh=0.7, min_size=1e-3."""
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    size = (1024, 1024)

    def check(anchors: Tensor, logits: Tensor, count: int, what: str) -> None:
        deltas = torch.zeros_like(anchors)
        expected, expected_scores = reference_propose(
            anchors, logits, deltas, size, 6000, 300, 0.7, 1e-3
        )
        expect(len(expected) == count, f"(oracle: {what} gives {count} proposals)")
        boxes_out, scores_out = propose(anchors, logits, deltas, size)
        expect_tensor(boxes_out, f"proposals, {what}", shape=(count, 4))
        expect_close(boxes_out, expected, f"proposals with the default arguments: {what}")
        expect_close(scores_out, expected_scores, f"scores with the default arguments: {what}")

    # 6000 copies of one box, then a box elsewhere with the lowest logit: only the top 6000
    # enter NMS, which leaves one proposal (a 6001st anchor would add a second).
    anchors = torch.cat(
        [torch.tensor([[0.0, 0, 10, 10]]).repeat(6000, 1), torch.tensor([[500.0, 500, 510, 510]])]
    )
    logits = torch.cat([torch.linspace(10.0, 1.0, 6000), torch.tensor([0.0])])
    check(anchors, logits, 1, "pre_nms_top_n=6000 with 6001 anchors")
    # 301 boxes apart from each other: NMS keeps all, the default keeps the best 300.
    grid = torch.arange(301.0)
    corner = torch.stack([(grid % 20) * 40, (grid // 20) * 40], dim=1)
    anchors = torch.cat([corner, corner + 20], dim=1)
    check(anchors, torch.linspace(3.0, -3.0, 301), 300, "post_nms_top_n=300 with 301 boxes")
    # IoU 0.75 > 0.7 is suppressed, IoU 0.625 is not; a side of 2**-9 >= 1e-3 is kept, one of
    # 2**-11 < 1e-3 is dropped.
    anchors = torch.tensor(
        [
            [0.0, 0.0, 100.0, 100.0],
            [0.0, 0.0, 100.0, 75.0],  # IoU 0.75 with the first: suppressed at 0.7
            [200.0, 0.0, 300.0, 100.0],
            [200.0, 0.0, 300.0, 62.5],  # IoU 0.625: kept
            [400.0, 0.0, 400.0 + 2**-9, 8.0],  # kept: side 2**-9 >= 1e-3
            [500.0, 0.0, 500.0 + 2**-11, 8.0],  # dropped: side 2**-11 < 1e-3
        ]
    )
    check(anchors, torch.tensor([6.0, 5.0, 4.0, 3.0, 2.0, 1.0]), 4, "nms_thresh 0.7, min_size 1e-3")


@exercise("rpn.decode_boxes", points=1)
def test_decode_returns_the_dtype_of_deltas_for_float32_anchors():
    """float16 / float64 deltas on float32 anchors decode to boxes of the deltas' dtype."""
    decode_boxes = student("rpn.decode_boxes")
    anchors = torch.tensor([[0.0, 0.0, 32.0, 32.0], [10.0, 10.0, 26.0, 42.0]])
    deltas = torch.tensor([[0.1, -0.2, 0.3, -0.1], [0.5, 0.25, -0.5, 0.0]])
    expected = reference_decode(deltas.double(), anchors.double())
    for dtype in (torch.float16, torch.float64):
        result = decode_boxes(deltas.to(dtype), anchors, (1.0, 1.0, 1.0, 1.0))
        expect_tensor(result, f"decode_boxes of {dtype} deltas", shape=(2, 4))
        expect(
            result.dtype == dtype,
            f"boxes are in the dtype of deltas: {dtype} deltas on float32 anchors gave"
            f" {result.dtype}",
        )
        expect_close(result.double(), expected, f"boxes from {dtype} deltas", atol=0.05)


@exercise("rpn.nms", points=1)
def test_nms_ties_keep_the_lower_index_first():
    """Equal scores: the lower index comes first and wins, also past 100 boxes.

    Hand oracle: 240 boxes on a grid, none overlapping, scores in {0.25, 0.5, 0.75}; every box is
    kept, in the order of (-score, index). Then pairs of identical boxes with equal scores: the
    lower index of each pair is kept. (torch's default argsort is not stable on a CPU from about
    100 elements on; torchvision's nms sorts unstably too, so it is no oracle for ties.)
    """
    nms = student("rpn.nms", box_iou=IOU)
    count = 240
    index = torch.arange(count)
    corner = torch.stack([(index % 16) * 20.0, (index // 16) * 20.0], dim=1)
    grid_boxes = torch.cat([corner, corner + 10.0], dim=1)
    scores = torch.tensor([0.25, 0.75, 0.5])[index % 3]
    expected = sorted(range(count), key=lambda i: (-float(scores[i]), i))
    result = expect_tensor(nms(grid_boxes, scores, 0.5), "nms of tied scores", shape=(count,))
    expect(
        result.tolist() == expected,
        "tied scores should keep the lower index first (order: score descending, then index);"
        f" first difference at position"
        f" {next((i for i, (a, b) in enumerate(zip(result.tolist(), expected, strict=True)) if a != b), None)}",
    )
    doubled = torch.cat([grid_boxes, grid_boxes])  # box i and box i + 240 are the same box
    tied = torch.cat([scores, scores])
    result = nms(doubled, tied, 0.5)
    expect(
        result.tolist() == expected,
        "of two identical boxes with the same score the lower index is kept (ties: lower index"
        " first)",
    )


@exercise("rpn.rpn_loss", points=1)
def test_rpn_loss_accepts_integer_labels():
    """Labels as int64 {1, 0, -1} give the same losses as float labels (cast to the logits)."""
    rpn_loss = student("rpn.rpn_loss")
    generator = torch.Generator().manual_seed(4)
    objectness = torch.randn(8, generator=generator)
    deltas = torch.randn(8, 4, generator=generator) * 0.3
    targets = torch.randn(8, 4, generator=generator) * 0.3
    labels = torch.tensor([1, 0, -1, 1, 0, 0, -1, 1])
    pos_idx, neg_idx = torch.where(labels == 1)[0], torch.where(labels == 0)[0]
    expected = torchvision_rpn_loss(objectness, deltas, labels.float(), targets)
    result = rpn_loss(objectness, deltas, labels, targets, pos_idx, neg_idx)
    expect(isinstance(result, tuple) and len(result) == 2, "rpn_loss returns two losses")
    for name, value, reference in zip(
        ("loss_objectness", "loss_rpn_box_reg"), result, expected, strict=True
    ):
        expect_close(value, float(reference), f"{name} with int64 labels", atol=1e-5)


@exercise("rpn.nms", points=1)
def test_nms_threshold_is_strict_beyond_the_first_hundred_boxes():
    """IoU exactly the threshold does not suppress, also for a box ranked past the 128th.

    Hand oracle: 140 boxes 10x10 on a grid 20 px apart (no overlaps), then, with the lowest
    scores, (0, 0, 10, 5) — IoU 50/100 = 0.5 exactly with box 0: kept at threshold 0.5 — and
    (20, 0, 30, 5.5) — IoU 0.55 with box 1: suppressed. So a large input keeps the same rule
    (``> iou_threshold``) as a small one.
    """
    nms = student("rpn.nms", box_iou=IOU)
    index = torch.arange(140)
    corner = torch.stack([(index % 14) * 20.0, (index // 14) * 20.0], dim=1)
    grid_boxes = torch.cat([corner, corner + 10.0], dim=1)
    extra = torch.tensor([[0.0, 0.0, 10.0, 5.0], [20.0, 0.0, 30.0, 5.5]])
    candidates = torch.cat([grid_boxes, extra])
    scores = torch.linspace(1.0, 0.01, 142)
    result = expect_tensor(nms(candidates, scores, 0.5), "nms of 142 boxes", dtype=torch.int64)
    expected = list(range(141))  # all but box 141 (IoU 0.55 > 0.5 with box 1)
    expect(
        result.tolist() == expected,
        "of 142 boxes, box 140 (IoU exactly 0.5 with box 0) is kept and box 141 (IoU 0.55 with"
        f" box 1) dropped; kept {len(result)} boxes, missing"
        f" {sorted(set(expected) - set(result.tolist()))}, extra"
        f" {sorted(set(result.tolist()) - set(expected))}",
    )


# ----------------------------------------------------------------------------- contract (issue 27)


@exercise("rpn.propose", points=1)
def test_propose_drops_small_boxes_before_nms():
    """A box too small to keep must not suppress anything: the min_size filter runs before NMS.

    The best anchor is 0.0009 px wide (below min_size = 1e-3: dropped), the next one 0.0011 px,
    IoU 0.82 > nms_thresh. torchvision drops small boxes first, so the second one is proposed;
    NMS first lets the dropped box suppress it, and no proposal is left.
    """
    propose = student(
        "rpn.propose", nms=torchvision.ops.nms, decode_boxes=reference_decode, box_iou=IOU
    )
    anchors = torch.tensor([[10.0, 10.0, 10.0009, 30.0], [10.0, 10.0, 10.0011, 30.0]])
    logits = torch.tensor([2.0, 1.0])
    found, _ = propose(anchors, logits, torch.zeros(2, 4), (64, 64), 10, 10, 0.7, 1e-3)
    expected, _ = reference_propose(anchors, logits, torch.zeros(2, 4), (64, 64), 10, 10, 0.7, 1e-3)
    expect_tensor(found, "proposals of a 0.0009 px box over a 0.0011 px one", shape=(1, 4))
    expect_close(found, expected, "the 0.0011 px box, left after the size filter", atol=1e-5)
