"""Loaders for the course's data: a segmentation folder and a Pascal VOC detection folder.

Both are ``torch.utils.data.Dataset`` s built on the lesson-1 exercises: pass ``impl`` to choose
whose code they run (``"lessons"`` for a student's own, ``"solutions"`` for the reference, or a
module). The bundled synthetic sets live under ``BUNDLED_DATA``; a real data set in the same
layout works by passing its path.

Everything is checked when a folder is opened (file headers only, which is fast), so bad data
fails at once with a ``DatasetError`` that names the file and the problem, not later deep inside
a training loop.

Box convention (the course's one, see the conventions page). Tensors hold ``(x1, y1, x2, y2)``
floats in continuous pixel-edge coordinates, as torchvision's box ops and albumentations'
``pascal_voc``: pixel ``i`` spans ``[i, i + 1)``, so a box around the pixels ``a..b`` (inclusive)
has ``x1 = a`` and ``x2 = b + 1``, its width is ``x2 - x1``, and a horizontal flip is
``x' = W - x``. A VOC file stores the first and last pixel of the box, 1-based:
``xmin = a + 1`` and ``xmax = b + 1``; a box inside a ``W x H`` image has ``1 <= xmin <= xmax <= W``.
Loading gives ``(xmin - 1, ymin - 1, xmax, ymax)``, as detectron2's VOC loader does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


class DatasetError(ValueError):
    """A data set on disk is not in the expected layout; the message names the file and why."""


def dataset_impl(impl: ModuleType | str | None = None) -> ModuleType:
    """The lesson-1 ``dataset`` module whose exercises the loaders run.

    Args:
        impl: a module, ``"lessons"`` or ``"solutions"`` (the package), or ``None``: the
            reference solutions when present, else the student's lessons.

    Returns:
        The module, e.g. ``lessons.dataset``.
    """
    if isinstance(impl, ModuleType):
        return impl
    from bam.implementations import default_impl, lesson_module

    return lesson_module("dataset", impl if impl is not None else default_impl())


def image_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of an image file, reading its header only.

    Raises:
        DatasetError: if the file is missing or not an image Pillow can read.
    """
    try:
        with Image.open(path) as file:
            width, height = file.size
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"{path}: unreadable image ({error})") from None
    return height, width


def load_image(path: Path) -> Tensor:
    """An image file as float ``[3, H, W]`` in [0, 1] (grey and RGBA become RGB).

    Raises:
        DatasetError: if the file cannot be decoded.
    """
    try:
        with Image.open(path) as file:
            pixels = np.asarray(file.convert("RGB"))  # [H, W, 3]
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"{path}: unreadable image ({error})") from None
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


# ----------------------------------------------------------------------------- segmentation


class SegmentationFolder(Dataset):
    """Image/mask pairs in the Kaggle "Satellite Images of Water Bodies" layout.

    ``root/Images/<name>`` and ``root/Masks/<name>``: a mask has the same file name as its image
    (or the same stem with another image suffix), the same size, and is white (> 127) where the
    object is.

    Args:
        root: the folder holding ``Images/`` and ``Masks/``.
        size: side S every sample is resized to.
        indices: which pairs (positions in name order) this data set holds, e.g. one side of
            ``train_test_split``; all of them by default.
        augment: an Albumentations-style callable applied to every sample after resizing
            (``augment(image=HWC float32, mask=HW uint8)``; a ``Compose`` with box parameters
            also gets empty ``bboxes`` and ``labels``). ``None``: no augmentation.
        impl: whose ``load_segmentation_pair`` to run (see ``dataset_impl``).

    Raises:
        DatasetError: for a missing folder, an empty folder, an image without a mask, a mask
            whose size differs from its image's, an unreadable file, or an index out of range.
    """

    def __init__(
        self,
        root: str | Path,
        size: int,
        indices: list[int] | Tensor | None = None,
        augment: Callable[..., dict[str, Any]] | None = None,
        impl: ModuleType | str | None = None,
    ) -> None:
        self.root = Path(root)
        self.size = size
        self.augment = augment
        self.impl = dataset_impl(impl)
        self.pairs = self._find_pairs()
        count = len(self.pairs)
        self.indices = list(range(count)) if indices is None else [int(i) for i in indices]
        outside = [index for index in self.indices if not 0 <= index < count]
        if outside:
            raise DatasetError(f"{self.root}: indices {outside[:5]} are outside 0..{count - 1}")

    def _find_pairs(self) -> list[tuple[Path, Path]]:
        images_dir, masks_dir = self.root / "Images", self.root / "Masks"
        for folder in (images_dir, masks_dir):
            if not folder.is_dir():
                raise DatasetError(
                    f"{folder}: folder not found (expected Images/ and Masks/ in {self.root})"
                )
        images = _images_in(images_dir)
        if not images:
            raise DatasetError(
                f"{images_dir}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder"
            )
        masks_by_stem = {path.stem: path for path in _images_in(masks_dir)}
        pairs = []
        for image_path in images:
            mask_path = masks_dir / image_path.name
            if not mask_path.is_file():
                mask_path = masks_by_stem.get(image_path.stem)
            if mask_path is None:
                raise DatasetError(
                    f"{image_path}: image without a mask (no {masks_dir / image_path.name})"
                )
            image_shape, mask_shape = image_size(image_path), image_size(mask_path)
            if image_shape != mask_shape:
                raise DatasetError(
                    f"{mask_path}: mask of size {mask_shape[1]}x{mask_shape[0]} (WxH) for an"
                    f" image of size {image_shape[1]}x{image_shape[0]} ({image_path.name})"
                )
            pairs.append((image_path, mask_path))
        return pairs

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[Tensor, Tensor]:
        """Sample ``position``: ``(image float [3, S, S] in [0, 1], mask float [S, S])``."""
        image_path, mask_path = self.pairs[self.indices[position]]
        try:
            image, mask = self.impl.load_segmentation_pair(image_path, mask_path, self.size)
        except (UnidentifiedImageError, OSError) as error:
            raise DatasetError(f"{image_path} / {mask_path.name}: unreadable ({error})") from None
        if self.augment is not None:
            image, mask = augment_pair(self.augment, image, mask)
        return image, mask

    def name(self, position: int) -> str:
        """The image file's stem of sample ``position`` (figures are named after it)."""
        return self.pairs[self.indices[position]][0].stem


def augment_pair(
    augment: Callable[..., dict[str, Any]], image: Tensor, mask: Tensor
) -> tuple[Tensor, Tensor]:
    """An image ``[3, H, W]`` and its mask ``[H, W]`` through an Albumentations-style callable.

    A ``Compose`` with box parameters also gets empty ``bboxes`` and ``labels``.

    Returns:
        ``(image float [3, H', W'], mask float [H', W'])``.
    """
    arguments: dict[str, Any] = {
        "image": image.permute(1, 2, 0).numpy().astype(np.float32),
        "mask": mask.numpy().astype(np.uint8),
    }
    if "bboxes" in getattr(augment, "processors", {}):
        arguments.update(bboxes=np.zeros((0, 4), np.float32), labels=[])
    result = augment(**arguments)
    image = torch.from_numpy(np.ascontiguousarray(result["image"])).permute(2, 0, 1).float()
    return image, torch.from_numpy(np.ascontiguousarray(result["mask"])).float()


# ----------------------------------------------------------------------------- detection


@dataclass
class VocAnnotation:
    """One parsed VOC file: boxes already in the course convention (pixel edges)."""

    path: Path
    filename: str
    size: tuple[int, int] | None  # (height, width) from <size>, when present
    boxes: np.ndarray  # float [N, 4]
    names: list[str]
    difficult: np.ndarray  # bool [N]


def read_voc_annotation(path: str | Path) -> VocAnnotation:
    """Parses a Pascal VOC XML file; boxes become pixel-edge ``(xmin - 1, ymin - 1, xmax, ymax)``.

    Raises:
        DatasetError: for a file that is not XML or an object without a name or a box.
    """
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        raise DatasetError(f"{path}: not a readable VOC XML file ({error})") from None
    size_node = root.find("size")
    size = None
    if size_node is not None and size_node.findtext("width") and size_node.findtext("height"):
        size = (int(float(size_node.findtext("height"))), int(float(size_node.findtext("width"))))
    rows, names, difficult = [], [], []
    for number, node in enumerate(root.iter("object")):
        name = (node.findtext("name") or "").strip()
        box = node.find("bndbox")
        if not name or box is None:
            raise DatasetError(f"{path}: object {number} has no <name> or no <bndbox>")
        try:
            values = [float(box.findtext(key)) for key in ("xmin", "ymin", "xmax", "ymax")]
        except (TypeError, ValueError):
            raise DatasetError(
                f"{path}: object {number} ({name}) has a box that is not 4 numbers"
            ) from None
        xmin, ymin, xmax, ymax = values  # 1-based first and last pixel
        rows.append([xmin - 1, ymin - 1, xmax, ymax])  # pixel edges
        names.append(name)
        difficult.append((node.findtext("difficult") or "0").strip() == "1")
    filename = (root.findtext("filename") or f"{path.stem}.jpg").strip()
    return VocAnnotation(
        path,
        filename,
        size,
        np.array(rows, np.float32).reshape(-1, 4),
        names,
        np.array(difficult, bool),
    )


VOID = 255
"""VOC's "not scored" value in SegmentationObject/SegmentationClass PNGs: belongs to no mask."""


def read_palette_png(path: Path) -> np.ndarray:
    """The palette indices (or grey values) of a VOC segmentation PNG, ``uint8 [H, W]``.

    Raises:
        DatasetError: if the file is unreadable or holds colours rather than indices.
    """
    try:
        with Image.open(path) as file:
            if file.mode not in ("P", "L"):
                raise DatasetError(
                    f"{path}: a {file.mode} image; VOC segmentation PNGs hold one index per"
                    " pixel (palette 'P' or grey 'L'), not colours"
                )
            return np.asarray(file).copy()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"{path}: unreadable image ({error})") from None


def instance_masks(
    objects: np.ndarray,
    labels: list[int],
    classes: np.ndarray | None,
    object_path: Path,
    class_path: Path | None = None,
) -> np.ndarray:
    """The masks of a VOC ``SegmentationObject`` map, one per XML object, checked.

    Args:
        objects: ``uint8 [H, W]``: 0 background, ``i`` the ``i``-th object of the XML
            (1-based), ``VOID`` (255) no object.
        labels: the class label (1..C) of each XML object, in the XML's order.
        classes: the matching ``SegmentationClass`` map ``uint8 [H, W]`` (the class label on
            each object's pixels, 0 background, 255 void), or ``None`` if there is none.
        object_path: the object PNG (named in errors).
        class_path: the class PNG (named in errors).

    Returns:
        ``bool [N, H, W]``: mask ``i`` is where ``objects == i + 1``; the masks never overlap.

    Raises:
        DatasetError: for an instance id without an XML object, an object without pixels, or
            an object whose pixels carry another class in ``SegmentationClass``.
    """
    count = len(labels)
    present = np.unique(objects)
    extra = [int(value) for value in present if count < value < VOID]
    if extra:
        raise DatasetError(
            f"{object_path}: instance id {extra[0]} has no object: the annotation lists"
            f" {count} object{'s' if count != 1 else ''} (ids 1..{count}; 0 is background,"
            f" {VOID} void)"
        )
    masks = objects[None] == np.arange(1, count + 1, dtype=np.int64)[:, None, None]  # [N, H, W]
    empty = np.flatnonzero(~masks.any(axis=(1, 2)))
    if empty.size:
        raise DatasetError(
            f"{object_path}: object {int(empty[0])} of the annotation (instance id"
            f" {int(empty[0]) + 1}) has no pixels"
        )
    if classes is not None:
        if classes.shape != objects.shape:
            raise DatasetError(
                f"{class_path}: size {classes.shape[1]}x{classes.shape[0]} (WxH) differs from"
                f" {object_path.name}'s {objects.shape[1]}x{objects.shape[0]}"
            )
        for number, (mask, label) in enumerate(zip(masks, labels, strict=True)):
            found = classes[mask]
            wrong = (found != label) & (found != VOID)
            if wrong.any():
                values = sorted({int(value) for value in found[wrong]})
                raise DatasetError(
                    f"{class_path}: object {number} (instance id {number + 1}) is class"
                    f" {label} in the annotation but {int(wrong.sum())} of its pixels are class"
                    f" {values} in SegmentationClass"
                )
    return masks


class DetectionFolder(Dataset):
    """A detection set in Pascal VOC layout, with instance masks where the folder has them.

    ``root/ImageSets/Main/<split>.txt`` (or ``Segmentation/``) lists image ids;
    ``root/Annotations/<id>.xml`` holds each image's objects and ``root/JPEGImages/<filename>``
    the image. Instance masks come from
    ``root/SegmentationObject/<id>.png`` (VOC's palette PNG: 0 background, ``i`` the ``i``-th
    ``<object>`` of the XML, 255 void) and are checked against
    ``root/SegmentationClass/<id>.png`` when it exists (the class label ``1..C``, numbered as
    ``classes``, on each object's pixels).

    Args:
        root: the VOC folder (e.g. ``VOCdevkit/VOC2007`` or the bundled ``data/shapes``).
        split: ``"train"``, ``"test"``, ``"val"``, ... (a file in ``ImageSets/Main``).
        size: resize every image to ``(height, width)`` (an int means square) and its boxes with
            ``resize_boxes``; ``None`` keeps each image's own size.
        classes: the class names, whose label is their position + 1 (0 is background); by
            default the sorted names found in all of ``Annotations/``.
        impl: whose ``resize_boxes`` to run (see ``dataset_impl``).
        image_set: the folder of ``ImageSets`` that lists the split: ``"Main"`` (VOC's
            detection lists) or ``"Segmentation"`` (the images that have masks).
        masks: ``None`` (default): load instance masks when ``SegmentationObject/`` holds a PNG
            for every image of the split (VOC itself segments only some images: its detection
            splits then load as before, without masks); ``True``: require them; ``False``:
            never read them (the detectors train on boxes alone).

    A sample is ``(image float [3, H, W] in [0, 1], target)`` with ``target["boxes"]`` float32
    ``[N, 4]`` (pixel edges), ``target["labels"]`` int64 ``[N]`` in 1..C,
    ``target["difficult"]`` bool ``[N]``, ``target["image_id"]`` (the position in the split)
    and, with masks, ``target["masks"]`` bool ``[N, H, W]`` (object ``i``'s pixels, void left
    out; resized with the image by nearest neighbour, where a small object may lose all its
    pixels).

    Raises:
        DatasetError: for a missing or empty split, a missing or unreadable image, an image whose
            size differs from its annotation's, a box outside the image or with ``xmax < xmin`` or
            ``ymax < ymin``, or a class not in ``classes``; with masks, for a missing mask PNG
            (``masks=True``), a PNG whose size differs from its image's, and, when the sample
            is read, an instance id without an object, an object without pixels, or an object
            whose class in ``SegmentationClass`` differs from the XML's.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        size: int | tuple[int, int] | None = None,
        classes: list[str] | tuple[str, ...] | None = None,
        impl: ModuleType | str | None = None,
        masks: bool | None = None,
        image_set: str = "Main",
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.size = (size, size) if isinstance(size, int) else size
        self.impl = dataset_impl(impl)
        list_path = self.root / "ImageSets" / image_set / f"{split}.txt"
        if not list_path.is_file():
            found = sorted(path.stem for path in list_path.parent.glob("*.txt"))
            raise DatasetError(
                f"{list_path}: split {split!r} not found (splits here: {found or 'none'})"
            )
        self.ids = [line.split()[0] for line in list_path.read_text().splitlines() if line.strip()]
        if not self.ids:
            raise DatasetError(f"{list_path}: the split is empty (no image ids)")
        self.annotations = [read_voc_annotation(self._annotation_path(id_)) for id_ in self.ids]
        if classes is None:
            names = {name for entry in self.annotations for name in entry.names}
            for path in sorted((self.root / "Annotations").glob("*.xml")):
                if path.stem not in self.ids:
                    names.update(read_voc_annotation(path).names)
            classes = sorted(names)
        self.classes = tuple(classes)
        self.image_sizes = [self._validate(entry) for entry in self.annotations]
        self.has_masks = self._find_masks(masks)

    def _mask_paths(self, index: int) -> tuple[Path, Path | None]:
        """``SegmentationObject`` and (when present) ``SegmentationClass`` PNGs of an image."""
        image_id = self.ids[index]
        class_path = self.root / "SegmentationClass" / f"{image_id}.png"
        return (
            self.root / "SegmentationObject" / f"{image_id}.png",
            class_path if class_path.is_file() else None,
        )

    def _find_masks(self, wanted: bool | None) -> bool:
        """Whether samples get masks; checks every PNG's size (headers only) if they do."""
        if wanted is False:
            return False
        folder = self.root / "SegmentationObject"
        missing = [
            folder / f"{image_id}.png"
            for image_id in self.ids
            if not (folder / f"{image_id}.png").is_file()
        ]
        if missing:
            if wanted:
                raise DatasetError(
                    f"{missing[0]}: instance mask not found ({len(missing)} of the"
                    f" {len(self.ids)} images of the {self.split!r} split have none)"
                )
            return False
        for index, (height, width) in enumerate(self.image_sizes):
            for path in self._mask_paths(index):
                if path is None:
                    continue
                mask_height, mask_width = image_size(path)
                if (mask_height, mask_width) != (height, width):
                    raise DatasetError(
                        f"{path}: mask of size {mask_width}x{mask_height} (WxH) for an image of"
                        f" size {width}x{height} ({self.annotations[index].filename})"
                    )
        return True

    def masks(self, index: int) -> Tensor:
        """The instance masks of image ``index`` at its own size, ``bool [N, H, W]``.

        Raises:
            DatasetError: see the class (ids without objects, objects without pixels, classes
                that differ from the XML's).
        """
        object_path, class_path = self._mask_paths(index)
        labels = [self.classes.index(name) + 1 for name in self.annotations[index].names]
        objects = read_palette_png(object_path)
        classes = None if class_path is None else read_palette_png(class_path)
        return torch.from_numpy(instance_masks(objects, labels, classes, object_path, class_path))

    def _annotation_path(self, image_id: str) -> Path:
        path = self.root / "Annotations" / f"{image_id}.xml"
        if not path.is_file():
            raise DatasetError(f"{path}: annotation not found (listed in the {self.split!r} split)")
        return path

    def _validate(self, entry: VocAnnotation) -> tuple[int, int]:
        image_path = self.root / "JPEGImages" / entry.filename
        height, width = image_size(image_path)
        if entry.size is not None and entry.size != (height, width):
            raise DatasetError(
                f"{entry.path}: says the image is {entry.size[1]}x{entry.size[0]} (WxH) but"
                f" {image_path.name} is {width}x{height}"
            )
        for number, ((x1, y1, x2, y2), name) in enumerate(
            zip(entry.boxes, entry.names, strict=True)
        ):
            voc = f"VOC ({x1 + 1:g}, {y1 + 1:g}, {x2:g}, {y2:g})"
            if name not in self.classes:
                raise DatasetError(
                    f"{entry.path}: object {number} has unknown class {name!r}"
                    f" (known: {', '.join(self.classes)})"
                )
            if x2 <= x1 or y2 <= y1:
                raise DatasetError(
                    f"{entry.path}: object {number} ({name}) box {voc} has xmax < xmin or ymax < ymin"
                )
            if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
                raise DatasetError(
                    f"{entry.path}: object {number} ({name}) box {voc} is outside the"
                    f" {width}x{height} image (VOC boxes are 1-based: 1 <= xmin, xmax <= width)"
                )
        return height, width

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        entry = self.annotations[index]
        image = load_image(self.root / "JPEGImages" / entry.filename)  # [3, H, W]
        boxes = torch.from_numpy(entry.boxes.copy())  # [N, 4]
        masks = self.masks(index) if self.has_masks else None  # [N, H, W]
        if self.size is not None and tuple(image.shape[-2:]) != tuple(self.size):
            old_size = tuple(image.shape[-2:])
            image = F.interpolate(
                image[None], size=self.size, mode="bilinear", align_corners=False, antialias=True
            )[0].clamp(0, 1)
            boxes = self.impl.resize_boxes(boxes, old_size, tuple(self.size))
            if masks is not None:  # pixel centres map as the box edges scale
                masks = F.interpolate(masks[None].float(), size=self.size, mode="nearest-exact")
                masks = masks[0] > 0.5
        labels = torch.tensor(
            [self.classes.index(name) + 1 for name in entry.names], dtype=torch.int64
        )
        target = {
            "boxes": boxes.float(),
            "labels": labels,
            "difficult": torch.from_numpy(entry.difficult.copy()),
            "image_id": torch.tensor(index),
        }
        if masks is not None:
            target["masks"] = masks
        return image, target


# ----------------------------------------------------------------------------- instances


def has_instance_masks(root: str | Path) -> bool:
    """Whether ``root`` is a VOC folder with instance masks (``Annotations/`` and
    ``SegmentationObject/``), as the bundled ``data/shapes``."""
    root = Path(root)
    return (root / "Annotations").is_dir() and (root / "SegmentationObject").is_dir()


class InstanceMaskFolder(Dataset):
    """One sample per object of a VOC folder with instance masks: the image and that object's mask.

    What lesson 4's SAM fine-tuning needs from an instance set: each object is a segmentation
    sample of its own, ``(image [3, S, S], mask [S, S])`` like a ``SegmentationFolder``'s, its
    box prompt made from the mask. Images and masks are resized to ``S x S`` by the
    ``DetectionFolder`` (bilinear for the image, nearest neighbour for the masks); an object
    that resizing leaves without pixels gives an empty mask (the training loop skips those).

    Args:
        root: the VOC folder (``data/shapes``).
        split: the split, listed in ``ImageSets/Segmentation/<split>.txt`` (or ``Main/`` when
            the folder has no segmentation lists).
        size: side S every sample is resized to.
        augment: as ``SegmentationFolder``'s (applied to the image and the object's mask).
        impl: whose ``resize_boxes`` the ``DetectionFolder`` runs (see ``dataset_impl``).
        limit: use only the first ``limit`` images of the split (``None``: all).

    Raises:
        DatasetError: as ``DetectionFolder`` with ``masks=True`` (a missing or mismatched mask
            PNG names the file).
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        size: int,
        augment: Callable[..., dict[str, Any]] | None = None,
        impl: ModuleType | str | None = None,
        limit: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.size = size
        self.augment = augment
        image_set = (
            "Segmentation" if (self.root / "ImageSets" / "Segmentation").is_dir() else "Main"
        )
        self.folder = DetectionFolder(
            root, split, size=size, impl=impl, masks=True, image_set=image_set
        )
        images = len(self.folder) if limit is None else min(limit, len(self.folder))
        self.samples: list[tuple[int, int]] = []  # (image position, object number)
        self._cache: tuple[int, Tensor, Tensor] | None = None
        for index in range(images):
            self.samples += [
                (index, number) for number in range(len(self.folder.annotations[index].names))
            ]

    def _load(self, index: int) -> tuple[Tensor, Tensor]:
        """Image ``[3, S, S]`` and masks ``[N, S, S]`` of image ``index`` (the last one cached)."""
        if self._cache is None or self._cache[0] != index:
            image, target = self.folder[index]
            self._cache = (index, image, target["masks"])
        return self._cache[1], self._cache[2]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, position: int) -> tuple[Tensor, Tensor]:
        """Sample ``position``: ``(image float [3, S, S] in [0, 1], mask float [S, S])``."""
        index, number = self.samples[position]
        image, masks = self._load(index)
        mask = masks[number].float()
        if self.augment is not None:
            image, mask = augment_pair(self.augment, image, mask)
        return image, mask

    def name(self, position: int) -> str:
        """``<image id>-object<k>`` of sample ``position`` (k: the object's XML position)."""
        index, number = self.samples[position]
        return f"{self.folder.ids[index]}-object{number}"
