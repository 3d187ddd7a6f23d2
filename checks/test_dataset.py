"""Checks for lesson 1, ``dataset``: splits, loading image/mask pairs, resizing boxes, collating.

Oracles: ``torchvision.ops.masks_to_boxes``, ``torch.nn.functional.interpolate`` on the exact
pixels of a lossless PNG, ``torch.stack``, set properties of a split (disjoint, covering,
reproducible), resizing there and back, and small cases worked out by hand.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader

from checks.harness import exercise, expect, expect_close, expect_tensor, student
from checks.scoring import holds_for_constants
from checks.strategies import boxes, masks

# ----------------------------------------------------------------------------- strategies

TEST_RATIOS = (0.0, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.7, 0.9, 1.0)


@st.composite
def split_cases(draw: st.DrawFn) -> tuple[int, float, int]:
    """``(n, test_ratio, seed)``: small and medium data sets, usual and awkward ratios."""
    n = draw(st.integers(0, 300))
    ratio = draw(st.sampled_from(TEST_RATIOS) | st.floats(0.0, 1.0))
    return n, ratio, draw(st.integers(0, 2**31 - 1))


@st.composite
def image_files(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """``(height, width, size, pixel_seed)`` of an image/mask pair to write and load."""
    height = draw(st.integers(4, 72))
    width = draw(st.integers(4, 72))
    size = draw(st.integers(2, 96))
    return height, width, size, draw(st.integers(0, 2**16))


@st.composite
def resize_cases(draw: st.DrawFn) -> tuple[Tensor, tuple[int, int], tuple[int, int]]:
    """Boxes on an old image and the ``(h, w)`` sizes of the old and the new image."""
    old = (draw(st.integers(8, 640)), draw(st.integers(8, 640)))
    new = (draw(st.integers(8, 640)), draw(st.integers(8, 640)))
    return draw(boxes(max_count=6, canvas=min(old))), old, new


def write_pair(
    folder: Path, height: int, width: int, pixel_seed: int
) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A lossless RGB PNG and a grey PNG mask whose levels sit on both sides of 127."""
    rng = np.random.default_rng(pixel_seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    levels = np.array([0, 1, 100, 127, 128, 129, 200, 255], dtype=np.uint8)
    mask_levels = levels[rng.integers(0, levels.size, size=(height, width))]
    image_path, mask_path = folder / "image.png", folder / "mask.png"
    Image.fromarray(pixels).save(image_path)
    Image.fromarray(mask_levels, mode="L").save(mask_path)
    return image_path, mask_path, pixels, mask_levels


def expected_pair(pixels: np.ndarray, mask_levels: np.ndarray, size: int) -> tuple[Tensor, Tensor]:
    """What the docstring asks for, with torch: antialiased bilinear image, nearest-exact mask."""
    image = torch.from_numpy(pixels).permute(2, 0, 1).float()[None] / 255
    image = F.interpolate(
        image, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    mask = torch.from_numpy(mask_levels > 127).float()[None, None]
    mask = F.interpolate(mask, size=(size, size), mode="nearest-exact")
    return image[0].clamp(0, 1), mask[0, 0]


# ----------------------------------------------------------------------------- train_test_split


@exercise("dataset.train_test_split", points=2)
@settings(max_examples=60)
@given(split_cases())
def test_split_is_disjoint_covering_and_sized(case):
    """train and test are disjoint, cover 0..n-1 and train has int((1 - test_ratio) * n) indices."""
    train_test_split = student("dataset.train_test_split")
    n, ratio, seed = case
    train, test = train_test_split(n, test_ratio=ratio, seed=seed)
    for name, part in (("train_idx", train), ("test_idx", test)):
        expect_tensor(part, f"train_test_split(...) {name}", dtype=torch.int64)
        expect(part.dim() == 1, f"{name} should be 1-D, got shape {tuple(part.shape)}")
    expected_train = int((1 - ratio) * n)
    expect(
        len(train) == expected_train,
        f"with n={n} and test_ratio={ratio!r}, train should hold int((1 - test_ratio) * n) ="
        f" {expected_train} indices, got {len(train)}",
    )
    together = torch.cat([train, test]).sort().values
    expect(
        torch.equal(together, torch.arange(n)),
        f"train and test together should hold each index 0..{n - 1} exactly once"
        " (no index twice, none missing, none out of range)",
    )


@holds_for_constants
@exercise("dataset.train_test_split", points=1)
@settings(max_examples=20)
@given(st.integers(2, 200), st.integers(0, 2**31 - 1))
def test_split_is_reproducible(n, seed):
    """The same seed gives the same split, whatever torch's global random state."""
    train_test_split = student("dataset.train_test_split")
    torch.manual_seed(1)
    first = train_test_split(n, 0.2, seed)
    torch.manual_seed(2)
    torch.rand(10)
    second = train_test_split(n, 0.2, seed)
    expect(
        torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]),
        f"train_test_split({n}, 0.2, seed={seed}) gave two different splits: seed a"
        " torch.Generator with `seed` instead of using the global random state",
    )


@exercise("dataset.train_test_split", points=1)
def test_split_is_random_and_follows_the_seed():
    """Different seeds give different splits, and the test part is not a fixed block."""
    train_test_split = student("dataset.train_test_split")
    tests = [train_test_split(100, 0.2, seed)[1].sort().values for seed in range(6)]
    distinct = {tuple(test.tolist()) for test in tests}
    expect(len(distinct) > 1, "seeds 0..5 all gave the same split: the seed must drive the shuffle")
    blocks = [torch.arange(80, 100), torch.arange(0, 20)]
    expect(
        not any(torch.equal(test, block) for test in tests for block in blocks),
        "the test part is a contiguous block of indices (first or last 20 of 100): shuffle first",
    )


# ------------------------------------------------------------------------ load_segmentation_pair


@exercise("dataset.load_segmentation_pair", points=3)
@settings(max_examples=15)
@given(image_files())
def test_load_pair_resizes_image_and_mask(case):
    """The image is resized bilinear (antialiased) to [0, 1]; the mask nearest-exact and > 127."""
    load_segmentation_pair = student("dataset.load_segmentation_pair")
    height, width, size, pixel_seed = case
    with tempfile.TemporaryDirectory() as folder:
        image_path, mask_path, pixels, levels = write_pair(Path(folder), height, width, pixel_seed)
        result = load_segmentation_pair(image_path, mask_path, size)
    expect(
        isinstance(result, tuple) and len(result) == 2,
        "load_segmentation_pair should return (image, mask)",
    )
    image, mask = result
    expected_image, expected_mask = expected_pair(pixels, levels, size)
    expect_tensor(image, "the image", shape=(3, size, size))
    expect(image.is_floating_point(), f"the image should be float in [0, 1], got {image.dtype}")
    expect(
        float(image.max()) <= 1.0 and float(image.min()) >= 0.0,
        "image values should be in [0, 1] (divide by 255)",
    )
    expect_close(
        image,
        expected_image,
        "image pixels (bilinear with antialias, like Pillow's BILINEAR)",
        atol=2.5 / 255,
        rtol=0,
    )
    expect_tensor(mask, "the mask", shape=(size, size))
    expect(
        mask.is_floating_point(), f"the mask should be float with values 0 and 1, got {mask.dtype}"
    )
    values = set(mask.unique().tolist())
    expect(
        values <= {0.0, 1.0}, f"the mask should hold only 0 and 1, got values {sorted(values)[:6]}"
    )
    wrong = float((mask != expected_mask).float().mean())
    expect(
        wrong <= 0.01,
        f"{wrong:.0%} of mask pixels differ from the mask thresholded at > 127 and resized with"
        " nearest-neighbour sampling at pixel centres (mode='nearest-exact', Pillow's NEAREST)",
    )


@exercise("dataset.load_segmentation_pair", points=1)
def test_load_pair_jpeg_and_grey_files():
    """A grey image becomes 3 channels and a JPEG mask still loads as exactly 0 and 1."""
    load_segmentation_pair = student("dataset.load_segmentation_pair")
    grey = np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))  # [30, 40]
    mask = np.zeros((30, 40), np.uint8)
    mask[5:20, 8:30] = 255
    with tempfile.TemporaryDirectory() as folder:
        image_path, mask_path = Path(folder) / "grey.png", Path(folder) / "mask.jpg"
        Image.fromarray(grey, mode="L").save(image_path)
        Image.fromarray(mask, mode="L").save(mask_path, quality=75)
        image, loaded = load_segmentation_pair(image_path, mask_path, 20)
        decoded = np.asarray(Image.open(mask_path).convert("L"))
    expect_tensor(image, "the image of a grey file", shape=(3, 20, 20))
    expect(
        torch.equal(image[0], image[1]) and torch.equal(image[1], image[2]),
        "a grey image gives 3 equal channels",
    )
    values = set(loaded.unique().tolist())
    expect(
        values == {0.0, 1.0},
        f"a JPEG mask (soft edges) should load as 0 and 1 only, got {sorted(values)[:6]}",
    )
    _, expected = expected_pair(np.repeat(decoded[..., None], 3, axis=2), decoded, 20)
    expect_close(
        loaded, expected, "the JPEG mask, thresholded at > 127 and resized nearest-exact", atol=0
    )


# ----------------------------------------------------------------------------- resize_boxes


@exercise("dataset.resize_boxes", points=1)
def test_resize_boxes_by_hand():
    """From 100x200 (h x w) to 300x100: x halves, y triples, for every box (not just the first)."""
    resize_boxes = student("dataset.resize_boxes")
    boxes_before = torch.tensor(
        [[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 200.0, 100.0], [50.0, 5.0, 60.0, 15.0]]
    )
    result = resize_boxes(boxes_before, (100, 200), (300, 100))
    expected = torch.tensor(
        [[5.0, 60.0, 15.0, 120.0], [0.0, 0.0, 100.0, 300.0], [25.0, 15.0, 30.0, 45.0]]
    )
    expect_tensor(result, "resize_boxes(boxes, (100, 200), (300, 100))", shape=(3, 4))
    expect_close(result, expected, "boxes resized from (h, w) = (100, 200) to (300, 100)")


@exercise("dataset.resize_boxes", points=2)
@settings(max_examples=50)
@given(resize_cases())
def test_resize_boxes_scales_columns(case):
    """x columns scale by new_w / old_w and y columns by new_h / old_h, in the input's dtype."""
    resize_boxes = student("dataset.resize_boxes")
    boxes_before, old, new = case
    scale = torch.tensor([new[1] / old[1], new[0] / old[0]] * 2)
    result = expect_tensor(
        resize_boxes(boxes_before, old, new), "resize_boxes(...)", shape=tuple(boxes_before.shape)
    )
    expect_close(
        result, boxes_before * scale, f"boxes resized from (h, w) = {old} to {new}", atol=1e-3
    )
    as_double = resize_boxes(boxes_before.double(), old, new)
    expect(
        as_double.dtype == torch.float64,
        f"float64 boxes should stay float64, got {as_double.dtype}",
    )


@holds_for_constants
@exercise("dataset.resize_boxes", points=1)
@settings(max_examples=30)
@given(resize_cases())
def test_resize_boxes_there_and_back(case):
    """Resizing boxes to a new size and back to the old one gives the boxes back."""
    resize_boxes = student("dataset.resize_boxes")
    boxes_before, old, new = case
    there = resize_boxes(boxes_before.double(), old, new)
    back = resize_boxes(there, new, old)
    expect_close(back, boxes_before.double(), f"boxes resized {old} -> {new} -> {old}", atol=1e-6)


# ----------------------------------------------------------------------------- masks_to_boxes


@exercise("dataset.masks_to_boxes", points=2)
@settings(max_examples=80)
@given(masks(max_batch=6, max_side=16, allow_empty=True))
def test_masks_to_boxes_matches_torchvision(batch):
    """Boxes equal torchvision.ops.masks_to_boxes (inclusive max; zeros for an empty mask)."""
    masks_to_boxes = student("dataset.masks_to_boxes")
    result = expect_tensor(
        masks_to_boxes(batch), "masks_to_boxes(masks)", shape=(batch.shape[0], 4)
    )
    expect(result.is_floating_point(), f"boxes should be float, got {result.dtype}")
    expect_close(result, torchvision.ops.masks_to_boxes(batch), "tight box of each mask", atol=0)
    expect_close(
        masks_to_boxes(batch.float()),
        torchvision.ops.masks_to_boxes(batch),
        "boxes of {0, 1} float masks",
        atol=0,
    )


@exercise("dataset.masks_to_boxes", points=1)
def test_masks_to_boxes_by_hand():
    """A one-pixel mask at (x=5, y=2) gives (5, 2, 5, 2); an L shape gives its tight corners."""
    masks_to_boxes = student("dataset.masks_to_boxes")
    batch = torch.zeros(2, 6, 8, dtype=torch.bool)
    batch[0, 2, 5] = True
    batch[1, 1:5, 1] = True
    batch[1, 4, 1:7] = True
    expected = torch.tensor([[5.0, 2.0, 5.0, 2.0], [1.0, 1.0, 6.0, 4.0]])
    expect_close(
        masks_to_boxes(batch),
        expected,
        "boxes (x1, y1, x2, y2), x2 and y2 the last pixel's index",
        atol=0,
    )


# ----------------------------------------------------------------------------- collate_detection


def detection_batch(count: int, sizes: list[int]) -> list[tuple[Tensor, dict[str, Tensor]]]:
    generator = torch.Generator().manual_seed(count)
    batch = []
    for number in range(count):
        image = torch.rand(3, 12, 16, generator=generator)
        boxes_count = sizes[number % len(sizes)]
        target = {
            "boxes": torch.rand(boxes_count, 4, generator=generator) * 8
            + torch.tensor([0, 0, 8, 4]),
            "labels": torch.randint(1, 4, (boxes_count,), generator=generator),
        }
        batch.append((image, target))
    return batch


@exercise("dataset.collate_detection", points=2)
@settings(max_examples=10)
@given(st.integers(1, 5), st.lists(st.integers(0, 4), min_size=1, max_size=5))
def test_collate_stacks_images_keeps_targets(count, sizes):
    """Images are stacked [B, 3, H, W]; targets stay a list of the same dicts, in order."""
    collate_detection = student("dataset.collate_detection")
    batch = detection_batch(count, sizes)
    result = collate_detection(batch)
    expect(
        isinstance(result, tuple) and len(result) == 2,
        "collate_detection should return (images, targets)",
    )
    images, targets = result
    expect_close(
        images, torch.stack([image for image, _ in batch]), "stacked images [B, 3, H, W]", atol=0
    )
    expect(
        isinstance(targets, list),
        f"targets should be a list of dicts, got {type(targets).__name__}",
    )
    expect(
        len(targets) == count,
        f"targets should hold {count} dicts (one per image), got {len(targets)}",
    )
    for number, (target, (_, original)) in enumerate(zip(targets, batch, strict=True)):
        for key in ("boxes", "labels"):
            expect(
                key in target and torch.equal(target[key], original[key]),
                f"targets[{number}][{key!r}] should be sample {number}'s {key}, unchanged",
            )


@exercise("dataset.collate_detection", points=1)
def test_collate_in_a_dataloader_and_bad_sizes():
    """It works as a DataLoader's collate_fn, and images of two sizes raise ValueError."""
    collate_detection = student("dataset.collate_detection")
    samples = detection_batch(5, [1, 3, 0])
    loader = DataLoader(samples, batch_size=2, collate_fn=collate_detection)
    shapes = [tuple(images.shape) for images, _ in loader]
    expect(
        shapes == [(2, 3, 12, 16), (2, 3, 12, 16), (1, 3, 12, 16)],
        f"batches of images had shapes {shapes}",
    )
    mixed = [samples[0], (torch.rand(3, 10, 10), samples[1][1])]
    try:
        collate_detection(mixed)
    except ValueError:
        return
    except RuntimeError as error:
        expect(
            False, f"images of two sizes should raise a clear ValueError, got RuntimeError: {error}"
        )
    expect(False, "images of two sizes (12x16 and 10x10) should raise ValueError, not return")


# ----------------------------------------------------------------------------- contract (issue 11)
# Defaults, the exact scale of pixel values, RGB mask files, boxes at row and column 0, the dtype
# of resized boxes, and the empty batch's ValueError.


@holds_for_constants
@exercise("dataset.train_test_split", points=1)
def test_split_defaults_and_dtype():
    """The defaults are test_ratio=0.1, seed=0; both parts are int64 tensors."""
    train_test_split = student("dataset.train_test_split")
    train, test = train_test_split(37)
    expect(
        len(train) == 33 and len(test) == 4,
        f"train_test_split(37) should hold out 10% (int(0.9 * 37) = 33 + 4), got {len(train)}"
        f" + {len(test)}",
    )
    expect(
        train.dtype == torch.int64 and test.dtype == torch.int64,
        f"indices should be int64, got {train.dtype} and {test.dtype}",
    )
    again_train, again_test = train_test_split(37, 0.1, 0)
    expect(
        torch.equal(train, again_train) and torch.equal(test, again_test),
        "train_test_split(37) should equal train_test_split(37, 0.1, 0): the default seed is 0",
    )


@exercise("dataset.load_segmentation_pair", points=1)
def test_load_pair_exact_values_and_rgb_mask():
    """Pixel values are byte / 255 exactly (white is 1.0); an RGB mask file loads like a grey one."""
    load_segmentation_pair = student("dataset.load_segmentation_pair")
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 255, 51, 0
    grey_mask = np.zeros((8, 8), np.uint8)
    grey_mask[2:6, 1:5] = 255
    with tempfile.TemporaryDirectory() as folder:
        image_path, mask_path = Path(folder) / "flat.png", Path(folder) / "mask.png"
        Image.fromarray(pixels, mode="RGB").save(image_path)
        Image.fromarray(np.repeat(grey_mask[..., None], 3, axis=2), mode="RGB").save(mask_path)
        image, mask = load_segmentation_pair(image_path, mask_path, 8)
    expect_tensor(image, "the image", shape=(3, 8, 8), dtype=torch.float32)
    expect_close(
        image[:, 0, 0],
        torch.tensor([1.0, 0.2, 0.0]),
        "pixel (255, 51, 0) as floats (byte / 255)",
        atol=1e-6,
    )
    expect_tensor(mask, "the mask of an RGB mask file", shape=(8, 8), dtype=torch.float32)
    expect_close(mask, torch.from_numpy(grey_mask > 127).float(), "mask from an RGB file", atol=0)


@exercise("dataset.resize_boxes", points=1)
def test_resize_boxes_keeps_dtype_and_precision():
    """float64 boxes stay float64 and are scaled at float64 precision; float16 stay float16."""
    resize_boxes = student("dataset.resize_boxes")
    boxes = torch.tensor([[1.0, 2.0, 30.0, 40.0], [3.5, 7.25, 11.0, 13.0]], dtype=torch.float64)
    result = expect_tensor(
        resize_boxes(boxes, (3, 7), (10, 3)), "resized float64 boxes", shape=(2, 4)
    )
    expect(result.dtype == torch.float64, f"float64 boxes came back as {result.dtype}")
    scale = torch.tensor([3 / 7, 10 / 3, 3 / 7, 10 / 3], dtype=torch.float64)
    expect_close(
        result, boxes * scale, "float64 boxes scaled by 3/7 and 10/3", atol=1e-12, rtol=1e-12
    )
    half = resize_boxes(boxes.half(), (4, 4), (8, 2))
    expect(half.dtype == torch.float16, f"float16 boxes came back as {half.dtype}")


@exercise("dataset.masks_to_boxes", points=1)
def test_masks_to_boxes_first_row_and_column():
    """Masks whose pixels sit in row 0 or column 0 only (and a one-pixel mask) get tight boxes."""
    masks_to_boxes = student("dataset.masks_to_boxes")
    masks = torch.zeros(4, 5, 6, dtype=torch.bool)
    masks[0, 0, 2:5] = True  # row 0 only
    masks[1, 1:4, 0] = True  # column 0 only
    masks[2, 0, 0] = True  # the corner pixel
    expected = torchvision.ops.masks_to_boxes(masks[:3])
    result = expect_tensor(
        masks_to_boxes(masks), "masks_to_boxes", shape=(4, 4), dtype=torch.float32
    )
    expect_close(result[:3], expected, "boxes of masks in the first row / column", atol=0)
    expect_close(result[3], torch.zeros(4), "box of an empty mask (all zeros)", atol=0)


@exercise("dataset.collate_detection", points=1)
def test_collate_empty_batch_is_a_value_error():
    """An empty batch raises the documented ValueError (not an IndexError or a RuntimeError)."""
    collate_detection = student("dataset.collate_detection")
    try:
        collate_detection([])
    except ValueError:
        return
    except Exception as error:
        expect(False, f"an empty batch raised {type(error).__name__}: {error}; expected ValueError")
    expect(False, "an empty batch should raise ValueError")


@holds_for_constants
@exercise("dataset.resize_boxes", points=1)
def test_resize_boxes_of_an_image_without_objects_keep_their_dtype():
    """No box (N = 0): a [0, 4] result in the boxes' dtype (float64 stays float64), not an error."""
    resize_boxes = student("dataset.resize_boxes")
    for dtype in (torch.float64, torch.float16):
        result = resize_boxes(torch.zeros(0, 4, dtype=dtype), (32, 48), (64, 64))
        expect_tensor(result, f"resized [0, 4] {dtype} boxes", shape=(0, 4), dtype=dtype)
