"""Checks for lesson 2, ``augment``: transforms that keep image, mask and boxes together.

Oracles: Albumentations run on the same inputs (``HorizontalFlip``, ``VerticalFlip``,
``RandomRotate90`` with a fixed factor, ``RandomBrightnessContrast`` with fixed limits,
``Crop`` at the offset the documented draw gives), and properties: a flip twice is the identity,
four quarter turns are the identity, and every box still fits its object's pixels exactly
(flips, turns) or still covers them (crops).

Boxes here are tight boxes of drawn objects in plane coordinates: an object whose pixels span
columns ``a..b`` has ``x1 = a``, ``x2 = b + 1`` (pixel ``i`` covers ``[i, i + 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import numpy as np
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from checks.harness import exercise, expect, expect_close, expect_tensor, student
from checks.scoring import holds_for_constants

BOX_TOLERANCE = 1e-4  # Albumentations normalises boxes to [0, 1] and back in float32

# ----------------------------------------------------------------------------- scenes


@dataclass
class Scene:
    """An image with objects: each object's own mask, their union and their tight boxes."""

    image: Tensor  # float [3, H, W]
    objects: Tensor  # bool [N, H, W]
    boxes: Tensor  # float [N, 4], plane coordinates

    @property
    def mask(self) -> Tensor:
        return self.objects.any(dim=0)


def plane_boxes(objects: Tensor) -> Tensor:
    """Tight boxes in plane coordinates: torchvision's inclusive boxes plus one on the far side."""
    return torchvision.ops.masks_to_boxes(objects) + torch.tensor([0.0, 0.0, 1.0, 1.0])


@st.composite
def scenes(draw: st.DrawFn, min_side: int = 3, max_side: int = 20, max_objects: int = 4) -> Scene:
    """A small random image with 1..max_objects blobs, each inside a drawn rectangle."""
    height = draw(st.integers(min_side, max_side))
    width = draw(st.integers(min_side, max_side))
    count = draw(st.integers(1, max_objects))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    objects = torch.zeros(count, height, width, dtype=torch.bool)
    for number in range(count):
        x1, y1 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        x2, y2 = draw(st.integers(x1 + 1, width)), draw(st.integers(y1 + 1, height))
        blob = torch.rand(y2 - y1, x2 - x1, generator=generator) < 0.6
        blob[draw(st.integers(0, y2 - y1 - 1)), draw(st.integers(0, x2 - x1 - 1))] = True
        objects[number, y1:y2, x1:x2] = blob
    image = torch.rand(3, height, width, generator=generator)
    return Scene(image, objects, plane_boxes(objects))


def albumentations_run(
    transform: A.BasicTransform, scene: Scene, mask: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor, list[int]]:
    """Runs one Albumentations transform on a scene; returns image, mask, boxes and labels."""
    pipeline = A.Compose(
        [transform], bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"])
    )
    mask = scene.mask if mask is None else mask
    result = pipeline(
        image=scene.image.permute(1, 2, 0).numpy().astype(np.float32),
        mask=mask.numpy().astype(np.uint8),
        bboxes=scene.boxes.numpy(),
        labels=list(range(len(scene.boxes))),
    )
    image = torch.from_numpy(np.ascontiguousarray(result["image"])).permute(2, 0, 1)
    boxes = torch.as_tensor(np.asarray(result["bboxes"], dtype=np.float32)).reshape(-1, 4)
    labels = [int(label) for label in result["labels"]]
    return image, torch.from_numpy(np.ascontiguousarray(result["mask"])).bool(), boxes, labels


class FixedRotate90(A.RandomRotate90):
    """``RandomRotate90`` that always turns ``factor`` times (Albumentations' own code paths)."""

    def __init__(self, factor: int) -> None:
        super().__init__(p=1.0)
        self.factor = factor

    def get_params(self) -> dict[str, int]:
        return {"factor": self.factor}


def expect_triple(
    result: object, what: str, shapes: tuple[tuple[int, ...], ...]
) -> tuple[Tensor, Tensor, Tensor]:
    """Unpacks ``(image, mask, boxes)`` and checks their shapes."""
    expect(
        isinstance(result, tuple) and len(result) == 3, f"{what} should return (image, mask, boxes)"
    )
    for value, name, shape in zip(result, ("image", "mask", "boxes"), shapes, strict=True):
        expect_tensor(value, f"{what}'s {name}", shape=shape)
    return result


def expect_boxes_fit_objects(transform, scene: Scene, what: str) -> None:
    """After the transform, each box is exactly the tight box of its own object's pixels."""
    for number in range(len(scene.boxes)):
        _, moved_object, moved_boxes = transform(scene.image, scene.objects[number], scene.boxes)
        expected = plane_boxes(moved_object[None].bool())[0]
        expect_close(
            moved_boxes[number],
            expected,
            f"{what}: box {number} should fit its object's pixels after the transform"
            " (pixel i spans [i, i+1), so a flip sends x to W - x, not W - 1 - x)",
            atol=BOX_TOLERANCE,
        )


# ----------------------------------------------------------------------------- flips


@exercise("augment.hflip", points=2)
@settings(max_examples=40)
@given(scenes())
def test_hflip_matches_albumentations(scene):
    """Image, mask and boxes equal Albumentations' HorizontalFlip on the same inputs."""
    hflip = student("augment.hflip")
    height, width = scene.mask.shape
    image, mask, moved = expect_triple(
        hflip(scene.image, scene.mask, scene.boxes),
        "hflip",
        ((3, height, width), (height, width), scene.boxes.shape),
    )
    expected_image, expected_mask, expected_boxes, _ = albumentations_run(
        A.HorizontalFlip(p=1.0), scene
    )
    expect_close(image, expected_image, "flipped image", atol=0)
    expect(torch.equal(mask.bool(), expected_mask), "the mask should be flipped like the image")
    expect_close(
        moved, expected_boxes, "flipped boxes (x1' = W - x2, x2' = W - x1)", atol=BOX_TOLERANCE
    )


@holds_for_constants
@exercise("augment.hflip", points=1)
@settings(max_examples=30)
@given(scenes())
def test_hflip_boxes_follow_pixels_and_twice_is_identity(scene):
    """Each box fits its object after the flip, and flipping twice gives the inputs back."""
    hflip = student("augment.hflip")
    expect_boxes_fit_objects(hflip, scene, "hflip")
    twice = hflip(*hflip(scene.image, scene.mask, scene.boxes))
    expect_close(twice[0], scene.image, "image flipped twice", atol=0)
    expect(torch.equal(twice[1], scene.mask), "mask flipped twice should be the mask")
    expect_close(twice[2], scene.boxes, "boxes flipped twice", atol=BOX_TOLERANCE)


@exercise("augment.vflip", points=2)
@settings(max_examples=40)
@given(scenes())
def test_vflip_matches_albumentations(scene):
    """Image, mask and boxes equal Albumentations' VerticalFlip on the same inputs."""
    vflip = student("augment.vflip")
    height, width = scene.mask.shape
    image, mask, moved = expect_triple(
        vflip(scene.image, scene.mask, scene.boxes),
        "vflip",
        ((3, height, width), (height, width), scene.boxes.shape),
    )
    expected_image, expected_mask, expected_boxes, _ = albumentations_run(
        A.VerticalFlip(p=1.0), scene
    )
    expect_close(image, expected_image, "flipped image", atol=0)
    expect(torch.equal(mask.bool(), expected_mask), "the mask should be flipped like the image")
    expect_close(
        moved, expected_boxes, "flipped boxes (y1' = H - y2, y2' = H - y1)", atol=BOX_TOLERANCE
    )


@holds_for_constants
@exercise("augment.vflip", points=1)
@settings(max_examples=30)
@given(scenes())
def test_vflip_boxes_follow_pixels_and_twice_is_identity(scene):
    """Each box fits its object after the flip, and flipping twice gives the inputs back."""
    vflip = student("augment.vflip")
    expect_boxes_fit_objects(vflip, scene, "vflip")
    twice = vflip(*vflip(scene.image, scene.mask, scene.boxes))
    expect_close(twice[0], scene.image, "image flipped twice", atol=0)
    expect(torch.equal(twice[1], scene.mask), "mask flipped twice should be the mask")
    expect_close(twice[2], scene.boxes, "boxes flipped twice", atol=BOX_TOLERANCE)


# ----------------------------------------------------------------------------- rot90


@exercise("augment.rot90", points=2)
@settings(max_examples=50)
@given(scenes(), st.integers(-5, 6))
def test_rot90_matches_albumentations(scene, k):
    """k quarter turns equal Albumentations' RandomRotate90 with factor k % 4 (counterclockwise)."""
    rot90 = student("augment.rot90")
    height, width = scene.mask.shape
    turned = (height, width) if k % 2 == 0 else (width, height)
    image, mask, moved = expect_triple(
        rot90(scene.image, scene.mask, scene.boxes, k),
        f"rot90(..., k={k})",
        ((3, *turned), turned, scene.boxes.shape),
    )
    expected_image, expected_mask, expected_boxes, _ = albumentations_run(
        FixedRotate90(k % 4), scene
    )
    expect_close(
        image, expected_image, f"image turned k={k} times counterclockwise (as np.rot90)", atol=0
    )
    expect(torch.equal(mask.bool(), expected_mask), f"the mask should turn like the image (k={k})")
    expect_close(moved, expected_boxes, f"boxes turned k={k} times", atol=BOX_TOLERANCE)


@exercise("augment.rot90", points=1)
@settings(max_examples=30)
@given(scenes(), st.integers(-4, 4))
def test_rot90_boxes_follow_pixels_and_turn_back(scene, k):
    """Boxes fit their objects after k turns; turning k then -k times gives the inputs back."""
    rot90 = student("augment.rot90")
    expect_boxes_fit_objects(lambda *inputs: rot90(*inputs, k), scene, f"rot90(k={k})")
    back = rot90(*rot90(scene.image, scene.mask, scene.boxes, k), -k)
    expect_close(back[0], scene.image, f"image turned {k} then {-k} times", atol=0)
    expect(torch.equal(back[1], scene.mask), f"mask turned {k} then {-k} times should be the mask")
    expect_close(back[2], scene.boxes, f"boxes turned {k} then {-k} times", atol=BOX_TOLERANCE)


# ----------------------------------------------------------------------------- brightness_contrast


@exercise("augment.brightness_contrast", points=2)
@settings(max_examples=40)
@given(scenes(max_objects=1), st.floats(-0.5, 0.5), st.floats(-0.5, 0.5))
def test_brightness_contrast_matches_albumentations(scene, brightness, contrast):
    """Equals RandomBrightnessContrast with both limits fixed: (b, b) and (c, c)."""
    brightness_contrast = student("augment.brightness_contrast")
    transform = A.RandomBrightnessContrast(
        brightness_limit=(brightness, brightness), contrast_limit=(contrast, contrast), p=1.0
    )
    expected, _, _, _ = albumentations_run(transform, scene)
    result = brightness_contrast(scene.image, brightness, contrast)
    expect_tensor(result, "brightness_contrast(image, ...)", shape=tuple(scene.image.shape))
    expect_close(
        result,
        expected,
        f"image * (1 + {contrast:.3g}) + {brightness:.3g}, clipped to [0, 1]",
        atol=1e-5,
    )


@exercise("augment.brightness_contrast", points=1)
def test_brightness_contrast_by_hand():
    """Zero changes nothing; values are clipped to [0, 1]; a hand-computed pixel."""
    brightness_contrast = student("augment.brightness_contrast")
    image = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0]).reshape(1, 1, 5).expand(3, 1, 5).clone()
    expect_close(
        brightness_contrast(image, 0.0, 0.0), image, "brightness 0 and contrast 0 (identity)"
    )
    expected = torch.tensor([0.1, 0.4, 0.7, 1.0, 1.0]).reshape(1, 1, 5).expand(3, 1, 5)
    expect_close(
        brightness_contrast(image, 0.1, 0.2),
        expected,
        "brightness 0.1, contrast 0.2: x * 1.2 + 0.1, clipped",
    )
    darker = brightness_contrast(image, -0.3, -0.5)
    expect_close(
        darker, (image * 0.5 - 0.3).clamp(0, 1), "brightness -0.3, contrast -0.5: clipped at 0"
    )


# ----------------------------------------------------------------------------- random_crop


def documented_offset(
    seed: int, image_size: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int]:
    """``(top, left)`` drawn as the docstring says: top first, then left, from a fresh generator."""
    generator = torch.Generator().manual_seed(seed)
    top = int(torch.randint(0, image_size[0] - size[0] + 1, (1,), generator=generator))
    left = int(torch.randint(0, image_size[1] - size[1] + 1, (1,), generator=generator))
    return top, left


@st.composite
def crop_cases(draw: st.DrawFn) -> tuple[Scene, tuple[int, int], int]:
    scene = draw(scenes(min_side=4, max_side=24, max_objects=5))
    height, width = scene.mask.shape
    size = (draw(st.integers(1, height)), draw(st.integers(1, width)))
    return scene, size, draw(st.integers(0, 2**31 - 1))


def expect_crop(
    result: object, size: tuple[int, int], count: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    expect(
        isinstance(result, tuple) and len(result) == 4,
        "random_crop should return (image, mask, boxes, kept)",
    )
    image, mask, cropped, kept = result
    expect_tensor(image, "random_crop's image", shape=(3, *size))
    expect_tensor(mask, "random_crop's mask", shape=size)
    expect_tensor(cropped, "random_crop's boxes")
    expect_tensor(kept, "random_crop's kept", dtype=torch.int64)
    expect(
        cropped.shape == (len(kept), 4) and len(kept) <= count,
        f"boxes should be [K, 4] with K = len(kept); got {tuple(cropped.shape)}, {len(kept)} kept",
    )
    return image, mask, cropped, kept


@exercise("augment.random_crop", points=3)
@settings(max_examples=60)
@given(crop_cases())
def test_random_crop_matches_albumentations_crop(case):
    """At the documented offset (top, then left), the result equals Albumentations' Crop."""
    random_crop = student("augment.random_crop")
    scene, size, seed = case
    result = random_crop(
        scene.image, scene.mask, scene.boxes, size, torch.Generator().manual_seed(seed)
    )
    image, mask, cropped, kept = expect_crop(result, size, len(scene.boxes))
    top, left = documented_offset(seed, tuple(scene.mask.shape), size)
    window = A.Crop(x_min=left, y_min=top, x_max=left + size[1], y_max=top + size[0])
    expected_image, expected_mask, expected_boxes, expected_kept = albumentations_run(window, scene)
    # Albumentations keeps a box that only touches the window, with a width of float32 rounding
    # error (2e-7); it has no area, and the exercise drops it
    has_area = (expected_boxes[:, 2:] - expected_boxes[:, :2] > 1e-3).all(dim=1)
    expected_boxes = expected_boxes[has_area]
    expected_kept = [
        label for label, keep in zip(expected_kept, has_area.tolist(), strict=True) if keep
    ]
    where = f"window of size {size} at top={top}, left={left} (drawn top first, then left)"
    expect_close(image, expected_image, f"cropped image, {where}", atol=0)
    expect(
        torch.equal(mask.bool(), expected_mask),
        f"the mask should be cropped like the image, {where}",
    )
    expect(
        kept.tolist() == expected_kept,
        f"kept boxes {kept.tolist()}, expected {expected_kept}: drop exactly the boxes left with no"
        f" area inside the {where}",
    )
    expect_close(
        cropped, expected_boxes, f"boxes shifted and clipped to the {where}", atol=BOX_TOLERANCE
    )


@exercise("augment.random_crop", points=2)
@settings(max_examples=40)
@given(crop_cases())
def test_random_crop_boxes_cover_their_objects(case):
    """Kept boxes lie in the window, have area, cover their object's pixels; no object is lost."""
    random_crop = student("augment.random_crop")
    scene, size, seed = case
    for number in range(len(scene.boxes)):
        generator = torch.Generator().manual_seed(seed)
        result = random_crop(scene.image, scene.objects[number], scene.boxes, size, generator)
        _, object_pixels, cropped, kept = expect_crop(result, size, len(scene.boxes))
        limit = torch.tensor([size[1], size[0]] * 2, dtype=cropped.dtype)
        expect(
            bool((cropped >= -BOX_TOLERANCE).all() and (cropped <= limit + BOX_TOLERANCE).all()),
            f"boxes should be clipped to the {size[1]}x{size[0]} window, got {cropped.tolist()}",
        )
        expect(
            bool((cropped[:, 2] > cropped[:, 0]).all() and (cropped[:, 3] > cropped[:, 1]).all()),
            f"boxes with no width or height should be dropped, got {cropped.tolist()}",
        )
        if not object_pixels.any():
            continue
        expect(
            number in kept.tolist(),
            f"object {number} has pixels in the window but its box was dropped",
        )
        box = cropped[kept.tolist().index(number)]
        tight = plane_boxes(object_pixels[None].bool())[0]
        covers = bool(
            (box[:2] <= tight[:2] + BOX_TOLERANCE).all()
            and (box[2:] >= tight[2:] - BOX_TOLERANCE).all()
        )
        expect(
            covers,
            f"box {number} {box.tolist()} should cover its object's pixels in the window,"
            f" {tight.tolist()}",
        )


@exercise("augment.random_crop", points=1)
def test_random_crop_is_random_and_reproducible():
    """Offsets vary with the generator's seed, repeat with the same seed, reach every position."""
    random_crop = student("augment.random_crop")
    image = torch.arange(4 * 5, dtype=torch.float32).reshape(1, 4, 5).expand(3, 4, 5).clone()
    mask = torch.zeros(4, 5)
    no_boxes = torch.zeros(0, 4)
    corners = set()
    for seed in range(60):
        first = random_crop(image, mask, no_boxes, (3, 3), torch.Generator().manual_seed(seed))[0]
        again = random_crop(image, mask, no_boxes, (3, 3), torch.Generator().manual_seed(seed))[0]
        expect(torch.equal(first, again), f"two crops with generators seeded {seed} differ")
        corners.add(int(first[0, 0, 0]))
    expect(
        corners == {0, 1, 2, 5, 6, 7},
        f"3x3 windows of a 4x5 image start at 6 places; 60 seeds reached only {len(corners)}",
    )
    try:
        random_crop(image, mask, no_boxes, (5, 5), torch.Generator().manual_seed(0))
    except ValueError:
        return
    expect(False, "a 5x5 window on a 4x5 image should raise ValueError")


# ----------------------------------------------------------------------------- build_pipeline


def run_pipeline(pipeline: A.Compose, scene: Scene, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    pipeline.set_random_seed(seed)
    result = pipeline(
        image=scene.image.permute(1, 2, 0).numpy().astype(np.float32),
        mask=scene.mask.numpy().astype(np.uint8),
        bboxes=scene.boxes.numpy(),
        labels=list(range(len(scene.boxes))),
    )
    image = torch.from_numpy(np.ascontiguousarray(result["image"])).permute(2, 0, 1)
    mask = torch.from_numpy(np.ascontiguousarray(result["mask"])).bool()
    return (
        image,
        mask,
        torch.as_tensor(np.asarray(result["bboxes"], dtype=np.float32)).reshape(-1, 4),
    )


@exercise("augment.build_pipeline", points=2)
def test_pipeline_has_the_seeds_transforms():
    """Training: HorizontalFlip 0.5, VerticalFlip 0.5, RandomBrightnessContrast 0.2; VOC boxes."""
    build_pipeline = student("augment.build_pipeline")
    for train in (True, False):
        pipeline = build_pipeline(train)
        expect(
            isinstance(pipeline, A.Compose), f"build_pipeline({train}) should return an A.Compose"
        )
        processor = pipeline.processors.get("bboxes")
        expect(
            processor is not None,
            f"build_pipeline({train}) needs bbox_params so boxes follow the pixels",
        )
        expect(
            processor.params.format == "pascal_voc"
            and "labels" in (processor.params.label_fields or []),
            f"build_pipeline({train}): boxes should be"
            " A.BboxParams(format='pascal_voc', label_fields=['labels'])",
        )
        expect(
            pipeline.is_check_shapes,
            f"build_pipeline({train}) should check that image and mask sizes match",
        )
    found = [
        (type(transform).__name__, transform.p) for transform in build_pipeline(True).transforms
    ]
    wanted = [("HorizontalFlip", 0.5), ("VerticalFlip", 0.5), ("RandomBrightnessContrast", 0.2)]
    expect(found == wanted, f"the training pipeline should be {wanted}, got {found}")
    expect(
        len(build_pipeline(False).transforms) == 0,
        "the test pipeline should not transform anything",
    )


@exercise("augment.build_pipeline", points=1)
@settings(max_examples=10)
@given(scenes(min_side=6))
def test_pipeline_keeps_boxes_on_their_pixels(scene):
    """Over 24 runs the training pipeline flips sometimes, and boxes always fit the moved mask."""
    build_pipeline = student("augment.build_pipeline")
    pipeline = build_pipeline(True)
    single = Scene(scene.image, scene.objects[:1], scene.boxes[:1])
    changed = 0
    for seed in range(24):
        _, mask, moved = run_pipeline(pipeline, single, seed)
        expect(moved.shape == (1, 4), f"the pipeline lost or added boxes: {moved.tolist()}")
        expect_close(
            moved[0],
            plane_boxes(mask[None])[0],
            f"box after the pipeline (run {seed})",
            atol=BOX_TOLERANCE,
        )
        changed += not torch.equal(mask, single.mask)
    symmetric = torch.equal(single.mask, single.mask.flip(-1)) and torch.equal(
        single.mask, single.mask.flip(-2)
    )
    expect(
        symmetric or 0 < changed < 24,
        f"the mask moved in {changed} of 24 runs: flips should be random",
    )
    test_image, test_mask, test_boxes = run_pipeline(build_pipeline(False), single, 0)
    expect_close(test_image, single.image, "the test pipeline's image (no change)", atol=0)
    expect(torch.equal(test_mask, single.mask), "the test pipeline should not change the mask")
    expect_close(
        test_boxes, single.boxes, "the test pipeline's boxes (no change)", atol=BOX_TOLERANCE
    )


# ----------------------------------------------------------------------------- contract (issue 11)
# random_crop: the documented ValueError for each side, a window the size of the image, sub-pixel
# boxes (kept: they have an area), boxes of no area (dropped), the boxes' dtype.


@exercise("augment.random_crop", points=1)
def test_random_crop_window_size_limits():
    """A window taller *or* wider than the image raises ValueError; one of the image's size is fine."""
    random_crop = student("augment.random_crop")
    image = torch.rand(3, 4, 6)
    mask = torch.zeros(4, 6)
    boxes = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    for size in ((5, 6), (4, 7), (5, 7)):
        try:
            random_crop(image, mask, boxes, size, torch.Generator().manual_seed(0))
        except ValueError:
            continue
        except Exception as error:
            expect(
                False,
                f"a {size} window on a 4x6 image raised {type(error).__name__}: {error};"
                " expected ValueError",
            )
        expect(False, f"a {size} window on a 4x6 image should raise ValueError")
    whole = random_crop(image, mask, boxes, (4, 6), torch.Generator().manual_seed(0))
    cropped_image, _, cropped, kept = expect_crop(whole, (4, 6), 1)
    expect_close(cropped_image, image, "a window of the image's size is the whole image", atol=0)
    expect_close(cropped, boxes, "boxes in a window of the image's size", atol=0)
    expect(kept.tolist() == [0], f"kept should be [0], got {kept.tolist()}")


@exercise("augment.random_crop", points=1)
def test_random_crop_keeps_sub_pixel_boxes():
    """Boxes narrower than a pixel still have an area and are kept; boxes of no area are dropped."""
    random_crop = student("augment.random_crop")
    image = torch.rand(3, 8, 8)
    mask = torch.zeros(8, 8)
    for dtype in (torch.float32, torch.float64):
        boxes = torch.tensor(
            [
                [1.25, 1.0, 1.75, 3.0],  # half a pixel wide
                [2.0, 2.0, 6.0, 2.25],  # a quarter of a pixel high
                [3.0, 3.0, 3.0, 5.0],  # no width: dropped
                [6.0, 6.0, 6.5, 6.5],  # tiny but real
            ],
            dtype=dtype,
        )
        result = random_crop(image, mask, boxes, (8, 8), torch.Generator().manual_seed(0))
        _, _, cropped, kept = expect_crop(result, (8, 8), 4)
        expect(
            kept.tolist() == [0, 1, 3],
            f"boxes with an area (even under a pixel) are kept, the one of width 0 dropped:"
            f" expected kept [0, 1, 3], got {kept.tolist()}",
        )
        expect(cropped.dtype == dtype, f"boxes came back as {cropped.dtype}, not {dtype}")
        expect_close(
            cropped, boxes[[0, 1, 3]], f"sub-pixel boxes in a whole-image crop ({dtype})", atol=0
        )


@exercise("augment.random_crop", points=1)
def test_random_crop_shifts_sub_pixel_boxes():
    """At the documented offset, sub-pixel boxes are shifted and clipped, never rounded."""
    random_crop = student("augment.random_crop")
    image = torch.rand(3, 9, 9)
    mask = torch.zeros(9, 9)
    boxes = torch.tensor([[4.25, 4.5, 4.75, 5.0], [0.0, 0.0, 9.0, 0.5], [2.5, 3.5, 8.75, 8.9]])
    for seed in range(6):
        top, left = documented_offset(seed, (9, 9), (6, 6))
        shifted = (boxes - torch.tensor([left, top, left, top])).clamp(0, 6)
        area = (shifted[:, 2] > shifted[:, 0]) & (shifted[:, 3] > shifted[:, 1])
        result = random_crop(image, mask, boxes, (6, 6), torch.Generator().manual_seed(seed))
        _, _, cropped, kept = expect_crop(result, (6, 6), 3)
        expect(
            kept.tolist() == area.nonzero().flatten().tolist(),
            f"seed {seed} (top {top}, left {left}): kept {kept.tolist()}, expected"
            f" {area.nonzero().flatten().tolist()} (a box is dropped only when it has no area)",
        )
        expect_close(
            cropped, shifted[area], f"sub-pixel boxes after the crop (seed {seed})", atol=1e-6
        )
