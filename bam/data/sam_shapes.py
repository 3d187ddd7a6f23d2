"""Synthetic shapes for pretraining the tiny SAM (``bam pretrain sam``): one box prompt per object.

Images of textured shapes on a textured background, with each object's mask and its box, drawn
with torch from a ``torch.Generator`` (the same seed, the same batch) by the course's one shape
drawer (``bam.data.shape_drawer``: ellipses, polygons, blobs and bands)::

    images, masks, boxes = synthetic_batch(6, 256, torch.Generator().manual_seed(0))
    # Tensor[B, 3, S, S] in [0, 1], Tensor[B, K, S, S] bool, Tensor[B, K, 4] xyxy pixels
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import masks_to_boxes

from bam.data.shape_drawer import SHAPE_KINDS, band_mask, blob_mask, polygon_mask, shape_mask


def _uniform(
    generator: torch.Generator, low: float, high: float, size: tuple[int, ...] = ()
) -> Tensor:
    return low + (high - low) * torch.rand(size, generator=generator)


def _texture(size: int, generator: torch.Generator) -> Tensor:
    """A random material: base colour plus smooth and fine noise. Returns Tensor[3, S, S]."""
    color = torch.rand(3, 1, 1, generator=generator)
    cells = int(torch.randint(2, 24, (), generator=generator))
    smooth = torch.randn(1, 3, cells, cells, generator=generator)
    smooth = F.interpolate(smooth, size=(size, size), mode="bilinear", align_corners=False)[0]
    fine = torch.randn(1, size, size, generator=generator)  # grey grain, [1, S, S]
    smooth_amount = _uniform(generator, 0.0, 0.15)
    fine_amount = _uniform(generator, 0.0, 0.06)
    return color + smooth_amount * smooth + fine_amount * fine


def _material_pair(size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two textures whose mean colours differ enough to tell apart (most of the time)."""
    first = _texture(size, generator)
    for _ in range(20):
        second = _texture(size, generator)
        distance = (first.mean(dim=(1, 2)) - second.mean(dim=(1, 2))).norm()
        if distance > 0.2:
            break
    return first, second


def _ellipse(xx: Tensor, yy: Tensor, generator: torch.Generator) -> Tensor:
    size = xx.shape[-1]
    center = _uniform(generator, 0.1, 0.9, (2,)) * size
    axes = _uniform(generator, 0.04, 0.3, (2,)) * size  # half-axes, along then across
    angle = float(_uniform(generator, 0.0, math.pi))
    extent, aspect = 2 * float(axes[0]), float(axes[1] / axes[0])
    return shape_mask(
        SHAPE_KINDS.index("ellipse"), xx - center[0], yy - center[1], extent, angle, aspect
    )


def _radial(xx: Tensor, yy: Tensor, generator: torch.Generator, polygon: bool) -> Tensor:
    """A star-shaped region around a centre: a random polygon or a smooth blob."""
    size = xx.shape[-1]
    center = _uniform(generator, 0.15, 0.85, (2,)) * size
    radius = _uniform(generator, 0.06, 0.3) * size
    dx, dy = xx - center[0], yy - center[1]  # [S, S]
    if polygon:
        corners = int(torch.randint(3, 9, (), generator=generator))
        vertex_angles = torch.sort(_uniform(generator, -math.pi, math.pi, (corners,))).values
        vertex_radii = radius * _uniform(generator, 0.6, 1.0, (corners,))
        vertices = torch.stack(
            [vertex_radii * torch.cos(vertex_angles), vertex_radii * torch.sin(vertex_angles)],
            dim=1,
        )  # [K, 2], around the centre
        return polygon_mask(dx, dy, vertices)
    amplitudes = _uniform(generator, 0.0, 0.25, (5,)) / torch.arange(1, 6, dtype=torch.float32)
    phases = _uniform(generator, 0.0, 2 * math.pi, (5,))
    return blob_mask(dx, dy, radius, amplitudes, phases)


def _stroke(xx: Tensor, yy: Tensor, generator: torch.Generator) -> Tensor:
    """A thin curved band (a river, a road): a wavy curve between two points, of some width."""
    size = xx.shape[-1]
    if torch.rand((), generator=generator) < 0.6:  # across the image, from one side to another
        sides = torch.randperm(4, generator=generator)[:2]
        ends = []
        for side in sides.tolist():
            along = float(_uniform(generator, 0.0, 1.0)) * size
            ends.append(
                [(along, -5.0), (size + 5.0, along), (along, size + 5.0), (-5.0, along)][side]
            )
        start, end = torch.tensor(ends[0]), torch.tensor(ends[1])
    else:
        start = _uniform(generator, 0.1, 0.9, (2,)) * size
        end = _uniform(generator, 0.1, 0.9, (2,)) * size
    t = torch.linspace(0, 1, 32)[:, None]  # [N, 1]
    chord = end - start
    normal = torch.stack([-chord[1], chord[0]]) / (chord.norm() + 1e-6)
    bend = _uniform(generator, -0.3, 0.3) * chord.norm()
    wave = _uniform(generator, 0.0, 0.06) * size
    frequency = _uniform(generator, 0.5, 3.0)
    offset = bend * 4 * t * (1 - t) + wave * torch.sin(2 * math.pi * frequency * t)  # [N, 1]
    points = start + t * chord + offset * normal  # [N, 2]
    return band_mask(xx, yy, points, _uniform(generator, 1.5, 8.0))


def _shape(xx: Tensor, yy: Tensor, generator: torch.Generator) -> Tensor:
    kind = int(torch.randint(0, 4, (), generator=generator))
    if kind == 0:
        return _ellipse(xx, yy, generator)
    if kind == 3:
        return _stroke(xx, yy, generator)
    return _radial(xx, yy, generator, polygon=kind == 1)


def jittered_box(mask: Tensor, jitter: int, generator: torch.Generator) -> Tensor:
    """Tight box of a non-empty ``mask [H, W]``, each side moved by up to ``jitter`` px, clamped.

    Returns:
        Tensor[4] float ``(x1, y1, x2, y2)``.
    """
    height, width = mask.shape
    box = masks_to_boxes(mask[None])[0] + torch.tensor([0.0, 0.0, 1.0, 1.0])  # pixel edges
    box = box + torch.randint(-jitter, jitter + 1, (4,), generator=generator).float()
    upper = torch.tensor([width, height, width, height], dtype=torch.float32)
    box = torch.minimum(box.clamp(min=0), upper)
    low, high = torch.minimum(box[:2], box[2:]), torch.maximum(box[:2], box[2:])
    return torch.cat([low, high])


def _upsample_shape(shape: Tensor, size: int) -> Tensor:
    """A half-resolution shape [S/2, S/2] bool -> [S, S] bool with a smooth outline."""
    soft = F.interpolate(shape[None, None].float(), size=(size, size), mode="bilinear")
    return soft[0, 0] > 0.5


def synthetic_sample(
    size: int, generator: torch.Generator, objects: int = 3, max_jitter: int = 8
) -> tuple[Tensor, Tensor, Tensor]:
    """One training image with several objects, the mask of each and a box prompt for each.

    Each object is one shape (sometimes two) of its own material, painted in turn over a
    textured background, so later objects hide parts of earlier ones; an object's mask is what
    remains visible. Prompting every object of the same image teaches the model to segment
    *the object in the box*, not just whatever stands out.

    Args:
        size: image side S.
        generator: the random source (the whole sample is a function of its state).
        objects: objects (and prompts) K per image.
        max_jitter: box sides move by up to this many pixels (chosen per image).

    Returns:
        ``(image, masks, boxes)``: Tensor[3, S, S] in [0, 1], Tensor[K, S, S] bool (each
        mask at least 40 pixels), Tensor[K, 4] float.
    """
    low = size // 2  # shapes and materials are drawn at half resolution, then upsampled
    coordinates = torch.arange(low, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coordinates, coordinates, indexing="ij")  # [S/2, S/2] each

    def upsample(texture: Tensor) -> Tensor:
        return F.interpolate(
            texture[None], size=(size, size), mode="bilinear", align_corners=False
        )[0]

    while True:
        materials = [_texture(low, generator) for _ in range(objects)]
        background = _texture(low, generator)
        image = upsample(background)  # [3, S, S]
        shapes = []
        for material in materials:
            shape = _shape(xx, yy, generator)
            if torch.rand((), generator=generator) < 0.2:  # two pieces of one material
                shape = shape | _shape(xx, yy, generator)
            shapes.append(_upsample_shape(shape, size))
            image = torch.where(shapes[-1], upsample(material), image)
        hidden = torch.zeros(size, size, dtype=torch.bool)
        masks = []
        for shape in reversed(shapes):  # visible part: not covered by objects painted later
            masks.append(shape & ~hidden)
            hidden = hidden | shape
        masks = torch.stack(masks[::-1])  # [K, S, S]
        if bool((masks.sum(dim=(1, 2)) >= 40).all()):
            break
    image = image + _uniform(generator, 0.0, 0.05) * torch.randn(1, size, size, generator=generator)
    if torch.rand((), generator=generator) < 0.5:  # soft edges, as in photographs and JPEGs
        image = F.avg_pool2d(image[None], 3, stride=1, padding=1, count_include_pad=False)[0]
    jitter = int(torch.randint(0, max_jitter + 1, (), generator=generator))
    boxes = torch.stack([jittered_box(mask, jitter, generator) for mask in masks])  # [K, 4]
    return image.clamp(0, 1), masks, boxes


def synthetic_batch(
    batch_size: int, size: int, generator: torch.Generator, objects: int = 3
) -> tuple[Tensor, Tensor, Tensor]:
    """A batch of :func:`synthetic_sample`: Tensor[B, 3, S, S], Tensor[B, K, S, S], Tensor[B, K, 4]."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many small tensor operations: threads cost more than they give
    try:
        samples = [synthetic_sample(size, generator, objects) for _ in range(batch_size)]
    finally:
        torch.set_num_threads(threads)
    images, masks, boxes = (torch.stack(parts) for parts in zip(*samples, strict=True))
    return images, masks, boxes
