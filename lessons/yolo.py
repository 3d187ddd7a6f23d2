"""Lesson 10 — yolo: a one-stage detector on the same backbone, measured against Faster R-CNN.

Faster R-CNN looks twice: the RPN proposes regions, the head classifies each pooled region.
YOLO ("you only look once") looks once: one convolution on the backbone's map predicts, for
every cell and every anchor shape of the cell, a box, an objectness score and class scores.
No proposals, no RoI pooling; the price is a coarser assignment of objects to cells.

This lesson's YOLO is YOLOv2-style: the lesson-5 VGG16 backbone (stride 16), ``A`` anchor
shapes per cell, boxes predicted relative to their cell and anchor. Anchors rather than
YOLOv1's two free predictors per cell make the targets a function of the ground truth alone:
the responsible anchor of an object is the one whose shape matches it best, not the one that
happens to predict it best, so a check can work targets out by hand.

Notation:
    B            images in the batch; each image ``[3, H, W]`` float in [0, 1]
    H', W'       grid (feature map) size, ``stride`` = 16 image pixels per cell
    A            anchor shapes per cell: ``anchors`` Tensor[A, 2] of ``(w, h)`` in pixels
    C            classes including background, as lessons 8 and 9 (4 for the shapes set):
                 objects are 1..C-1; YOLO predicts C-1 class logits and no background class
                 (a low objectness says "no object")
    K            ``C - 1``, the number of class logits
    prediction   ``[..., H', W', A, 5 + K]``: ``(tx, ty, tw, th, objectness, classes...)``
    boxes        float ``[N, 4]`` ``(x1, y1, x2, y2)`` in pixel edges (conventions page)

Decoding cell ``(i, j)`` (row, column), anchor ``(w_a, h_a)``::

    centre x = (j + sigmoid(tx)) * stride      width  = w_a * exp(tw)
    centre y = (i + sigmoid(ty)) * stride      height = h_a * exp(th)

Given code: ``given.detection.batch_images`` (normalise and pad), ``check_targets`` and
``init_from_scratch``. The checks of this lesson hand it reference versions of the lesson-5
backbone and the lesson-6 ``nms``; ``bam train yolo --impl lessons`` runs yours, so it also needs
lesson 1's ``resize_boxes`` and ``collate_detection``, lesson 2's ``hflip`` (with flips), lesson
3's ``box_iou``, ``average_precision`` and ``mean_average_precision``, lesson 5's
``vgg16_backbone`` and lesson 6's ``nms`` done.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from given.detection import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    batch_images,
    check_targets,
    init_from_scratch,
)

from .rpn import nms
from .vgg import vgg16_backbone

__all__ = ["YOLO", "decode_grid", "grid_targets", "yolo_loss", "yolo_postprocess"]

STRIDE = 16
"""Image pixels per grid cell (the VGG16 backbone's stride)."""

SIZE_CLAMP = math.log(1000.0 / 16)
"""``tw`` and ``th`` are clamped at this before ``exp`` (as torchvision's BoxCoder)."""

MIN_BOX_SIZE = 1e-2
"""Detections narrower or lower than this (pixels) are dropped."""


def grid_targets(
    boxes: Tensor, labels: Tensor, grid_size: tuple[int, int], stride: int, anchors: Tensor
) -> dict[str, Tensor]:
    """Which cell and anchor is responsible for each ground-truth box, and what it should predict.

    The responsible cell holds the box's centre: column ``floor(cx / stride)``, row
    ``floor(cy / stride)``, clamped into the grid (a centre on a cell's left or top edge belongs
    to that cell). The responsible anchor has the largest *shape IoU* with the box — both
    centred at the same point, ``min(w, w_a) * min(h, h_a) / (w h + w_a h_a - min(w, w_a) *
    min(h, h_a))`` — the first one on ties. When two boxes claim the same cell and anchor, the
    larger box (by area) keeps it; on equal areas, the earlier box.

    Args:
        boxes: Tensor[G, 4] float ``(x1, y1, x2, y2)`` in pixels (``G`` may be 0).
        labels: Tensor[G] int64 in 1..C-1.
        grid_size: ``(H', W')`` cells.
        stride: pixels per cell.
        anchors: Tensor[A, 2] anchor ``(w, h)`` in pixels.

    Returns:
        ``{"responsible": bool [H', W', A], "offsets": float [H', W', A, 2], "log_sizes":
        float [H', W', A, 2], "labels": int64 [H', W', A]}``: ``offsets`` is the centre within
        its cell, ``(cx / stride - column, cy / stride - row)`` in [0, 1] (1 only for a centre
        on the grid's far edge); ``log_sizes`` is ``(log(w / w_a), log(h / h_a))``; ``labels``
        is the class (0 where no box is responsible). All zero where ``responsible`` is False.
        On the device of ``boxes``; floats in its dtype.
    """
    # TODO: centres (x1 + x2) / 2 and sizes x2 - x1 of all boxes at once; the cell is floor(centre /
    #   stride), clamped into the grid; the anchor is the argmax over anchors of the shape IoU
    #   (min(w, w_a) * min(h, h_a) over the union of the two areas). Boxes that land on the same
    #   (row, column, anchor): keep the larger, the earlier on equal areas (compare every pair:
    #   a [G, G] table). Fill the four tensors at the winners' (row, column, anchor).
    raise NotImplementedError


def yolo_loss(
    predictions: Tensor,
    targets: dict[str, Tensor],
    lambda_coord: float = 5.0,
    lambda_noobj: float = 0.5,
) -> dict[str, Tensor]:
    """The four terms of the YOLO loss, each summed over cells and anchors, averaged over images.

    * ``loss_box``: ``lambda_coord`` times the squared error of ``sigmoid(tx), sigmoid(ty)``
      against ``offsets`` plus that of ``tw, th`` against ``log_sizes``, over responsible anchors;
    * ``loss_objectness``: binary cross-entropy (with logits) of the objectness against 1, over
      responsible anchors;
    * ``loss_no_object``: ``lambda_noobj`` times the same against 0, over all other anchors
      (most of the grid: the weight keeps them from drowning the few objects);
    * ``loss_class``: cross-entropy of the class logits against ``labels - 1``, over responsible
      anchors.

    Sums over nothing are 0: a batch without objects has only the no-object term.

    Args:
        predictions: Tensor[B, H', W', A, 5 + K] raw outputs (``K = C - 1`` class logits).
        targets: ``grid_targets`` of each image, stacked: ``responsible`` [B, H', W', A],
            ``offsets`` and ``log_sizes`` [B, H', W', A, 2], ``labels`` [B, H', W', A].
        lambda_coord: weight of the box term (YOLOv1: 5).
        lambda_noobj: weight of the no-object term (YOLOv1: 0.5).

    Returns:
        ``{"loss_box", "loss_objectness", "loss_no_object", "loss_class"}``: scalar tensors,
        differentiable with respect to ``predictions``.
    """
    # TODO: responsible = targets['responsible']; predictions[responsible] are the [R, 5 + K] rows
    #   of the responsible anchors, predictions[~responsible] the others. Squared errors of
    #   sigmoid(tx, ty) and of (tw, th), BCE with logits on the objectness (against 1, and
    #   against 0 for the others), cross-entropy on the class logits against labels - 1; sum
    #   each (reduction='sum'), weight, divide by the number of images.
    raise NotImplementedError


def decode_grid(
    predictions: Tensor, stride: int, anchors: Tensor, image_size: tuple[int, int]
) -> tuple[Tensor, Tensor, Tensor]:
    """Every cell's and anchor's box, score and class, from one image's raw prediction.

    Boxes follow the decoding in the module's notation (``tw``, ``th`` clamped at
    ``SIZE_CLAMP`` before ``exp``) and are clipped to the image. The score of a box is
    ``sigmoid(objectness) * p``, with ``p`` the largest class probability (softmax of the class
    logits); its label is that class, 1..C-1.

    Args:
        predictions: Tensor[H', W', A, 5 + K] raw outputs of one image.
        stride: pixels per cell.
        anchors: Tensor[A, 2] anchor ``(w, h)`` in pixels.
        image_size: ``(height, width)`` to clip to.

    Returns:
        ``(boxes [N, 4], scores [N], labels [N] int64)`` with ``N = H' * W' * A``, in the order
        of ``predictions.reshape(N, -1)``: row by row, column by column, anchor by anchor.
        Boxes and scores are in the dtype and on the device of ``predictions``, whatever the
        anchors' dtype.
    """
    # TODO: flatten to [N, 5 + K]; build each row's (column, row) cell and (w_a, h_a) anchor in the
    #   same order (repeat_interleave / repeat); centre = (cell + sigmoid(txy)) * stride, size =
    #   anchor * exp(twh clamped at SIZE_CLAMP); boxes = centre -/+ size / 2, clipped to the
    #   image; softmax of the class logits: its max times sigmoid(objectness) is the score, its
    #   argmax + 1 the label.
    raise NotImplementedError


def yolo_postprocess(
    boxes: Tensor,
    scores: Tensor,
    labels: Tensor,
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
) -> tuple[Tensor, Tensor, Tensor]:
    """Final detections of one image: threshold, per-class NMS, the best few.

    Keeps boxes scoring *above* ``score_thresh`` and at least ``MIN_BOX_SIZE`` wide and high,
    runs lesson 6's ``nms`` per class (a box never suppresses one of another class), and keeps
    the ``detections_per_img`` best, by decreasing score.

    Args:
        boxes: Tensor[N, 4] decoded boxes.
        scores: Tensor[N].
        labels: Tensor[N] int64.
        score_thresh: smallest score kept (exclusive).
        nms_thresh: IoU above which a lower-scored box of the same class is suppressed.
        detections_per_img: most detections returned.

    Returns:
        ``(boxes [D, 4], scores [D], labels [D])`` with ``D <= detections_per_img``; ``D = 0``
        when nothing is left.
    """
    # TODO: keep score > score_thresh and both sides >= MIN_BOX_SIZE; per-class NMS with the
    #   lesson-6 nms: shift each class's boxes by label * (largest coordinate + 1) so that
    #   classes never overlap, then one nms call; the first detections_per_img it keeps.
    raise NotImplementedError


def check_yolo_options(num_classes: int, anchors: Sequence[tuple[float, float]]) -> None:
    """Raises a clear ``ValueError`` for fewer than 2 classes or no anchor (given code)."""
    if num_classes < 2:
        raise ValueError(f"num_classes counts background too, so it is >= 2; got {num_classes}")
    if len(anchors) == 0 or any(len(anchor) != 2 or min(anchor) <= 0 for anchor in anchors):
        raise ValueError(f"anchors should be positive (w, h) pairs, got {list(anchors)}")


class YOLO(nn.Module):
    """A YOLOv2-style one-stage detector on the lesson-5 backbone, with torchvision's interface.

    The layers are given; the exercise is ``forward``: backbone, head, then the loss of lesson
    10 in training or decoding and post-processing in evaluation.

    Args:
        num_classes: classes including background (3 shapes + background = 4), as lesson 9.
        width: channel multiplier of the VGG16 backbone.
        anchors: anchor ``(w, h)`` shapes in pixels, ``A`` of them.
        hidden: channels of the head's 3x3 convolution.
        lambda_coord: weight of the box loss.
        lambda_noobj: weight of the no-object loss.
        score_thresh: smallest score of a detection.
        nms_thresh: IoU threshold of the per-class NMS.
        detections_per_img: most detections per image.
        image_mean: per-channel mean used to normalise images (ImageNet's).
        image_std: per-channel standard deviation used to normalise images (ImageNet's).

    Raises:
        ValueError: for fewer than 2 classes or no anchor.
    """

    def __init__(
        self,
        num_classes: int,
        width: float = 1.0,
        anchors: Sequence[tuple[float, float]] = ((16, 16), (32, 32), (56, 48)),
        hidden: int = 256,
        lambda_coord: float = 5.0,
        lambda_noobj: float = 0.5,
        score_thresh: float = 0.05,
        nms_thresh: float = 0.5,
        detections_per_img: int = 100,
        image_mean: tuple[float, float, float] = IMAGENET_MEAN,
        image_std: tuple[float, float, float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        check_yolo_options(num_classes, anchors)
        self.num_classes = num_classes
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32))  # [A, 2]
        self.loss_weights = {"lambda_coord": lambda_coord, "lambda_noobj": lambda_noobj}
        self.detection_settings = {
            "score_thresh": score_thresh,
            "nms_thresh": nms_thresh,
            "detections_per_img": detections_per_img,
        }
        self.image_mean, self.image_std = tuple(image_mean), tuple(image_std)
        self.backbone = vgg16_backbone(width)
        init_from_scratch(self.backbone)
        convolutions = [layer for layer in self.backbone.modules() if isinstance(layer, nn.Conv2d)]
        channels = convolutions[-1].out_channels
        outputs = len(anchors) * (5 + num_classes - 1)
        self.head = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, outputs, kernel_size=1),
        )
        with torch.no_grad():  # objectness starts near 1% (RetinaNet's prior): calm first steps
            self.head[-1].bias.view(len(anchors), -1)[:, 4] = -math.log(99.0)

    def forward(
        self, images: Tensor | Sequence[Tensor], targets: Sequence[dict[str, Tensor]] | None = None
    ) -> dict[str, Tensor] | list[dict[str, Tensor]]:
        """Losses in training mode, detections in evaluation mode (decided by ``self.training``).

        Args:
            images: Tensor[B, 3, H, W] or a list of B tensors [3, H_i, W_i], float in [0, 1].
            targets: in training, one ``{"boxes", "labels"}`` dict per image (lesson 9's).

        Returns:
            Training: ``{"loss_box", "loss_objectness", "loss_no_object", "loss_class"}``,
            0-dim tensors in the model's dtype (target boxes of another float dtype are
            converted to it first).
            Evaluation: a list of B dicts with ``"boxes"`` Tensor[D, 4], ``"scores"`` Tensor[D]
            and ``"labels"`` Tensor[D] int64 (1..C-1), boxes inside each image.

        Raises:
            ValueError: in training mode without valid targets.
        """
        # TODO: batch_images; in training, check_targets; raw = self.head(self.backbone(batch))
        #   is [B, A * (5 + K), H', W']: permute and reshape it to [B, H', W', A, 5 + K]. Training:
        #   grid_targets of each image (STRIDE, self.anchors), stacked key by key, then yolo_loss
        #   with self.loss_weights. Evaluation: per image, decode_grid with its own size, then
        #   yolo_postprocess with self.detection_settings, into {"boxes", "scores", "labels"}.
        raise NotImplementedError
