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
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be Tensor[N, 4], got shape {tuple(boxes.shape)}")
    if len(image_size) != 2 or min(int(image_size[0]), int(image_size[1])) <= 0:
        raise ValueError(f"image_size must be (H, W) with H, W > 0, got {tuple(image_size)}")
    if int(input_size) <= 0:
        raise ValueError(f"input_size must be > 0, got {input_size}")
    height, width, side = int(image_size[0]), int(image_size[1]), int(input_size)
    boxes = boxes if boxes.is_floating_point() else boxes.float()  # [N, 4] float
    x = boxes[:, 0::2].clamp(min=0, max=width) * (side / width)  # [N, 2]: x1, x2 in input px
    y = boxes[:, 1::2].clamp(min=0, max=height) * (side / height)  # [N, 2]: y1, y2 in input px
    return torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)  # [N, 4]


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
    if low_res_logits.dim() != 3:
        raise ValueError(
            f"low_res_logits must be Tensor[N, h, w], got shape {tuple(low_res_logits.shape)}"
        )
    if scores.shape != low_res_logits.shape[:1]:
        raise ValueError(
            f"scores must be Tensor[N] with N={len(low_res_logits)}, got shape"
            f" {tuple(scores.shape)}"
        )
    height, width = int(image_size[0]), int(image_size[1])
    count = len(low_res_logits)
    if count == 0:
        return torch.zeros((0, height, width), dtype=torch.bool, device=low_res_logits.device)
    logits = F.interpolate(
        low_res_logits[:, None], size=(height, width), mode="bilinear", align_corners=False
    )[:, 0]  # [N, H, W]: upsample the logits, then threshold
    claimed = logits > threshold  # [N, H, W]
    order = scores.argsort(descending=True, stable=True)  # [N]: rank -> instance (ties: earlier)
    rank = torch.empty_like(order)  # [N]: instance -> rank, 0 for the best score
    rank[order] = torch.arange(count, device=order.device)
    ranks = torch.where(claimed, rank.to(logits.device)[:, None, None], count)  # [N, H, W]
    best = ranks.min(dim=0, keepdim=True).values  # [1, H, W]: best rank claiming each pixel
    return claimed & (ranks == best)  # [N, H, W]: only the best claimant keeps a pixel


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
    if masks1.dim() != 3 or masks2.dim() != 3:
        raise ValueError(
            f"masks must be Tensor[N, H, W] and Tensor[M, H, W], got shapes"
            f" {tuple(masks1.shape)} and {tuple(masks2.shape)}"
        )
    if masks1.shape[-2:] != masks2.shape[-2:]:
        raise ValueError(
            f"the masks must have the same H, W, got {tuple(masks1.shape[-2:])} and"
            f" {tuple(masks2.shape[-2:])}"
        )
    floating = [m.dtype for m in (masks1, masks2) if m.is_floating_point()] or [torch.float32]
    dtype = torch.promote_types(floating[0], floating[-1])  # float32 unless the inputs are float
    work = torch.float64 if dtype == torch.float64 else torch.float32  # exact pixel counts
    a = masks1.flatten(1).bool().to(work)  # [N, H*W] in {0, 1}
    b = masks2.flatten(1).bool().to(work)  # [M, H*W]
    intersection = a @ b.T  # [N, M]: pixels in both
    union = a.sum(dim=1)[:, None] + b.sum(dim=1)[None, :] - intersection  # [N, M]
    return (intersection / union.clamp(min=1)).to(dtype)  # both empty: 0 / 1 = 0


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
    if len(detections) != len(ground_truths):
        raise ValueError(
            f"{len(detections)} detection dicts but {len(ground_truths)} ground-truth dicts:"
            " pass one of each per image"
        )
    for index, (detection, truth) in enumerate(zip(detections, ground_truths, strict=True)):
        if detection["masks"].shape[-2:] != truth["masks"].shape[-2:]:
            raise ValueError(
                f"image {index}: detection masks are {tuple(detection['masks'].shape[-2:])},"
                f" ground-truth masks {tuple(truth['masks'].shape[-2:])}: they must be the same H, W"
            )
    ap_per_class: dict[int, float] = {}
    for class_id in range(1, num_classes + 1):
        scores, outcomes = [], []  # per image: scores [D'], outcome [D'] (1 TP, 0 FP, -1 ignored)
        num_positives = 0  # non-difficult ground truths of the class, over all images
        for detection, truth in zip(detections, ground_truths, strict=True):
            of_class = truth["labels"] == class_id  # [G]
            truth_masks = truth["masks"][of_class]  # [G', H, W]
            difficult = truth.get("difficult", torch.zeros_like(truth["labels"], dtype=torch.bool))
            difficult = difficult[of_class].bool()  # [G']
            num_positives += int((~difficult).sum())
            keep = detection["labels"] == class_id  # [D]
            masks, class_scores = detection["masks"][keep], detection["scores"][keep]  # [D', H, W]
            order = class_scores.argsort(descending=True, stable=True)  # [D']
            masks, class_scores = masks[order], class_scores[order]
            outcome = torch.zeros(len(masks), dtype=torch.int64)  # [D']: FP unless matched below
            if len(truth_masks) and len(masks):
                ious = mask_iou_matrix(masks, truth_masks)  # [D', G']
                best_iou, best = ious.max(dim=1)  # [D'] each: its best ground truth
                matched = torch.zeros(len(truth_masks), dtype=torch.bool)  # [G']
                for index in range(len(masks)):  # in decreasing score: a loop over one image
                    if best_iou[index] < iou_threshold:
                        continue  # false positive
                    target = best[index]
                    if difficult[target]:
                        outcome[index] = -1  # ignored: neither TP nor FP
                    elif not matched[target]:
                        outcome[index] = 1
                        matched[target] = True
                    # else: its best ground truth is taken -> false positive (no fall-back)
            scores.append(class_scores.cpu())
            outcomes.append(outcome)
        if num_positives == 0:
            continue
        all_scores, all_outcomes = torch.cat(scores), torch.cat(outcomes)  # [D_class]
        counted = all_outcomes >= 0  # drop the ignored detections
        all_scores, all_outcomes = all_scores[counted], all_outcomes[counted]
        order = all_scores.argsort(descending=True, stable=True)  # [D_class]
        hits = all_outcomes[order].float()  # [D_class]: 1 TP, 0 FP, in rank order
        true_positives = hits.cumsum(0)  # [D_class]
        ranks = torch.arange(1, len(hits) + 1, dtype=torch.float32)  # [D_class]
        ap_per_class[class_id] = metrics.average_precision(
            true_positives / num_positives, true_positives / ranks
        )
    mean = sum(ap_per_class.values()) / len(ap_per_class) if ap_per_class else 0.0
    return {"map": mean, "ap": ap_per_class}


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
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be Tensor[3, H, W], got shape {tuple(image.shape)}")
    boxes, scores, labels = detection["boxes"], detection["scores"], detection["labels"]
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or scores.shape != boxes.shape[:1]:
        raise ValueError(
            f"detection must hold boxes [N, 4], scores [N], labels [N], got shapes"
            f" {tuple(boxes.shape)}, {tuple(scores.shape)}, {tuple(labels.shape)}"
        )
    if labels.shape != scores.shape:
        raise ValueError(f"labels must be Tensor[N] like scores, got {tuple(labels.shape)}")
    keep = scores > score_thresh  # [N]: lesson 8's rule
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]  # [K, 4], [K], [K]
    height, width = image.shape[-2:]
    if len(boxes) == 0:
        masks = torch.zeros((0, height, width), dtype=torch.bool, device=boxes.device)
        return {"boxes": boxes, "scores": scores, "labels": labels, "masks": masks}
    parameter = next(model.parameters())
    side = sam.input_size(model)  # S
    with torch.no_grad():
        pixel_values = sam.pixel_values(model, image[None])  # [1, 3, S, S]
        prompts = boxes_to_prompts(boxes, (height, width), side)  # [K, 4] in input pixels
        prompts = prompts.to(device=parameter.device, dtype=parameter.dtype)
        outputs = model(
            pixel_values=pixel_values, input_boxes=prompts[None], multimask_output=False
        )  # pred_masks: [1, K, 1, h, w]
        low_res = outputs.pred_masks[0, :, 0]  # [K, h, w]
        masks = paste_masks(low_res, scores.to(low_res.device), (height, width))  # [K, H, W]
    return {"boxes": boxes, "scores": scores, "labels": labels, "masks": masks.to(boxes.device)}
