"""The given loaders (bam.data.datasets): they read the bundled data, run the chosen implementation,
and turn every kind of bad input into a DatasetError that names the file and the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import solutions.augment
import solutions.dataset
from bam.configs import SHAPES_ROOT, WATER_ROOT
from bam.data.datasets import DatasetError, DetectionFolder, SegmentationFolder
from bam.data.synthetic import SHAPES_CLASSES, voc_annotation

# ----------------------------------------------------------------------------- small folders


def write_water_folder(root: Path, count: int = 3, size: tuple[int, int] = (20, 30)) -> Path:
    """A Kaggle-layout folder: Images/ and Masks/ with ``count`` small pairs (size is h, w)."""
    (root / "Images").mkdir(parents=True)
    (root / "Masks").mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
            root / "Images" / f"{index}.jpg"
        )
        mask = np.zeros(size, np.uint8)
        mask[2:10, 5:15] = 255
        Image.fromarray(mask).save(root / "Masks" / f"{index}.jpg", quality=100)
    return root


def write_voc_folder(
    root: Path, objects: list[tuple[str, tuple[int, int, int, int]]], size=(40, 60)
) -> Path:
    """A VOC folder with one image ``img0`` of ``size`` (h, w) and the given (name, pixel-edge box) objects."""
    for folder in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    height, width = size
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(
        root / "JPEGImages" / "img0.jpg"
    )
    boxes = np.array([box for _, box in objects], float).reshape(-1, 4)
    xml = voc_annotation("img0.jpg", width, height, boxes, [name for name, _ in objects])
    (root / "Annotations" / "img0.xml").write_text(xml)
    (root / "ImageSets" / "Main" / "train.txt").write_text("img0\n")
    return root


# ----------------------------------------------------------------------------- the bundled data


def test_segmentation_folder_reads_the_bundled_water_set():
    folder = SegmentationFolder(WATER_ROOT, size=64, indices=[0, 5, 7])
    assert len(folder) == 3
    image, mask = folder[1]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert float(image.min()) >= 0 and float(image.max()) <= 1
    assert mask.shape == (64, 64) and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert folder.pairs[5][0].name == folder.pairs[5][1].name == "water_body_0005.jpg"


def test_segmentation_folder_augments_with_the_pipeline():
    pipeline = solutions.augment.build_pipeline(True)
    pipeline.set_random_seed(0)
    plain = SegmentationFolder(WATER_ROOT, size=32, indices=list(range(6)))
    augmented = SegmentationFolder(WATER_ROOT, size=32, indices=list(range(6)), augment=pipeline)
    flipped = 0
    for (image, mask), (new_image, new_mask) in zip(plain, augmented, strict=True):
        assert new_image.shape == image.shape and new_mask.shape == mask.shape
        assert new_mask.sum() == mask.sum()  # flips move water, never create it
        flipped += not torch.equal(new_mask, mask)
    assert flipped > 0


def test_detection_folder_reads_the_bundled_shapes_set():
    train = DetectionFolder(SHAPES_ROOT, "train")
    test = DetectionFolder(SHAPES_ROOT, "test")
    assert train.classes == test.classes == tuple(sorted(SHAPES_CLASSES))
    assert len(train) + len(test) == 360 and not set(train.ids) & set(test.ids)
    image, target = train[0]
    assert image.shape == (3, 240, 320)
    boxes, labels = target["boxes"], target["labels"]
    assert boxes.dtype == torch.float32 and labels.dtype == torch.int64
    assert 1 <= len(boxes) <= 5 and len(labels) == len(boxes)
    assert ((labels >= 1) & (labels <= 3)).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 319).all() and (boxes[:, 3] <= 239).all()


def test_detection_folder_resizes_with_the_given_implementation():
    native = DetectionFolder(SHAPES_ROOT, "test")
    resized = DetectionFolder(SHAPES_ROOT, "test", size=(120, 80), impl=solutions.dataset)
    image, target = resized[3]
    assert image.shape == (3, 120, 80)
    expected = native[3][1]["boxes"] * torch.tensor([0.25, 0.5, 0.25, 0.5])
    torch.testing.assert_close(target["boxes"], expected)


def test_loaders_run_the_students_code_when_asked():
    resized = DetectionFolder(SHAPES_ROOT, "test", size=64, impl="lessons")
    with pytest.raises(NotImplementedError):
        resized[0]
    water = SegmentationFolder(WATER_ROOT, size=32, indices=[0], impl="lessons")
    with pytest.raises(NotImplementedError):
        water[0]


def test_voc_boxes_are_converted_to_pixel_edges(tmp_path):
    """A box over the whole 60 x 40 image is (0, 0, 60, 40); in the file, pixels 1..60 and 1..40."""
    root = write_voc_folder(tmp_path, [("circle", (0, 0, 60, 40)), ("square", (10, 5, 20, 15))])
    xml = (root / "Annotations" / "img0.xml").read_text()
    assert "<xmin>1</xmin>" in xml and "<xmax>60</xmax>" in xml  # VOC: 1-based first/last pixel
    assert "<xmin>11</xmin>" in xml and "<xmax>20</xmax>" in xml
    _, target = DetectionFolder(root, "train", classes=SHAPES_CLASSES)[0]
    assert target["boxes"].tolist() == [[0, 0, 60, 40], [10, 5, 20, 15]]
    assert target["labels"].tolist() == [1, 2]


def test_voc_one_pixel_object_has_unit_area(tmp_path):
    """xmin = xmax = 3 in a VOC file is one pixel (column 2): the edge box (2, y, 3, y + 1)."""
    root = write_voc_folder(tmp_path, [("circle", (2, 4, 3, 5))])
    xml = (root / "Annotations" / "img0.xml").read_text()
    assert "<xmin>3</xmin>" in xml and "<xmax>3</xmax>" in xml
    assert "<ymin>5</ymin>" in xml and "<ymax>5</ymax>" in xml
    _, target = DetectionFolder(root, "train", classes=SHAPES_CLASSES)[0]
    boxes = target["boxes"]
    assert boxes.tolist() == [[2, 4, 3, 5]]
    assert float((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])) == 1.0


# ----------------------------------------------------------------------------- clear errors


def test_segmentation_image_without_mask(tmp_path):
    root = write_water_folder(tmp_path)
    (root / "Masks" / "1.jpg").unlink()
    with pytest.raises(DatasetError, match=r"1\.jpg: image without a mask"):
        SegmentationFolder(root, 16)


def test_segmentation_mask_of_another_size(tmp_path):
    root = write_water_folder(tmp_path)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "Masks" / "2.jpg")
    with pytest.raises(
        DatasetError, match=r"2\.jpg: mask of size 10x10 \(WxH\) for an image of size 30x20"
    ):
        SegmentationFolder(root, 16)


def test_segmentation_unreadable_image(tmp_path):
    root = write_water_folder(tmp_path)
    (root / "Images" / "0.jpg").write_bytes(b"this is not a JPEG")
    with pytest.raises(DatasetError, match=r"0\.jpg: unreadable image"):
        SegmentationFolder(root, 16)


def test_segmentation_empty_and_missing_folders(tmp_path):
    root = write_water_folder(tmp_path, count=0)
    with pytest.raises(DatasetError, match=r"Images: no images"):
        SegmentationFolder(root, 16)
    with pytest.raises(DatasetError, match=r"folder not found"):
        SegmentationFolder(tmp_path / "nowhere", 16)


def test_segmentation_index_out_of_range(tmp_path):
    root = write_water_folder(tmp_path)
    with pytest.raises(DatasetError, match=r"indices \[3\] are outside 0..2"):
        SegmentationFolder(root, 16, indices=[0, 3])


def test_detection_box_outside_the_image(tmp_path):
    root = write_voc_folder(tmp_path, [("circle", (10, 10, 61, 20))])  # x2 = 61 > 60 = W
    with pytest.raises(
        DatasetError, match=r"img0\.xml: object 0 \(circle\) box VOC \(11, 11, 61, 20\) is outside"
    ):
        DetectionFolder(root, "train")


def test_detection_box_without_width(tmp_path):
    root = write_voc_folder(tmp_path, [("square", (10, 10, 20, 20)), ("circle", (30, 10, 25, 20))])
    with pytest.raises(DatasetError, match=r"img0\.xml: object 1 \(circle\) .* xmax < xmin"):
        DetectionFolder(root, "train")


def test_detection_unknown_class(tmp_path):
    root = write_voc_folder(tmp_path, [("hexagon", (10, 10, 20, 20))])
    with pytest.raises(DatasetError, match=r"img0\.xml: object 0 has unknown class 'hexagon'"):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES)


def test_detection_missing_or_empty_split(tmp_path):
    root = write_voc_folder(tmp_path, [("circle", (10, 10, 20, 20))])
    with pytest.raises(DatasetError, match=r"split 'val' not found \(splits here: \['train'\]\)"):
        DetectionFolder(root, "val")
    (root / "ImageSets" / "Main" / "train.txt").write_text("\n")
    with pytest.raises(DatasetError, match=r"train\.txt: the split is empty"):
        DetectionFolder(root, "train")


def test_detection_missing_unreadable_or_resized_image(tmp_path):
    root = write_voc_folder(tmp_path, [("circle", (10, 10, 20, 20))])
    image_path = root / "JPEGImages" / "img0.jpg"
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(image_path)
    with pytest.raises(
        DatasetError, match=r"img0\.xml: says the image is 60x40 \(WxH\) but img0\.jpg is 50x40"
    ):
        DetectionFolder(root, "train")
    image_path.write_bytes(b"\x00" * 10)
    with pytest.raises(DatasetError, match=r"img0\.jpg: unreadable image"):
        DetectionFolder(root, "train")
    image_path.unlink()
    with pytest.raises(DatasetError, match=r"img0\.jpg: file not found"):
        DetectionFolder(root, "train")


def test_detection_broken_xml(tmp_path):
    root = write_voc_folder(tmp_path, [("circle", (10, 10, 20, 20))])
    (root / "Annotations" / "img0.xml").write_text("<annotation><object><name>circle</name>")
    with pytest.raises(DatasetError, match=r"img0\.xml: not a readable VOC XML file"):
        DetectionFolder(root, "train")


# ----------------------------------------------------------------------------- instance masks


def write_masks(root: Path, objects: np.ndarray, classes: np.ndarray | None = None) -> None:
    """``SegmentationObject/img0.png`` (and ``SegmentationClass``) as VOC palette PNGs."""
    from bam.data.synthetic import voc_palette

    for folder, values in (("SegmentationObject", objects), ("SegmentationClass", classes)):
        if values is None:
            continue
        (root / folder).mkdir(exist_ok=True)
        png = Image.frombytes("P", values.shape[::-1], values.astype(np.uint8).tobytes())
        png.putpalette(voc_palette())
        png.save(root / folder / "img0.png")


def two_objects(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 60x40 VOC folder: a circle at rows 5..14, cols 10..19, a square at 20..29, 30..49,
    the square partly covering the circle's corner, and a void pixel on the circle's edge."""
    root = write_voc_folder(tmp_path, [("circle", (10, 5, 20, 15)), ("square", (30, 20, 50, 30))])
    objects = np.zeros((40, 60), np.uint8)
    objects[5:15, 10:20] = 1
    objects[20:30, 30:50] = 2
    objects[5, 10] = 255  # VOC's void: part of no mask
    classes = np.where(objects == 255, 255, np.where(objects == 2, 2, objects))
    write_masks(root, objects, classes)
    return root, objects, classes


def test_bundled_shapes_have_exact_instance_masks():
    """The bundled masks: one per XML object, disjoint, inside its box and touching its edges."""
    folder = DetectionFolder(SHAPES_ROOT, "test", classes=SHAPES_CLASSES)
    assert folder.has_masks
    for index in (0, 7, 31):
        image, target = folder[index]
        masks, boxes = target["masks"], target["boxes"]
        assert masks.dtype == torch.bool and masks.shape == (len(boxes), *image.shape[-2:])
        assert masks.sum(0).max() == 1
        rows, columns = masks.any(2), masks.any(1)
        for mask_rows, mask_columns, (x1, y1, x2, y2) in zip(
            rows, columns, boxes.long(), strict=True
        ):
            found = mask_columns.nonzero().flatten(), mask_rows.nonzero().flatten()
            assert [found[0][0], found[1][0], found[0][-1] + 1, found[1][-1] + 1] == [
                x1,
                y1,
                x2,
                y2,
            ]


def test_instance_masks_are_read_by_xml_order(tmp_path):
    root, objects, _ = two_objects(tmp_path)
    folder = DetectionFolder(root, "train", classes=SHAPES_CLASSES)
    _, target = folder[0]
    masks = target["masks"]
    assert masks.shape == (2, 40, 60) and masks.dtype == torch.bool
    assert torch.equal(masks[0], torch.from_numpy(objects == 1))
    assert torch.equal(masks[1], torch.from_numpy(objects == 2))
    assert not masks[:, 5, 10].any()  # void belongs to nobody
    assert int(masks[0].sum()) == 99 and int(masks[1].sum()) == 200


def test_instance_masks_resize_with_the_image(tmp_path):
    root, objects, _ = two_objects(tmp_path)
    _, target = DetectionFolder(
        root, "train", size=(20, 30), classes=SHAPES_CLASSES, impl=solutions.dataset
    )[0]
    masks = target["masks"]
    assert masks.shape == (2, 20, 30)
    assert torch.equal(masks[1], torch.from_numpy(objects[1::2, 1::2] == 2))
    rows, columns = masks[1].any(1).nonzero().flatten(), masks[1].any(0).nonzero().flatten()
    resized_box = [columns[0], rows[0], columns[-1] + 1, rows[-1] + 1]
    assert resized_box == target["boxes"][1].long().tolist() == [15, 10, 25, 15]


def test_without_masks_the_targets_are_as_before(tmp_path):
    root = write_voc_folder(tmp_path, [("circle", (10, 10, 20, 20))])
    folder = DetectionFolder(root, "train", classes=SHAPES_CLASSES)
    assert not folder.has_masks and "masks" not in folder[0][1]
    with pytest.raises(
        DatasetError, match=r"SegmentationObject/img0\.png: instance mask not found"
    ):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES, masks=True)
    root, _, _ = two_objects(tmp_path / "masked")
    assert "masks" not in DetectionFolder(root, "train", masks=False)[0][1]
    # VOC segments only part of its images: a detection split with some PNGs loads without masks
    (root / "JPEGImages" / "img0.jpg").rename(root / "JPEGImages" / "img1.jpg")
    xml = (root / "Annotations" / "img0.xml").read_text().replace("img0.jpg", "img1.jpg")
    (root / "Annotations" / "img1.xml").write_text(xml)
    (root / "ImageSets" / "Main" / "train.txt").write_text("img0\nimg1\n")
    Image.open(root / "JPEGImages" / "img1.jpg").save(root / "JPEGImages" / "img0.jpg")
    assert not DetectionFolder(root, "train").has_masks


def test_instance_mask_of_another_size(tmp_path):
    root, objects, classes = two_objects(tmp_path)
    write_masks(root, objects[:, :50])
    with pytest.raises(
        DatasetError,
        match=r"SegmentationObject/img0\.png: mask of size 50x40 \(WxH\) for an image of size 60x40",
    ):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES)
    write_masks(root, objects, classes[:30])
    with pytest.raises(DatasetError, match=r"SegmentationClass/img0\.png: mask of size 60x30"):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES)


def test_instance_id_without_an_object(tmp_path):
    root, objects, _ = two_objects(tmp_path)
    objects[35:38, 2:5] = 3
    write_masks(root, objects)
    folder = DetectionFolder(root, "train", classes=SHAPES_CLASSES)  # headers only: fine
    with pytest.raises(
        DatasetError,
        match=r"SegmentationObject/img0\.png: instance id 3 has no object: the annotation lists 2",
    ):
        folder[0]


def test_object_without_pixels(tmp_path):
    root, objects, classes = two_objects(tmp_path)
    objects[objects == 2] = 0
    classes[classes == 2] = 0
    write_masks(root, objects, classes)
    with pytest.raises(
        DatasetError,
        match=r"SegmentationObject/img0\.png: object 1 of the annotation \(instance id 2\) has no pixels",
    ):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES)[0]


def test_instance_of_another_class(tmp_path):
    root, objects, classes = two_objects(tmp_path)
    classes[classes == 2] = 3  # the XML says square (2), the class PNG triangle (3)
    write_masks(root, objects, classes)
    with pytest.raises(
        DatasetError,
        match=r"SegmentationClass/img0\.png: object 1 \(instance id 2\) is class 2 in the"
        r" annotation but 200 of its pixels are class \[3\]",
    ):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES)[0]


def test_instance_png_with_colours(tmp_path):
    root, objects, _ = two_objects(tmp_path)
    Image.fromarray(np.repeat(objects[..., None], 3, axis=2)).save(
        root / "SegmentationObject" / "img0.png"
    )
    with pytest.raises(DatasetError, match=r"img0\.png: a RGB image; VOC segmentation PNGs"):
        DetectionFolder(root, "train", classes=SHAPES_CLASSES)[0]
