"""IoU pooled over the whole batch (one number) instead of one value per sample."""

EXERCISE = "metrics.mask_iou"


def mask_iou(pred, target):
    pred, target = pred.bool(), target.bool()
    intersection = (pred & target).sum().float()
    union = (pred | target).sum().float()
    return (intersection / union.clamp(min=1)).expand(pred.shape[:-2])
