"""One box convention everywhere: continuous pixel edges (pixel ``i`` spans ``[i, i + 1)``).

For every transform the pipelines apply, "transform the mask, then take its box" equals "take
its box, then transform the box". The edge box of a mask is torchvision's ``masks_to_boxes``
(inclusive maximum) plus ``(0, 0, 1, 1)``. Run on the reference solutions and the given code.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import box_area, masks_to_boxes

from bam.configs import SHAPES_ROOT
from bam.data.datasets import DetectionFolder
from bam.data.synthetic import SHAPES_CLASSES
from bam.pipelines.detector import hflip_batch
from solutions import augment, dataset

EDGE = torch.tensor([0.0, 0.0, 1.0, 1.0])


def edge_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Pixel-edge boxes of ``[N, H, W]`` masks."""
    return masks_to_boxes(masks) + EDGE


@st.composite
def masked_images(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """An image and one rectangle-or-blob mask that touches a border now and then."""
    height, width = draw(st.integers(4, 24)), draw(st.integers(4, 24))
    x1, y1 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
    x2, y2 = draw(st.integers(x1 + 1, width)), draw(st.integers(y1 + 1, height))
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[y1:y2, x1:x2] = True
    holes = draw(st.lists(st.tuples(st.integers(0, height - 1), st.integers(0, width - 1))))
    for row, column in holes:  # punch holes; the box is still the box of what remains
        mask[row, column] = False
    if not mask.any():
        mask[y1, x1] = True
    image = torch.rand(3, height, width, generator=torch.Generator().manual_seed(height * width))
    return image, mask


@settings(max_examples=60, deadline=None)
@given(masked_images())
def test_flips_and_turns_commute_with_taking_the_box(case):
    image, mask = case
    box = edge_boxes(mask[None])
    for name, transform in [
        ("hflip", augment.hflip),
        ("vflip", augment.vflip),
        *[(f"rot90 k={k}", lambda i, m, b, k=k: augment.rot90(i, m, b, k)) for k in (1, 2, 3)],
    ]:
        _, moved_mask, moved_box = transform(image, mask, box)
        assert torch.equal(moved_box, edge_boxes(moved_mask[None])), name


@settings(max_examples=60, deadline=None)
@given(masked_images(), st.integers(0, 2**16))
def test_random_crop_commutes_with_taking_the_box(case, seed):
    image, mask = case
    height, width = mask.shape
    size = (max(1, height // 2), max(1, width // 2))
    box = edge_boxes(mask[None])
    generator = torch.Generator().manual_seed(seed)
    _, cropped_mask, cropped_box, kept = augment.random_crop(image, mask, box, size, generator)
    if cropped_mask.any():
        # the crop clips the box, not the mask's pixels, so the clipped box covers the
        # cropped mask's box; they are equal for a solid rectangle
        assert kept.tolist() == [0]
        tight = edge_boxes(cropped_mask[None])[0]
        assert (cropped_box[0, :2] <= tight[:2]).all() and (cropped_box[0, 2:] >= tight[2:]).all()
    solid = torch.zeros_like(mask)
    x1, y1, x2, y2 = box[0].long().tolist()
    solid[y1:y2, x1:x2] = True
    generator = torch.Generator().manual_seed(seed)
    _, cropped_solid, cropped_box, kept = augment.random_crop(image, solid, box, size, generator)
    if cropped_solid.any():
        assert torch.equal(cropped_box, edge_boxes(cropped_solid[None]))
    else:
        assert len(kept) == 0


@settings(max_examples=40, deadline=None)
@given(masked_images(), st.sampled_from([2, 3]))
def test_integer_upscale_commutes_with_taking_the_box(case, factor):
    """Nearest upscaling by a whole factor maps pixel i to pixels factor*i .. factor*i + factor - 1."""
    _, mask = case
    height, width = mask.shape
    big = F.interpolate(mask[None, None].float(), scale_factor=factor, mode="nearest")[0, 0] > 0.5
    resized = dataset.resize_boxes(edge_boxes(mask[None]), (height, width), tuple(big.shape))
    assert torch.equal(resized, edge_boxes(big[None]))


@settings(max_examples=40, deadline=None)
@given(masked_images(), st.integers(0, 2**16))
def test_albumentations_pipeline_commutes_with_taking_the_box(case, seed):
    image, mask = case
    pipeline = augment.build_pipeline(True)
    pipeline.set_random_seed(seed)
    box = edge_boxes(mask[None]).numpy()
    out = pipeline(
        image=image.permute(1, 2, 0).numpy(),
        mask=mask.numpy().astype(np.uint8),
        bboxes=box,
        labels=[1],
    )
    moved = torch.as_tensor(np.asarray(out["bboxes"]), dtype=torch.float32).reshape(-1, 4)
    expected = edge_boxes(torch.as_tensor(out["mask"]).bool()[None])
    torch.testing.assert_close(moved, expected, atol=1e-4, rtol=0)


@settings(max_examples=30, deadline=None)
@given(st.lists(masked_images(), min_size=1, max_size=3), st.integers(0, 7))
def test_training_loops_flip_commutes_with_taking_the_box(cases, pattern):
    """bam's batch flip (the detector's training loop) moves boxes exactly as the pixels."""
    height, width = 24, 24
    images, targets, masks = [], [], []
    for _image, mask in cases:
        canvas = torch.zeros(height, width, dtype=torch.bool)
        canvas[: mask.shape[0], : mask.shape[1]] = mask
        masks.append(canvas)
        images.append(torch.rand(3, height, width))
        targets.append({"boxes": edge_boxes(canvas[None]), "labels": torch.tensor([1])})
    flip = torch.tensor([bool(pattern >> i & 1) for i in range(len(cases))])
    _, flipped = hflip_batch(torch.stack(images), targets, flip, augment.hflip)
    for mask, target, mirror in zip(masks, flipped, flip.tolist(), strict=True):
        moved = mask.flip(-1) if mirror else mask
        assert torch.equal(target["boxes"], edge_boxes(moved[None]))


def test_one_pixel_object_has_unit_area():
    mask = torch.zeros(1, 5, 7, dtype=torch.bool)
    mask[0, 3, 4] = True
    box = edge_boxes(mask)
    assert box.tolist() == [[4.0, 3.0, 5.0, 4.0]]
    assert float(box_area(box)[0]) == 1.0


@pytest.mark.parametrize("split", ["train", "test"])
def test_bundled_boxes_are_within_the_image_edges(split):
    folder = DetectionFolder(SHAPES_ROOT, split, classes=SHAPES_CLASSES)
    for position in range(0, len(folder), 17):
        image, target = folder[position]
        boxes = target["boxes"]
        height, width = image.shape[-2:]
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all()
        assert (boxes[:, 3] <= height).all() and (box_area(boxes) >= 1).all()
