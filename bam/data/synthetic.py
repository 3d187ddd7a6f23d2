"""The bundled synthetic data sets, drawn with numpy and regenerated bit for bit from a seed.

* ``water``: satellite-like tiles in the Kaggle "Satellite Images of Water Bodies" layout
  (``Images/water_body_<i>.jpg`` and ``Masks/water_body_<i>.jpg``, white = water): textured,
  shaded land (field patchwork, relief), meandering rivers at any angle (a diagonal river's
  tight box is mostly land: the point the course makes about box prompts) and lakes.
* ``shapes``: a detection and instance-segmentation set in Pascal VOC layout (``JPEGImages/``,
  ``Annotations/*.xml``, ``SegmentationObject/*.png``, ``SegmentationClass/*.png``,
  ``ImageSets/{Main,Segmentation}/{train,test}.txt``): circles, squares and triangles, 1 to 5
  per image, of several sizes and colours, sometimes overlapping, on cluttered backgrounds.

Labels are exact: each mask is the drawing itself, each box is the tight box of an object's
visible pixels. Water masks are saved as JPEG like Kaggle's (quality 100, read back as
``> 127``); generation decodes every mask it writes and fails if a single pixel changed side.

The shapes' instance masks are VOC's two palette PNGs (8-bit, VOC's colour map): in
``SegmentationObject/<id>.png`` pixel value ``i`` (1-based) is the ``i``-th ``<object>`` of the
XML, in ``SegmentationClass/<id>.png`` it is the class (``SHAPES_CLASSES`` position + 1), 0 is
background in both. Each is an object's *visible* pixels: where objects overlap the later
(upper) one owns the pixels, so the masks never overlap, as in VOC. Unlike VOC there is no
"void" border (value 255 around every object): VOC's annotators drew polygons over photographs
and marked the uncertain strip along each outline as "not scored"; here every pixel's owner is
known exactly (the mask is the drawing), so a void band would only throw away correct labels at
the edges, exactly where mask quality is decided. Value 255 is never used.

Determinism: every image draws from its own ``numpy.random.Generator`` seeded with
``(seed, data set, index)``; per-pixel work uses only IEEE arithmetic and ``sqrt`` (exactly
rounded everywhere), while ``sin``/``cos`` run on Python floats for a handful of parameters, so
the pixels do not depend on the CPU's vector units. JPEG bytes depend on Pillow's libjpeg build
only.

Box convention (see ``bam.data.datasets``): boxes are ``(x1, y1, x2, y2)`` in continuous pixel-edge
coordinates: pixel ``i`` spans ``[i, i + 1)``, so ``x2`` is the rightmost pixel's column + 1. VOC
files store the first and last pixels 1-based: ``xmin = x1 + 1``, ``ymin = y1 + 1``,
``xmax = x2``, ``ymax = y2``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bam.data.shape_drawer import shape_mask

WATER_SIZE = 256
SHAPES_WIDTH, SHAPES_HEIGHT = 320, 240
SHAPES_CLASSES: tuple[str, ...] = ("circle", "square", "triangle")
WATER_COUNT = 300
SHAPES_COUNT = 360
SHAPES_TEST_COUNT = 60
IMAGE_QUALITY = 88
MASK_QUALITY = 100

_WATER_STREAM, _SHAPES_STREAM = 1, 2


# ----------------------------------------------------------------------------- noise


def value_noise(
    rng: np.random.Generator,
    height: int,
    width: int,
    cells: int,
    octaves: int = 4,
    gain: float = 0.5,
) -> np.ndarray:
    """Smooth fractal noise in [0, 1] (value noise, smoothstep interpolation, arithmetic only).

    Args:
        rng: random generator.
        height: rows of the result.
        width: columns of the result.
        cells: grid cells along the longer side at the coarsest octave.
        octaves: number of octaves, each with twice the cells of the previous one.
        gain: amplitude ratio between octaves.

    Returns:
        ``float64 [height, width]`` in [0, 1].
    """
    total = np.zeros((height, width), np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        count = cells * 2**octave
        cells_y = max(1, round(count * height / max(height, width)))
        cells_x = max(1, round(count * width / max(height, width)))
        grid = rng.random((cells_y + 1, cells_x + 1), dtype=np.float32)
        rows = _smooth_positions(height, cells_y)
        cols = _smooth_positions(width, cells_x)
        top = grid[rows[0]]  # [H, cells_x + 1]
        bottom = grid[rows[0] + 1]
        column_values = top + (bottom - top) * rows[1][:, None]  # [H, cells_x + 1]
        left = column_values[:, cols[0]]  # [H, W]
        right = column_values[:, cols[0] + 1]
        total += np.float32(amplitude) * (left + (right - left) * cols[1][None, :])
        norm += amplitude
        amplitude *= gain
    return total / np.float32(norm)


def _smooth_positions(length: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid index and smoothstep weight of each pixel centre along one axis."""
    position = (np.arange(length) + 0.5) * (cells / length)
    index = np.minimum(np.floor(position).astype(np.int64), cells - 1)
    fraction = (position - index).astype(np.float32)
    return index, fraction * fraction * (3.0 - 2.0 * fraction)


def _noise_1d(rng: np.random.Generator, samples: np.ndarray, period: float) -> np.ndarray:
    """Smooth 1-D noise in [-1, 1] at ``samples`` (linear interpolation of random knots)."""
    knots = np.arange(samples.min() - period, samples.max() + 2 * period, period)
    return np.interp(samples, knots, rng.random(knots.size) * 2.0 - 1.0)


def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x [1, W], y [H, 1])``."""
    return np.arange(width)[None, :] + 0.5, np.arange(height)[:, None] + 0.5


def _rotated(
    x: np.ndarray, y: np.ndarray, centre: tuple[float, float], angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of each pixel in a frame turned by ``angle`` (radians) about ``centre``."""
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = x - centre[0], y - centre[1]
    return dx * cos + dy * sin, dy * cos - dx * sin  # along, across


# ----------------------------------------------------------------------------- water


@dataclass
class WaterBody:
    """One drawn water body: where it is and a depth-like field for shading."""

    mask: np.ndarray  # bool [H, W]
    depth: np.ndarray  # float [H, W], 0 at the shore, 1 far inside


def _river(rng: np.random.Generator, size: int, width_range: tuple[float, float]) -> WaterBody:
    """A meandering river crossing the tile at a random angle (a third of them diagonal)."""
    kind = rng.random()
    if kind < 0.35:
        angle = rng.uniform(0.5, 1.07) * (1 if rng.random() < 0.5 else -1)  # ~30..60 degrees
    else:
        angle = rng.normal(0.0, 0.15) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    x, y = _pixel_grid(size, size)
    centre = (
        size / 2 + rng.uniform(-0.25, 0.25) * size,
        size / 2 + rng.uniform(-0.25, 0.25) * size,
    )
    along, across = _rotated(x, y, centre, angle)
    samples = np.linspace(-1.5 * size, 1.5 * size, 769)
    line = np.zeros_like(samples)
    for _ in range(3):  # a few sine waves make a meander
        wavelength = rng.uniform(0.35, 1.4) * size
        amplitude = rng.uniform(0.02, 0.11) * size
        phase = rng.uniform(0, 2 * math.pi)
        line += amplitude * np.array(
            [math.sin(2 * math.pi * s / wavelength + phase) for s in samples]
        )
    slope = np.gradient(line, samples)
    half_width = rng.uniform(*width_range) / 2 * (1 + 0.3 * _noise_1d(rng, samples, size / 3))
    offset = across - np.interp(along, samples, line)
    stretch = np.sqrt(1 + np.interp(along, samples, slope) ** 2)
    distance = np.abs(offset) / stretch / np.interp(along, samples, half_width)  # 1 at the bank
    return WaterBody(mask=distance < 1, depth=np.clip(1 - distance, 0, 1))


def _lake(rng: np.random.Generator, size: int, radius_range: tuple[float, float]) -> WaterBody:
    """A lake: a rotated ellipse with a noisy shore."""
    x, y = _pixel_grid(size, size)
    centre = (rng.uniform(0.15, 0.85) * size, rng.uniform(0.15, 0.85) * size)
    along, across = _rotated(x, y, centre, rng.uniform(0, math.pi))
    radius = rng.uniform(*radius_range) * size
    aspect = rng.uniform(0.45, 1.0)
    inside = 1 - ((along / radius) ** 2 + (across / (radius * aspect)) ** 2)
    field = inside + 0.8 * (value_noise(rng, size, size, cells=3, octaves=3) - 0.5)
    return WaterBody(mask=field > 0.2, depth=np.clip((field - 0.2) * 2.5, 0, 1))


def _land(rng: np.random.Generator, size: int) -> np.ndarray:
    """Textured land: a patchwork of fields and forest, relief shading and grain. ``[H, W, 3]``."""
    palettes = np.array(
        [
            [0.33, 0.42, 0.22],  # grass
            [0.25, 0.33, 0.18],  # forest
            [0.52, 0.48, 0.33],  # dry field
            [0.45, 0.40, 0.30],  # bare soil
            [0.60, 0.56, 0.42],  # sand / stubble
            [0.38, 0.45, 0.30],  # crops
            [0.55, 0.53, 0.50],  # rock / town
        ]
    )
    biome = rng.integers(0, 3)
    weights = np.array(
        [[4, 3, 1, 1, 0.3, 2, 0.3], [1, 0.5, 3, 3, 2, 1, 1], [2, 4, 0.5, 1, 0.2, 1, 2]][biome],
        float,
    )
    seeds = rng.integers(8, 22)
    half = size // 2  # fields are large: find their borders at half resolution
    x, y = _pixel_grid(half, half)
    points = rng.random((seeds, 2)) * half
    squared = (x[..., None] - points[:, 0]) ** 2 + (y[..., None] - points[:, 1]) ** 2  # [h, w, K]
    cell = squared.argmin(axis=-1).repeat(2, axis=0).repeat(2, axis=1)  # [H, W]
    kinds = rng.choice(len(palettes), size=seeds, p=weights / weights.sum())
    colours = palettes[kinds] * rng.uniform(0.85, 1.15, size=(seeds, 1))  # [K, 3]
    colours = colours * rng.uniform(0.94, 1.06, size=(seeds, 3))
    land = colours[cell]  # [H, W, 3]
    texture = value_noise(rng, size, size, cells=6, octaves=5)
    land = land * (0.75 + 0.5 * texture)[..., None]
    height = value_noise(rng, size, size, cells=2, octaves=3, gain=0.4)
    slope_y, slope_x = np.gradient(height * size * 0.6)
    shade = np.clip(1.0 + 0.45 * (slope_x * 0.7 - slope_y * 0.7), 0.7, 1.3)
    tint = rng.uniform(0.9, 1.1, size=3)
    return land * shade[..., None] * tint


def water_sample(seed: int, index: int, size: int = WATER_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Draws one water tile.

    Args:
        seed: data set seed.
        index: image number (each has its own random stream).
        size: side of the square tile in pixels.

    Returns:
        ``(image uint8 [H, W, 3], mask bool [H, W])``.
    """
    rng = np.random.default_rng([seed, _WATER_STREAM, index])
    scene = rng.random()
    bodies: list[WaterBody] = []
    if scene < 0.35:
        bodies.append(_river(rng, size, (10, 34)))
    elif scene < 0.6:
        bodies.append(_lake(rng, size, (0.15, 0.38)))
    elif scene < 0.8:
        bodies.append(_river(rng, size, (8, 26)))
        bodies.append(_lake(rng, size, (0.1, 0.25)))
    elif scene < 0.9:
        bodies.append(_river(rng, size, (12, 30)))
        bodies.append(_river(rng, size, (5, 12)))
    else:
        bodies.extend(_lake(rng, size, (0.06, 0.14)) for _ in range(rng.integers(2, 5)))
    mask = np.zeros((size, size), bool)
    depth = np.zeros((size, size))
    for body in bodies:
        mask |= body.mask
        depth = np.maximum(depth, body.depth)
    land = _land(rng, size)
    waters = np.array(
        [
            [[0.22, 0.32, 0.34], [0.06, 0.12, 0.22]],  # clear blue
            [[0.24, 0.34, 0.28], [0.08, 0.16, 0.14]],  # green
            [[0.36, 0.34, 0.26], [0.14, 0.16, 0.14]],  # muddy
            [[0.16, 0.20, 0.24], [0.04, 0.06, 0.09]],  # dark
        ]
    )
    shallow, deep = waters[rng.integers(0, len(waters))] * rng.uniform(0.85, 1.15, size=(2, 3))
    depth_shade = np.sqrt(np.clip(depth * 2.5, 0, 1))[..., None]
    ripples = value_noise(rng, size, size, cells=16, octaves=2)[..., None]
    water = (shallow + (deep - shallow) * depth_shade) * (0.9 + 0.2 * ripples)
    # a darker wet bank just outside the water, so the shore reads as a shore
    bank = np.zeros((size, size), bool)
    bank[1:] |= mask[:-1]
    bank[:-1] |= mask[1:]
    bank[:, 1:] |= mask[:, :-1]
    bank[:, :-1] |= mask[:, 1:]
    bank &= ~mask
    land[bank] *= 0.8
    image = np.where(mask[..., None], water, land)
    image = image + (rng.random((size, size, 3)) - 0.5) * 0.05
    return _to_uint8(image), mask


# ----------------------------------------------------------------------------- shapes


def _window(
    centre: tuple[float, float], reach: float, height: int, width: int
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """The pixels within ``reach`` of ``centre`` (a clipped square): slices and local grids."""
    left, right = max(0, int(centre[0] - reach)), min(width, int(centre[0] + reach) + 2)
    top, bottom = max(0, int(centre[1] - reach)), min(height, int(centre[1] + reach) + 2)
    x = np.arange(left, right)[None, :] + 0.5
    y = np.arange(top, bottom)[:, None] + 0.5
    return (slice(top, bottom), slice(left, right)), x, y


def _shape_mask(
    rng: np.random.Generator, label: int, extent: float, centre: tuple[float, float]
) -> np.ndarray:
    """A circle (0), square (1) or triangle (2) about ``extent`` px across. ``bool [H, W]``.

    The pixels come from ``bam.data.shape_drawer.shape_mask``; this draws the turn (a square
    turned by up to 0.4 rad in 60% of the images, shrunk to keep ``extent`` across).
    """
    window, x, y = _window(centre, extent, SHAPES_HEIGHT, SHAPES_WIDTH)
    dx, dy = x - centre[0], y - centre[1]  # [1, w], [h, 1]
    mask = np.zeros((SHAPES_HEIGHT, SHAPES_WIDTH), bool)
    if label == 0:
        mask[window] = shape_mask(0, dx, dy, extent)
        return mask
    angle = rng.uniform(0, 2 * math.pi)  # drawn for the square too (the stream stays as made)
    if label == 1:
        turn = rng.uniform(-0.4, 0.4) if rng.random() < 0.6 else 0.0
        side = extent / (abs(math.cos(turn)) + abs(math.sin(turn)))
        mask[window] = shape_mask(1, dx, dy, side, turn)
        return mask
    mask[window] = shape_mask(2, dx, dy, extent, angle)
    return mask


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated object colour (random hue, full or near-full saturation)."""
    hue = rng.random() * 6
    sector = int(hue)
    fraction = hue - sector
    rising, falling = fraction, 1 - fraction
    rgb = [
        (1, rising, 0),
        (falling, 1, 0),
        (0, 1, rising),
        (0, falling, 1),
        (rising, 0, 1),
        (1, 0, falling),
    ][sector % 6]
    value = rng.uniform(0.6, 0.95)
    return np.array(rgb, float) * value * rng.uniform(0.75, 1.0) + (1 - value) * 0.2


def _cluttered_background(rng: np.random.Generator) -> np.ndarray:
    """Muted texture with streaks and specks (clutter that is none of the classes)."""
    height, width = SHAPES_HEIGHT, SHAPES_WIDTH
    base = rng.uniform(0.3, 0.7) + rng.uniform(-0.08, 0.08, size=3)
    texture = value_noise(rng, height, width, cells=5, octaves=5)
    background = base * (0.7 + 0.6 * texture)[..., None]
    x, y = _pixel_grid(height, width)
    for _ in range(rng.integers(3, 9)):  # thin streaks (distance to a line, arithmetic only)
        start = rng.random(2) * (width, height)
        direction = rng.normal(size=2)
        direction /= math.sqrt(float(direction @ direction))
        distance = np.abs((x - start[0]) * direction[1] - (y - start[1]) * direction[0])
        background[distance < rng.uniform(0.6, 1.8)] *= rng.uniform(0.6, 1.4)
    for _ in range(rng.integers(10, 40)):  # specks a few pixels wide
        centre = rng.random(2) * (width, height)
        radius = rng.uniform(1.0, 4.0)
        window, local_x, local_y = _window(centre, radius, height, width)
        speck = (local_x - centre[0]) ** 2 + (local_y - centre[1]) ** 2 < radius * radius
        patch = background[window]  # a view: writing it paints the background
        patch[speck] = patch[speck] * 0.5 + rng.random(3) * 0.5
    return background


def shapes_sample(seed: int, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws one detection image.

    Args:
        seed: data set seed.
        index: image number (each has its own random stream).

    Returns:
        ``(image uint8 [H, W, 3], boxes float [N, 4], labels int [N])``: boxes ``(x1, y1, x2,
        y2)`` tight around each object's visible pixels, in pixel edges; labels index
        ``SHAPES_CLASSES`` (0-based here; the loaders add 1 for the background).
    """
    image, boxes, labels, _ = shapes_instances(seed, index)
    return image, boxes, labels


def shapes_instances(
    seed: int, index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draws one detection image with its instance masks (``shapes_sample`` plus the masks).

    Args:
        seed: data set seed.
        index: image number (each has its own random stream).

    Returns:
        ``(image uint8 [H, W, 3], boxes float [N, 4], labels int [N], masks bool [N, H, W])``:
        as ``shapes_sample``, and each object's visible pixels (an object drawn later covers
        the earlier ones, so the masks never overlap and every mask keeps at least 70% of its
        shape); ``boxes`` are the tight pixel-edge boxes of ``masks``.
    """
    rng = np.random.default_rng([seed, _SHAPES_STREAM, index])
    image = _cluttered_background(rng)
    count = int(rng.integers(1, 6))
    full_masks: list[np.ndarray] = []
    visible: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(200):  # placement attempts
        if len(labels) == count:
            break
        label = int(rng.integers(0, len(SHAPES_CLASSES)))
        extent = rng.uniform(24, 96) if rng.random() < 0.7 else rng.uniform(24, 48)
        margin = extent / 2 + 1
        centre = (
            rng.uniform(margin, SHAPES_WIDTH - margin),
            rng.uniform(margin, SHAPES_HEIGHT - margin),
        )
        shape = _shape_mask(rng, label, extent, centre)
        # overlaps are fine as long as every earlier object keeps 70% of its pixels in view
        if any(
            (seen & ~shape).sum() < 0.7 * full.sum()
            for seen, full in zip(visible, full_masks, strict=True)
        ):
            continue
        if rng.random() < 0.6 and any((seen & shape).any() for seen in visible):
            continue  # most images keep objects apart
        visible = [seen & ~shape for seen in visible]
        full_masks.append(shape)
        visible.append(shape)
        labels.append(label)
        colour = _colour(rng)
        light = rng.normal(size=2) * 0.004
        window, x, y = _window(centre, extent, SHAPES_HEIGHT, SHAPES_WIDTH)
        shading = 1 + (x - centre[0]) * light[0] + (y - centre[1]) * light[1]  # [h, w]
        patch = image[window]  # a view into the image
        patch[shape[window]] = (colour * shading[..., None])[shape[window]]
    image = image + (rng.random(image.shape) - 0.5) * 0.06
    masks = np.stack(visible)
    return _to_uint8(image), masks_to_boxes_numpy(masks), np.array(labels, np.int64), masks


def masks_to_boxes_numpy(masks: np.ndarray) -> np.ndarray:
    """Tight pixel-edge ``(x1, y1, x2, y2)`` boxes of ``bool [N, H, W]`` masks. ``[N, 4]``.

    ``x2`` is the last column holding mask pixels + 1 (torchvision's ``masks_to_boxes`` + 1).
    """
    rows = masks.any(axis=2)  # [N, H]
    cols = masks.any(axis=1)  # [N, W]
    height, width = masks.shape[1:]
    y1 = rows.argmax(axis=1)
    y2 = height - rows[:, ::-1].argmax(axis=1)  # last row + 1
    x1 = cols.argmax(axis=1)
    x2 = width - cols[:, ::-1].argmax(axis=1)  # last column + 1
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.float64)


# ----------------------------------------------------------------------------- files


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(image * 255 + 0.5), 0, 255).astype(np.uint8)


def _jpeg_bytes(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def _mask_jpeg(mask: np.ndarray, where: str) -> bytes:
    """A mask as a grey JPEG (255 = water) that decodes to the same ``> 127`` mask."""
    data = _jpeg_bytes(mask.astype(np.uint8) * 255, MASK_QUALITY)
    decoded = np.asarray(Image.open(io.BytesIO(data))) > 127
    if not np.array_equal(decoded, mask):
        changed = int((decoded != mask).sum())
        raise RuntimeError(f"{where}: JPEG changed {changed} mask pixels across the 127 threshold")
    return data


def voc_annotation(
    filename: str, width: int, height: int, boxes: np.ndarray, names: list[str]
) -> str:
    """A Pascal VOC annotation of pixel-edge boxes: ``(x1 + 1, y1 + 1, x2, y2)``, 1-based pixels."""
    objects = []
    for (x1, y1, x2, y2), name in zip(boxes.astype(int).tolist(), names, strict=True):
        truncated = int(x1 == 0 or y1 == 0 or x2 == width or y2 == height)
        objects.append(
            "\t<object>\n"
            f"\t\t<name>{name}</name>\n"
            "\t\t<pose>Unspecified</pose>\n"
            f"\t\t<truncated>{truncated}</truncated>\n"
            "\t\t<difficult>0</difficult>\n"
            "\t\t<bndbox>\n"
            f"\t\t\t<xmin>{x1 + 1}</xmin>\n"
            f"\t\t\t<ymin>{y1 + 1}</ymin>\n"
            f"\t\t\t<xmax>{x2}</xmax>\n"
            f"\t\t\t<ymax>{y2}</ymax>\n"
            "\t\t</bndbox>\n"
            "\t</object>\n"
        )
    return (
        "<annotation>\n"
        "\t<folder>shapes</folder>\n"
        f"\t<filename>{filename}</filename>\n"
        "\t<source>\n\t\t<database>Boxes &amp; Masks synthetic shapes</database>\n\t</source>\n"
        f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n"
        "\t\t<depth>3</depth>\n\t</size>\n"
        "\t<segmented>0</segmented>\n" + "".join(objects) + "</annotation>\n"
    )


def water_files(seed: int, index: int) -> dict[str, bytes]:
    """The files of water image ``index``: ``{relative path: bytes}`` (image and mask)."""
    image, mask = water_sample(seed, index)
    name = f"water_body_{index:04d}.jpg"
    return {
        f"Images/{name}": _jpeg_bytes(image, IMAGE_QUALITY),
        f"Masks/{name}": _mask_jpeg(mask, f"water mask {index} (seed {seed})"),
    }


def voc_palette() -> list[int]:
    """Pascal VOC's colour map for palette PNGs: 256 ``(r, g, b)`` entries, flattened.

    Entry ``i`` takes the bits of ``i`` three at a time, most significant first into bit 7 of
    red, green and blue (the devkit's ``labelcolormap``): 0 black, 1 dark red, 2 dark green...,
    255 the cream VOC uses for "void".
    """
    palette = []
    for entry in range(256):
        red = green = blue = 0
        value = entry
        for shift in range(7, -1, -1):
            red |= ((value >> 0) & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        palette += [red, green, blue]
    return palette


_VOC_PALETTE = voc_palette()


def _palette_png(values: np.ndarray, where: str) -> bytes:
    """``uint8 [H, W]`` palette indices as an 8-bit PNG with VOC's colour map (checked lossless)."""
    height, width = values.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(values, np.uint8).tobytes())
    image.putpalette(_VOC_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        if decoded.mode != "P" or not np.array_equal(np.asarray(decoded), values):
            raise RuntimeError(f"{where}: the PNG does not decode to the values written")
    return data


def instance_pngs(masks: np.ndarray, labels: np.ndarray, where: str = "") -> tuple[bytes, bytes]:
    """VOC's ``SegmentationObject`` and ``SegmentationClass`` PNGs of non-overlapping masks.

    Args:
        masks: ``bool [N, H, W]``, pairwise disjoint (``N <= 254``).
        labels: ``int [N]`` 0-based class of each mask (written as ``label + 1``).
        where: names the image in errors.

    Returns:
        ``(object_png, class_png)``: palette index ``i + 1`` on the pixels of mask ``i`` (0
        elsewhere), and ``labels[i] + 1`` there.

    Raises:
        ValueError: for overlapping masks, more than 254 of them, or mismatched lengths.
    """
    if len(masks) != len(labels) or len(masks) > 254:
        raise ValueError(f"{where}: {len(masks)} masks for {len(labels)} labels (at most 254)")
    if masks.sum(axis=0).max(initial=0) > 1:
        raise ValueError(f"{where}: instance masks overlap (VOC's SegmentationObject cannot)")
    objects = np.zeros(masks.shape[1:], np.uint8)
    classes = np.zeros(masks.shape[1:], np.uint8)
    for number, (mask, label) in enumerate(zip(masks, labels.tolist(), strict=True)):
        objects[mask] = number + 1
        classes[mask] = label + 1
    return _palette_png(objects, f"{where} objects"), _palette_png(classes, f"{where} classes")


def shapes_files(seed: int, index: int) -> dict[str, bytes]:
    """The files of shapes image ``index``: ``{relative path: bytes}`` (image, XML, two PNGs)."""
    image, boxes, labels, masks = shapes_instances(seed, index)
    image_id = f"shapes_{index:04d}"
    names = [SHAPES_CLASSES[label] for label in labels.tolist()]
    xml = voc_annotation(f"{image_id}.jpg", SHAPES_WIDTH, SHAPES_HEIGHT, boxes, names)
    objects, classes = instance_pngs(masks, labels, f"shapes image {index} (seed {seed})")
    return {
        f"JPEGImages/{image_id}.jpg": _jpeg_bytes(image, IMAGE_QUALITY),
        f"Annotations/{image_id}.xml": xml.encode("utf-8"),
        f"SegmentationObject/{image_id}.png": objects,
        f"SegmentationClass/{image_id}.png": classes,
    }


def shapes_split_files(seed: int, count: int, test_count: int) -> dict[str, bytes]:
    """``ImageSets/{Main,Segmentation}/{train,test}.txt``: a seeded choice of test images.

    ``test_count`` images form the test split, the rest train; every image has its masks, so
    the segmentation lists are the detection lists.
    """
    order = np.random.default_rng([seed, _SHAPES_STREAM]).permutation(count)
    splits = {
        "test": sorted(order[:test_count].tolist()),
        "train": sorted(order[test_count:].tolist()),
    }
    return {
        f"ImageSets/{task}/{split}.txt": "".join(
            f"shapes_{index:04d}\n" for index in indices
        ).encode()
        for task in ("Main", "Segmentation")
        for split, indices in splits.items()
    }


def _write(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _render(
    draw: Callable[[int, int], dict[str, bytes]], seed: int, indices: Iterable[int], jobs: int
) -> Iterator[dict[str, bytes]]:
    """``draw(seed, index)`` for each index, in order, on ``jobs`` processes (1: this one)."""
    indices = list(indices)
    if jobs <= 1 or len(indices) < 8:
        yield from (draw(seed, index) for index in indices)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(draw, [seed] * len(indices), indices, chunksize=8)


def write_water(
    out: str | Path,
    seed: int = 0,
    count: int = WATER_COUNT,
    jobs: int = 1,
    only: Iterable[int] | None = None,
) -> Path:
    """Writes the water set into ``out/`` (``Images/``, ``Masks/``); returns ``out``.

    Args:
        out: target folder (created if missing).
        seed: data set seed.
        count: number of images.
        jobs: worker processes (the bytes do not depend on it).
        only: write just these image numbers (each image has its own random stream, so they
            come out as in the full set).
    """
    root = Path(out)
    for files in _render(water_files, seed, range(count) if only is None else only, jobs):
        _write(root, files)
    return root


def write_shapes(
    out: str | Path,
    seed: int = 0,
    count: int = SHAPES_COUNT,
    test_count: int = SHAPES_TEST_COUNT,
    jobs: int = 1,
    only: Iterable[int] | None = None,
) -> Path:
    """Writes the shapes set into ``out/`` in Pascal VOC layout, with its masks; returns ``out``.

    Args:
        out: target folder (created if missing).
        seed: data set seed.
        count: number of images.
        test_count: how many of them (a seeded choice) form the ``test`` split; the rest ``train``.
        jobs: worker processes (the bytes do not depend on it).
        only: write just these image numbers (and the split files).
    """
    root = Path(out)
    for files in _render(shapes_files, seed, range(count) if only is None else only, jobs):
        _write(root, files)
    _write(root, shapes_split_files(seed, count, min(test_count, count)))
    return root
