"""Union computed as pred + target on float masks, so overlapping pixels count twice."""

EXERCISE = "metrics.mask_iou"


def mask_iou(pred, target):
    pred, target = pred.float(), target.float()
    intersection = (pred * target).sum(dim=(-2, -1))
    union = (pred + target).sum(dim=(-2, -1))
    iou = intersection / union.clamp(min=1)
    return iou.where(union > 0, iou.new_ones(()))
