"""The given loaders (bam.datasets): they read the bundled data, run the chosen implementation,
and turn every kind of bad input into a DatasetError that names the file and the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import solutions.augment
import solutions.dataset
from bam.datasets import SHAPES_ROOT, WATER_ROOT, DatasetError, DetectionFolder, SegmentationFolder
from bam.synthetic import SHAPES_CLASSES, voc_annotation

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
