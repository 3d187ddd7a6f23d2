"""Lesson 11 — instances: boxes become masks (the course's detector prompts the course's SAM).

A detector says *where* each object is and *what* it is, as a box; SAM says *which pixels* are
the thing a box points at. Chained, they are an instance segmenter without a single
instance-mask label: detect, turn each box into a SAM box prompt, segment, paste the masks back
at image resolution (the Grounded-SAM pattern, with the course's Faster R-CNN or YOLO as the
detector). This lesson builds the glue — and the glue is where the frames get mixed up: the
detector's boxes live in image pixels, SAM's prompts in the pixels of its square input, SAM's
masks on a grid four times coarser still. It ends with the metric: mask AP, lesson 3's AP with
mask IoU in place of box IoU.

Notation:
    N            detections of one image (``boxes``, ``scores``, ``labels``)
    H, W         image height and width in pixels; ``image_size = (H, W)``
    S            side of SAM's square input (``given.sam.input_size(model)``: 256 for the
                 course's tiny SAM, 1024 for real SAM); the image is resized to ``S x S``
    h, w         size of SAM's low-resolution mask logits (``S / 4`` each)
    boxes        float ``[N, 4]`` ``(x1, y1, x2, y2)`` in continuous pixel-edge coordinates
                 (pixel ``i`` spans ``[i, i + 1)``), in image pixels unless said otherwise
    masks        Tensor[N, H, W] bool, one per instance
    logits       raw mask scores before the sigmoid; ``logit > 0`` is ``probability > 0.5``
    IoU(A, B)    |A ∩ B| / |A ∪ B| of two masks, counted in pixels

Given code: ``given.sam`` (``input_size``; ``pixel_values``, which resizes and normalises
images for SAM; and ``sam_inputs``, whose box scaling the prompts must follow) and lesson 3's
``average_precision`` (the ``metrics`` module next to this one).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given import sam

from . import metrics

__all__ = [  # noqa: RUF022 (the order of the exercises: the pipeline, then the metric)
    "boxes_to_prompts",
    "paste_masks",
    "mask_iou_matrix",
    "mask_average_precision",
    "segment_instances",
]


def boxes_to_prompts(boxes: Tensor, image_size: Sequence[int], input_size: int) -> Tensor:
    """Detector boxes (image pixels) to SAM box prompts (pixels of SAM's ``S x S`` input).

    Each box is first clipped to the image, ``0 <= x <= W`` and ``0 <= y <= H`` (a detector's
    box may stick out of it; SAM's prompt encoder expects points inside its input), then scaled
    the way ``given.sam.sam_inputs`` resizes the image to ``S x S``: x by ``S / W``, y by
    ``S / H`` (a non-square image is stretched, and its boxes with it).

    Args:
        boxes: Tensor[N, 4] ``(x1, y1, x2, y2)``, pixel edges, in image pixels (``N`` may be 0).
        image_size: ``(H, W)``, the image's height and width.
        input_size: ``S``, the side of SAM's square input.

    Returns:
        Tensor[N, 4] ``(x1, y1, x2, y2)`` in input pixels, every coordinate in ``[0, S]``; float
        boxes keep their dtype (integer ones become float32) and the result is on their device.
        ``N = 0`` gives an empty ``[0, 4]`` tensor.

    Raises:
        ValueError: if ``boxes`` is not ``[N, 4]``, or a size is not positive.
    """
    # TODO: check the shapes and sizes (ValueError); make the boxes float if they are not; clamp x1,
    #   x2 to [0, W] and y1, y2 to [0, H] (boxes[:, 0::2] are the x's); then multiply the x's by
    #   S / W and the y's by S / H, as given.sam.sam_inputs scales its boxes. Return the
    #   four columns in the order (x1, y1, x2, y2).
    raise NotImplementedError


def paste_masks(
    low_res_logits: Tensor, scores: Tensor, image_size: Sequence[int], threshold: float = 0.0
) -> Tensor:
    """SAM's low-resolution logits, one per prompt, to non-overlapping instance masks.

    The *logits* are upsampled bilinearly to ``H x W`` (``align_corners=False``, as lesson 4's
    ``upsample_logits``; upsampling thresholded masks instead gives blocky edges), and a pixel
    belongs to an instance where its logit is above ``threshold`` (strictly). Where several
    instances claim a pixel, it goes to the one with the highest detection score (equal scores:
    the earlier index), so the returned masks never overlap — one object label per pixel, as
    in VOC's ``SegmentationObject`` images.

    Args:
        low_res_logits: Tensor[N, h, w] float, SAM's mask logits (any ``h, w``).
        scores: Tensor[N] float, the detection score of each instance.
        image_size: ``(H, W)``, the image's height and width.
        threshold: logit above which a pixel is claimed (0.0: probability above 0.5).

    Returns:
        Tensor[N, H, W] bool on the logits' device, pairwise disjoint. ``N = 0`` gives an empty
        ``[0, H, W]`` tensor.

    Raises:
        ValueError: if ``low_res_logits`` is not ``[N, h, w]`` or ``scores`` is not ``[N]``.
    """
    # TODO: check the shapes; N = 0 returns torch.zeros((0, H, W), dtype=torch.bool). Upsample the
    #   logits with F.interpolate(low_res_logits[:, None], size=(H, W), mode='bilinear',
    #   align_corners=False), threshold them (> threshold: logits, not probabilities), then
    #   settle the overlaps: rank the instances by score (argsort descending, stable), put each
    #   claiming instance's rank at its pixels (N where it does not claim), and keep a claim
    #   only where it has the best (smallest) rank of the pixel. No Python loop over pixels.
    raise NotImplementedError


def mask_iou_matrix(masks1: Tensor, masks2: Tensor) -> Tensor:
    """Pairwise IoU of two sets of binary masks of the same image size.

    Args:
        masks1: Tensor[N, H, W] bool or {0, 1} (``N`` may be 0).
        masks2: Tensor[M, H, W] bool or {0, 1} (``M`` may be 0).

    Returns:
        Tensor[N, M]: ``|A ∩ B| / |A ∪ B|`` of every pair, in [0, 1]; 0.0 where both masks are
        empty (an empty mask overlaps nothing; lesson 3's per-sample ``mask_iou`` says 1.0
        there, which would let an empty prediction match an empty ground truth). float32, or
        the floating dtype of the inputs when they are floating (both: the promoted one);
        ``N = 0`` or ``M = 0`` gives an empty ``[N, M]`` result.

    Raises:
        ValueError: if a set is not ``[K, H, W]`` or the two image sizes differ.
    """
    # TODO: check the shapes (ValueError); flatten each mask to a row of H*W values in {0, 1}
    #   (float); the intersection of every pair is one matrix product, rows1 @ rows2.T; the
    #   union is area1[:, None] + area2[None, :] minus the intersection; divide by the union
    #   clamped at 1 (both empty -> 0) and return in the dtype the docstring says.
    raise NotImplementedError


def mask_average_precision(
    detections: list[dict[str, Tensor]],
    ground_truths: list[dict[str, Tensor]],
    iou_threshold: float = 0.5,
    *,
    num_classes: int,
) -> dict[str, object]:
    """Mask AP: lesson 3's ``mean_average_precision`` with mask IoU in place of box IoU.

    Everything but the overlap is lesson 3's PASCAL VOC devkit matching. For each class,
    detections of all images are ranked by decreasing score (a stable sort: tied detections
    keep their order, image by image, then as given). In that order, each detection is compared
    with *every* ground truth of its class in its image (IoU of the masks, ``mask_iou_matrix``)
    and takes the one with the highest IoU (the first of equal IoUs):

    * if that IoU is below ``iou_threshold`` (or the image has no ground truth of the class), the
      detection is a false positive;
    * else, if that ground truth is ``difficult``, the detection is ignored (neither true nor
      false positive);
    * else, if that ground truth is still unmatched, the detection is a true positive and the
      ground truth becomes matched;
    * else (already matched by a higher-scoring detection) it is a false positive — it does *not*
      fall back to another ground truth (COCO's rule would).

    Recall counts the non-``difficult`` ground truths. AP is lesson 3's ``average_precision`` of
    the resulting curve. On masks that are filled boxes, mask AP equals lesson 3's box AP.

    Args:
        detections: one dict per image: ``masks`` Tensor[D, H, W] bool, ``scores`` Tensor[D],
            ``labels`` Tensor[D] int in 1..num_classes (other keys, such as ``boxes``, are not
            used).
        ground_truths: one dict per image (same order): ``masks`` Tensor[G, H, W] bool or
            {0, 1}, ``labels`` Tensor[G] int in 1..num_classes, optionally ``difficult``
            Tensor[G] bool (missing means none is difficult).
        iou_threshold: minimum mask IoU for a match (a detection at exactly this IoU matches).
        num_classes: number of object classes (class 0 is background and is not scored).

    Returns:
        ``{"map": float, "ap": {class: float}}`` — ``ap`` holds the classes that have at least
        one non-``difficult`` ground truth (a class with ground truth but no detection has AP
        0.0 and counts in the mean); ``map`` is their mean (0.0 if there are none).

    Raises:
        ValueError: if ``detections`` and ``ground_truths`` have different lengths, or an
            image's detection and ground-truth masks differ in size.
    """
    # TODO: start from your lesson 3 mean_average_precision (lessons/metrics.py): the same loops
    #   over classes and images and the same matching, with masks in place of boxes and
    #   mask_iou_matrix in place of box_iou; call metrics.average_precision for the area. First
    #   raise ValueError for an image whose detection and ground-truth masks differ in H, W.
    raise NotImplementedError


def segment_instances(
    model: torch.nn.Module,
    image: Tensor,
    detection: dict[str, Tensor],
    score_thresh: float = 0.5,
) -> dict[str, Tensor]:
    """Instance masks for one image's detections: detect -> prompt -> segment -> paste.

    Keeps the detections whose score is above ``score_thresh`` (strictly, as lesson 8's
    ``postprocess_detections``), runs SAM *once* for all of them — the image resized to
    ``S x S`` (bilinear, ``align_corners=False``) and normalised with SAM's ``IMAGE_MEAN`` /
    ``IMAGE_STD`` (given: ``given.sam.pixel_values``), the kept boxes as ``input_boxes`` of
    shape ``[1, K, 4]`` made by ``boxes_to_prompts``, ``multimask_output=False`` — and turns
    the ``K`` low-resolution masks into image-size masks with ``paste_masks`` (default
    threshold, the kept scores). Runs without gradients; the model is used as it is (its
    train/eval mode is the caller's).

    Args:
        model: a ``SamModel`` (``bam.sam_model.load_sam``).
        image: Tensor[3, H, W] float in [0, 1].
        detection: a detector's output for the image: ``boxes`` Tensor[N, 4] (x1, y1, x2, y2,
            pixel edges, image pixels), ``scores`` Tensor[N], ``labels`` Tensor[N] (other keys
            are ignored).
        score_thresh: detections scoring this or less are dropped.

    Returns:
        ``{"boxes": [K, 4], "scores": [K], "labels": [K], "masks": [K, H, W] bool}`` — the kept
        detections in their original order (boxes unclipped, as given), masks on the device of
        the detection's boxes. ``K = 0`` gives empty tensors (``masks`` ``[0, H, W]``) and does
        not call the model.

    Raises:
        ValueError: if ``image`` is not ``[3, H, W]`` or the detection's tensors do not fit
            ``[N, 4]``, ``[N]``, ``[N]``.
    """
    # TODO: check the image and the detection's shapes; keep = scores > score_thresh (lesson 8's
    #   rule) and apply it to boxes, scores and labels; K = 0 returns empty tensors without
    #   calling the model. Else, inside torch.no_grad(): the given
    #   given.sam.pixel_values(model, image[None]) resizes the image to S x S and normalises
    #   it on the model's device and dtype; make the prompts with boxes_to_prompts (on the
    #   model's device and dtype); call model(pixel_values=..., input_boxes=prompts[None],
    #   multimask_output=False); outputs.pred_masks is [1, K, 1, h, w]; paste the [K, h, w]
    #   logits with paste_masks and the kept scores.
    raise NotImplementedError
