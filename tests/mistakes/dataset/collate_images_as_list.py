"""Images returned as a list, like the targets: the backbone cannot take a batch tensor."""

EXERCISE = "dataset.collate_detection"


def collate_detection(batch):
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
