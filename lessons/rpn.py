"""Lesson 6 — rpn: anchors and the Region Proposal Network.

The RPN slides a small network over the backbone's feature map. At every cell it considers
``A`` reference boxes, the *anchors* (3 sizes x 3 aspect ratios = 9 in the paper), and predicts
for each one an *objectness* logit ("is there an object here?") and 4 *deltas* that move and
stretch the anchor onto the object. Training labels anchors by their IoU with the ground truth
and samples a balanced mini-batch of them; at inference the best-scoring decoded anchors,
de-duplicated by non-maximum suppression (NMS), become the *proposals* of the detector.

Notation:
    boxes         float ``[N, 4]`` as ``(x1, y1, x2, y2)`` in absolute pixels
    H, W          feature map height and width (cells); ``stride`` pixels per cell
    A             anchors per position, ``len(sizes) * len(ratios)``
    ratio         aspect ratio ``h / w`` of an anchor (2.0 is tall), as torchvision
    anchor        ``(cx, cy, w, h)`` = centre, width and height of an anchor
    deltas        ``dx = wx (gx - cx) / w``,  ``dy = wy (gy - cy) / h``,
                  ``dw = ww log(gw / w)``,   ``dh = wh log(gh / h)``  for a target box ``g``,
                  with weights ``(wx, wy, ww, wh)``: ``(1, 1, 1, 1)`` in the RPN
    labels        1 = object (positive), 0 = background (negative), -1 = ignored
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .metrics import box_iou

__all__ = [
    "RPNHead",
    "assign_anchors",
    "decode_boxes",
    "encode_boxes",
    "generate_anchors",
    "nms",
    "propose",
    "rpn_loss",
    "sample_labels",
]

DELTA_CLAMP = math.log(1000.0 / 16)  # largest dw, dh before exp: a box at most 62.5x its anchor


def generate_anchors(
    feature_size: tuple[int, int],
    stride: int | tuple[int, int],
    sizes: tuple[float, ...] = (128, 256, 512),
    ratios: tuple[float, ...] = (0.5, 1.0, 2.0),
) -> Tensor:
    """All anchors of a feature map, in the order of torchvision's ``AnchorGenerator``.

    The anchors of one position are centred on ``(x * stride, y * stride)``; for each ratio
    ``r`` (outer loop) and size ``s`` (inner loop) the anchor has ``w = s / sqrt(r)`` and
    ``h = s * sqrt(r)`` (area ``s**2``), and its corners are rounded to whole pixels.
    Positions are listed row by row (``y``, then ``x``), with their ``A`` anchors together.

    Args:
        feature_size: ``(H, W)`` of the feature map.
        stride: pixels per cell, one int or ``(stride_y, stride_x)``.
        sizes: anchor sizes (square roots of the areas) in pixels.
        ratios: aspect ratios ``h / w``.

    Returns:
        Tensor[H * W * A, 4] float32 boxes ``(x1, y1, x2, y2)``; anchor ``a`` at position
        ``(y, x)`` is row ``(y * W + x) * A + a``.
    """
    # TODO: first the A base anchors centred on (0, 0): ratio-major, size-minor, with
    #   h / w = ratio and h * w = size**2, corners rounded (torch.round). Then add the shifts
    #   (x * stride_x, y * stride_y) of every position (torch.meshgrid(..., indexing='ij')) by
    #   broadcasting [H*W, 1, 4] + [1, A, 4].
    raise NotImplementedError


def encode_boxes(
    gt_boxes: Tensor,
    anchors: Tensor,
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> Tensor:
    """Deltas that turn each anchor into its target box (torchvision's ``BoxCoder.encode``).

    Args:
        gt_boxes: Tensor[N, 4] — the target box of each anchor, ``(x1, y1, x2, y2)``.
        anchors: Tensor[N, 4] — the anchors (or proposals), positive width and height.
        weights: ``(wx, wy, ww, wh)`` multiplying the four deltas.

    Returns:
        Tensor[N, 4] deltas ``(dx, dy, dw, dh)`` (see the module's notation).
    """
    # TODO: centres and sizes of both sets of boxes, then the four formulas of the notation
    #   block (mind the log on the sizes), times the weights.
    raise NotImplementedError


def decode_boxes(
    deltas: Tensor,
    anchors: Tensor,
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> Tensor:
    """Boxes from deltas applied to anchors (torchvision's ``BoxCoder.decode_single``).

    ``dw`` and ``dh`` are clamped at ``log(1000 / 16)`` before ``exp`` so a wild prediction
    cannot overflow. Several boxes per anchor (one per class) are decoded at once when
    ``deltas`` has ``4 * C`` columns.

    Args:
        deltas: Tensor[N, 4 * C] — ``(dx, dy, dw, dh)`` per anchor (and class).
        anchors: Tensor[N, 4] — ``(x1, y1, x2, y2)``.
        weights: ``(wx, wy, ww, wh)`` the deltas were multiplied by.

    Returns:
        Tensor[N, 4 * C] boxes ``(x1, y1, x2, y2)``, in the dtype of ``deltas``; ``N = 0``
        (no anchors or proposals) gives an empty ``[0, 4 * C]`` result.

    Raises:
        ValueError: if ``deltas`` is not ``[N, 4 * C]`` for the ``N`` anchors.
    """
    # TODO: the inverse of encode_boxes: divide by the weights, clamp dw and dh at
    #   DELTA_CLAMP, then centre = dx * w + cx and size = exp(dw) * w. Reshape deltas to
    #   [N, C, 4] so one formula serves any number of classes.
    raise NotImplementedError


def assign_anchors(
    anchors: Tensor, gt_boxes: Tensor, fg_iou: float = 0.7, bg_iou: float = 0.3
) -> tuple[Tensor, Tensor]:
    """Labels each anchor positive, negative or ignored by its IoU with the ground truth.

    As torchvision's ``Matcher(fg_iou, bg_iou, allow_low_quality_matches=True)``: an anchor
    whose best IoU is ``>= fg_iou`` is positive, ``< bg_iou`` negative, in between ignored.
    Then, so that no object goes without an anchor, the anchors with the highest IoU for each
    ground truth box (all of them when tied) are made positive too, provided that IoU is > 0.

    Args:
        anchors: Tensor[N, 4] boxes.
        gt_boxes: Tensor[G, 4] ground-truth boxes (G may be 0).
        fg_iou: IoU from which an anchor is positive.
        bg_iou: IoU below which an anchor is negative.

    Returns:
        ``(labels, matched_idx)``: ``labels`` Tensor[N] in {1, 0, -1}, float like the anchors;
        ``matched_idx`` Tensor[N] int64, the ground truth each anchor overlaps most (-1 when
        G = 0).
    """
    # TODO: box_iou(gt_boxes, anchors) gives [G, N]; its max over dim 0 labels every anchor.
    #   Then find, for each ground truth, the anchors equal to its best IoU (> 0) and make them
    #   positive. Handle G = 0 first.
    raise NotImplementedError


def sample_labels(
    labels: Tensor,
    batch_size: int = 256,
    positive_fraction: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Draws a balanced mini-batch of anchors (torchvision's ``BalancedPositiveNegativeSampler``).

    At most ``int(batch_size * positive_fraction)`` positives are drawn at random; negatives
    fill the rest of the batch, as far as there are any. Ignored anchors are never drawn.

    Args:
        labels: Tensor[N] in {1, 0, -1}.
        batch_size: anchors per image to sample.
        positive_fraction: largest share of positives.
        generator: random generator, for reproducible draws.

    Returns:
        ``(pos_idx, neg_idx)``: Tensor[P] and Tensor[Q] int64 indices into ``labels``, with
        ``P <= batch_size * positive_fraction`` and ``P + Q <= batch_size``.
    """
    # TODO: torch.where(labels == 1) and (labels == 0) give the candidates; torch.randperm
    #   (with the generator) picks among them. How many positives at most? negatives fill the rest.
    raise NotImplementedError


class RPNHead(nn.Module):
    """The RPN's small network: a 3x3 conv + ReLU, then two 1x1 convs (as torchvision's).

    Args:
        in_channels: channels ``D`` of the feature map (kept by the 3x3 conv).
        num_anchors: anchors ``A`` per position.

    Attributes ``conv``, ``cls_logits`` (``A`` objectness logits) and ``bbox_pred`` (``4A``
    deltas, anchor ``a`` in channels ``4a .. 4a + 3``) are initialised N(0, 0.01), bias 0.
    """

    def __init__(self, in_channels: int, num_anchors: int) -> None:
        super().__init__()
        # TODO: three nn.Conv2d named conv (3x3, padding 1), cls_logits and bbox_pred (1x1),
        #   initialised with nn.init.normal_(std=0.01) and zero biases.
        raise NotImplementedError

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Objectness and deltas of every anchor.

        Args:
            features: Tensor[B, D, H, W].

        Returns:
            ``(objectness [B, A, H, W], deltas [B, 4A, H, W])``.
        """
        # TODO: ReLU after the 3x3 conv, then both 1x1 convs on the same hidden map.
        raise NotImplementedError


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: keeps boxes that no higher-scoring kept box overlaps too much.

    Greedy, in order of decreasing score: a box is kept unless its IoU with an already kept
    box is ``> iou_threshold``. Same result as ``torchvision.ops.nms``.

    Args:
        boxes: Tensor[N, 4] ``(x1, y1, x2, y2)``.
        scores: Tensor[N].
        iou_threshold: boxes overlapping a kept box by more than this are dropped.

    Returns:
        Tensor[K] int64: indices of the kept boxes, by decreasing score (ties: lower index
        first); empty for ``N = 0``. IoUs are computed in float32 for half-precision boxes
        (``box_iou``'s upcast), so float16/bfloat16 inputs keep as torchvision does.

    Raises:
        ValueError: if ``boxes`` is not ``[N, 4]`` or ``scores`` not ``[N]``.
    """
    # TODO: sort by score (descending); box_iou of the sorted boxes tells who overlaps whom. A box
    #   is kept if no *kept* box before it overlaps it by more than the threshold.
    #   Loop only over the boxes you keep (a bool tensor of survivors), never over pairs of
    #   boxes.
    raise NotImplementedError


def propose(
    anchors: Tensor,
    objectness: Tensor,
    deltas: Tensor,
    image_size: tuple[int, int],
    pre_nms_top_n: int = 6000,
    post_nms_top_n: int = 300,
    nms_thresh: float = 0.7,
    min_size: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    """Proposals of one image: the best decoded anchors, de-duplicated by NMS.

    As torchvision's ``RegionProposalNetwork.filter_proposals`` for one image and one feature
    map: keep the ``pre_nms_top_n`` anchors of highest objectness, decode their deltas, turn
    logits into probabilities, clip the boxes to the image, drop boxes with a side below
    ``min_size``, run NMS, keep the best ``post_nms_top_n``. No gradient flows through the result.

    Args:
        anchors: Tensor[N, 4] boxes.
        objectness: Tensor[N] logits.
        deltas: Tensor[N, 4] predicted deltas (weights ``(1, 1, 1, 1)``).
        image_size: ``(height, width)`` of the image, in pixels.
        pre_nms_top_n: anchors kept before NMS.
        post_nms_top_n: proposals kept after NMS.
        nms_thresh: IoU threshold of NMS.
        min_size: smallest side of a proposal, in pixels.

    Returns:
        ``(boxes [K, 4], scores [K])`` with ``K <= post_nms_top_n``, by decreasing score
        (probabilities in (0, 1)).

    Raises:
        ValueError: if ``objectness`` is not ``[N]`` or ``deltas`` not ``[N, 4]`` for the ``N``
            anchors (e.g. the head's outputs before they are flattened).
    """
    # TODO: the order matters (see the docstring): topk of the objectness, decode_boxes,
    #   sigmoid, clamp x to [0, width] and y to [0, height], a boolean mask for small boxes, nms,
    #   then slice. Work on .detach()-ed inputs.
    raise NotImplementedError


def rpn_loss(
    objectness: Tensor,
    deltas: Tensor,
    labels: Tensor,
    regression_targets: Tensor,
    pos_idx: Tensor,
    neg_idx: Tensor,
) -> tuple[Tensor, Tensor]:
    """The RPN's two losses on the sampled anchors (torchvision's ``RegionProposalNetwork``).

    Objectness: binary cross-entropy with logits, averaged over the sampled anchors (positive
    and negative). Boxes: smooth L1 (``beta = 1/9``) between predicted and target deltas of the
    positive anchors, summed, then divided by the number of *sampled* anchors.

    Args:
        objectness: Tensor[N] logits (all anchors of the batch, flattened).
        deltas: Tensor[N, 4] predicted deltas.
        labels: Tensor[N] in {1, 0, -1}, float or integer (cast to the logits' dtype).
        regression_targets: Tensor[N, 4] target deltas (used where positive).
        pos_idx: Tensor[P] int64 indices of the sampled positives.
        neg_idx: Tensor[Q] int64 indices of the sampled negatives.

    Returns:
        ``(loss_objectness, loss_rpn_box_reg)``, scalar tensors (0 when nothing is sampled).
    """
    # TODO: index with torch.cat([pos_idx, neg_idx]); F.binary_cross_entropy_with_logits
    #   and F.smooth_l1_loss(..., beta=1 / 9, reduction='sum') do the work. Divide the box loss
    #   by the number of sampled anchors, not by the number of positives.
    raise NotImplementedError
