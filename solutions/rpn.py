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
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else stride
    sizes_t = torch.as_tensor(sizes, dtype=torch.float32)
    ratios_t = torch.as_tensor(ratios, dtype=torch.float32)
    height_factor = ratios_t.sqrt()  # h = s * sqrt(r), w = s / sqrt(r)
    widths = (sizes_t[None, :] / height_factor[:, None]).reshape(-1)  # [A], ratio-major
    heights = (sizes_t[None, :] * height_factor[:, None]).reshape(-1)  # [A]
    base = (torch.stack([-widths, -heights, widths, heights], dim=1) / 2).round()  # [A, 4]
    rows, cols = feature_size
    shift_y, shift_x = torch.meshgrid(
        torch.arange(rows) * stride_y, torch.arange(cols) * stride_x, indexing="ij"
    )  # [H, W] each
    shifts = torch.stack([shift_x, shift_y, shift_x, shift_y], dim=-1).reshape(-1, 1, 4)  # [HW,1,4]
    return (shifts + base[None]).reshape(-1, 4)  # [H*W*A, 4]


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
    wx, wy, ww, wh = weights
    anchor_wh = anchors[:, 2:] - anchors[:, :2]  # [N, 2]
    anchor_centre = anchors[:, :2] + 0.5 * anchor_wh
    gt_wh = gt_boxes[:, 2:] - gt_boxes[:, :2]
    gt_centre = gt_boxes[:, :2] + 0.5 * gt_wh
    centre_deltas = (gt_centre - anchor_centre) / anchor_wh * anchor_wh.new_tensor([wx, wy])
    size_deltas = torch.log(gt_wh / anchor_wh) * anchor_wh.new_tensor([ww, wh])
    return torch.cat([centre_deltas, size_deltas], dim=1)


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
    if deltas.dim() != 2 or deltas.shape[1] % 4 or deltas.shape[0] != anchors.shape[0]:
        raise ValueError(
            f"deltas should be [N, 4 * C] for {anchors.shape[0]} anchors, got {tuple(deltas.shape)}"
        )
    anchors = anchors.to(deltas.dtype)
    codes = deltas.reshape(deltas.shape[0], deltas.shape[1] // 4, 4)  # [N, C, 4]; N may be 0
    wx, wy, ww, wh = weights
    anchor_wh = (anchors[:, 2:] - anchors[:, :2])[:, None, :]  # [N, 1, 2]
    anchor_centre = anchors[:, None, :2] + 0.5 * anchor_wh  # [N, 1, 2]
    centre_deltas = codes[..., :2] / codes.new_tensor([wx, wy])  # [N, C, 2]
    size_deltas = (codes[..., 2:] / codes.new_tensor([ww, wh])).clamp(max=DELTA_CLAMP)
    centre = centre_deltas * anchor_wh + anchor_centre
    half_size = 0.5 * torch.exp(size_deltas) * anchor_wh
    return torch.cat([centre - half_size, centre + half_size], dim=2).reshape(deltas.shape)


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
    if gt_boxes.numel() == 0:
        labels = anchors.new_zeros(anchors.shape[0])  # all background
        return labels, torch.full_like(labels, -1, dtype=torch.int64)
    iou = box_iou(gt_boxes, anchors)  # [G, N]
    best_iou, matched_idx = iou.max(dim=0)  # [N]: each anchor's best ground truth
    labels = torch.full_like(best_iou, -1.0)
    labels[best_iou < bg_iou] = 0.0
    labels[best_iou >= fg_iou] = 1.0
    best_for_gt = iou.max(dim=1, keepdim=True).values  # [G, 1]
    is_best = (iou == best_for_gt) & (best_for_gt > 0)  # [G, N], ties included
    labels[is_best.any(dim=0)] = 1.0
    return labels, matched_idx


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
    positive = torch.where(labels >= 1)[0]
    negative = torch.where(labels == 0)[0]
    num_pos = min(int(batch_size * positive_fraction), positive.numel())
    num_neg = min(batch_size - num_pos, negative.numel())
    device = generator.device if generator is not None else labels.device
    pos_pick = torch.randperm(positive.numel(), generator=generator, device=device)[:num_pos]
    neg_pick = torch.randperm(negative.numel(), generator=generator, device=device)[:num_neg]
    return positive[pos_pick.to(labels.device)], negative[neg_pick.to(labels.device)]


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
        self.conv = nn.Conv2d(in_channels, in_channels, kernel_size=3, padding=1)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors, kernel_size=1)
        self.bbox_pred = nn.Conv2d(in_channels, 4 * num_anchors, kernel_size=1)
        for layer in (self.conv, self.cls_logits, self.bbox_pred):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Objectness and deltas of every anchor.

        Args:
            features: Tensor[B, D, H, W].

        Returns:
            ``(objectness [B, A, H, W], deltas [B, 4A, H, W])``.
        """
        hidden = F.relu(self.conv(features))
        return self.cls_logits(hidden), self.bbox_pred(hidden)


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
    # Vectorised, blocked. Box j (in score order) is kept iff no kept box i < j overlaps it: a
    # recurrence along the sorted list. We walk it a block of BLOCK boxes at a time, not box by box:
    #  1. take the next BLOCK boxes not yet suppressed;
    #  2. settle them in rounds: a box overlapped by a kept box is dropped; a box that no
    #     undecided or kept box before it overlaps is kept. Each round settles at least the
    #     first undecided box, and in practice nearly all of them (2-4 rounds);
    #  3. the block's kept boxes suppress all later boxes at once.
    # Suppressed boxes never enter an IoU matrix again, so crowded proposals get cheap fast.
    # (Chosen for speed over "IoU matrix once, then a loop over boxes"; see `bam bench`.)
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"nms: boxes should be Tensor[N, 4], got shape {tuple(boxes.shape)}")
    if scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"nms: scores should be Tensor[{boxes.shape[0]}] (one per box),"
            f" got shape {tuple(scores.shape)}"
        )
    block = 128
    order = scores.argsort(descending=True, stable=True)
    sorted_boxes = boxes[order]
    alive = torch.ones(len(order), dtype=torch.bool, device=boxes.device)
    position = 0
    while True:
        remaining = alive[position:].nonzero().squeeze(1) + position  # not suppressed yet
        if remaining.numel() == 0:
            break
        candidates, later = remaining[:block], remaining[block:]  # [k], [m]
        candidate_boxes = sorted_boxes[candidates]
        rank = torch.arange(len(candidates), device=boxes.device)
        earlier = rank[:, None] < rank[None, :]  # [k, k]: i comes before j
        overlaps = (box_iou(candidate_boxes, candidate_boxes) > iou_threshold) & earlier
        kept = torch.zeros_like(earlier[0])
        undecided = torch.ones_like(kept)
        while undecided.any():
            suppressed = (overlaps & kept[:, None]).any(dim=0)  # by a kept earlier box
            waiting = (overlaps & undecided[:, None]).any(dim=0)  # on an undecided earlier box
            kept = kept | (undecided & ~suppressed & ~waiting)
            undecided = undecided & ~suppressed & ~kept
        alive[candidates[~kept]] = False
        if later.numel():
            hit = (box_iou(candidate_boxes[kept], sorted_boxes[later]) > iou_threshold).any(dim=0)
            alive[later[hit]] = False
        position = int(candidates[-1]) + 1
    return order[alive]


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
    if objectness.shape != anchors.shape[:1] or deltas.shape != anchors.shape:
        raise ValueError(
            f"expected objectness [N] and deltas [N, 4] for {anchors.shape[0]} anchors, got"
            f" {tuple(objectness.shape)} and {tuple(deltas.shape)} (flatten the head's outputs)"
        )
    objectness, deltas = objectness.detach(), deltas.detach()
    top_scores, top_idx = objectness.topk(min(pre_nms_top_n, objectness.numel()))
    boxes = decode_boxes(deltas[top_idx], anchors[top_idx])  # [n, 4]
    scores = torch.sigmoid(top_scores)
    height, width = image_size
    boxes = torch.stack(
        [boxes[:, 0].clamp(0, width), boxes[:, 1].clamp(0, height),
         boxes[:, 2].clamp(0, width), boxes[:, 3].clamp(0, height)], dim=1
    )  # fmt: skip
    sides = boxes[:, 2:] - boxes[:, :2]  # [n, 2]
    large = (sides >= min_size).all(dim=1)
    boxes, scores = boxes[large], scores[large]
    keep = nms(boxes, scores, nms_thresh)[:post_nms_top_n]
    return boxes[keep], scores[keep]


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
    sampled = torch.cat([pos_idx, neg_idx])
    if sampled.numel() == 0:
        zero = objectness.sum() * 0 + deltas.sum() * 0  # keeps the graph, no NaN
        return zero, zero
    loss_objectness = F.binary_cross_entropy_with_logits(
        objectness[sampled], labels[sampled].to(objectness.dtype)
    )
    box_loss = F.smooth_l1_loss(
        deltas[pos_idx], regression_targets[pos_idx], beta=1 / 9, reduction="sum"
    )
    return loss_objectness, box_loss / sampled.numel()
