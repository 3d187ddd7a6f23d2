"""When two boxes claim one cell and anchor, the last box written keeps it, whatever its size."""

from solutions import yolo

EXERCISE = "yolo.grid_targets"
ORIGINAL = yolo.grid_targets


def grid_targets(boxes, labels, grid_size, stride, anchors):
    result = ORIGINAL(boxes[:0], labels[:0], grid_size, stride, anchors)
    for index in range(len(boxes)):
        one = ORIGINAL(
            boxes[index : index + 1], labels[index : index + 1], grid_size, stride, anchors
        )
        where = one["responsible"]
        for key in result:
            result[key][where] = one[key][where]
    return result
