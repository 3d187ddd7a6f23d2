"""Architecture drawings: Faster R-CNN's layout, VGG16's conv stack, the Fast R-CNN head, SAM.

Every shape printed on a drawing is computed from the course's own settings when it is drawn:
the detector's from ``bam.configs.TrainConfig`` (the defaults of ``bam train
detector``) and lesson 5's ``feature_map_size``, SAM's from ``bam.sam_model.tiny_sam_config``.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from bam import course

BLUE, GREEN, ORANGE, PURPLE, GREY, RED = (
    "#dbe7f5",
    "#dcefd9",
    "#fde6cf",
    "#ece0f0",
    "#eeeeee",
    "#f7d4d4",
)


def _block(
    axes: Axes,
    x: float,
    y: float,
    width: float,
    height: float,
    title: str,
    lines: tuple[str, ...] = (),
    colour: str = BLUE,
    size: float = 8.5,
) -> None:
    """A rounded box at ``(x, y)`` (lower left) with a bold title and lines of detail."""
    axes.add_patch(
        FancyBboxPatch(
            (x, y),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=colour,
            edgecolor="#555555",
            lw=1,
        )
    )
    if not lines:
        axes.text(x + width / 2, y + height / 2, title, ha="center", va="center", fontsize=size)
        return
    axes.text(
        x + width / 2,
        y + height - 0.12,
        title,
        ha="center",
        va="top",
        fontsize=size,
        fontweight="bold",
    )
    axes.text(
        x + width / 2,
        y + height - 0.42,
        "\n".join(lines),
        ha="center",
        va="top",
        fontsize=size - 1,
        linespacing=1.35,
        family="monospace",
    )


def _arrow(
    axes: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str = "",
    offset: tuple[float, float] = (0.0, 0.12),
    style: str = "-|>",
    colour: str = "#333333",
    dashed: bool = False,
) -> None:
    axes.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=11,
            lw=1.2,
            color=colour,
            linestyle="--" if dashed else "-",
            shrinkA=2,
            shrinkB=2,
        )
    )
    if label:
        axes.text(
            (start[0] + end[0]) / 2 + offset[0],
            (start[1] + end[1]) / 2 + offset[1],
            label,
            ha="center",
            va="bottom",
            fontsize=7.6,
            family="monospace",
            color="#222222",
        )


def _canvas(width: float, height: float, inches: tuple[float, float]) -> tuple[Figure, Axes]:
    figure = Figure(figsize=inches)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.axis("off")
    return figure, axes


def _detector_shapes() -> dict[str, object]:
    """The tensor sizes of ``bam train detector``'s default model, computed from its settings."""
    from bam.configs import TrainConfig

    vgg = course.load("vgg", "solutions")
    VGG16_CONFIG, feature_map_size = vgg.VGG16_CONFIG, vgg.feature_map_size

    config = TrainConfig()
    height, width = config.image_size
    map_h, map_w = feature_map_size(height, width)
    channels = max(1, round(512 * config.width))
    anchors_per_cell = len(config.anchor_sizes) * len(config.anchor_ratios)
    FasterRCNN = course.load("detector", "solutions").FasterRCNN

    model = FasterRCNN(num_classes=4, width=config.width, hidden=config.hidden)
    return {
        "batch": config.batch_size,
        "image": (height, width),
        "map": (map_h, map_w),
        "channels": channels,
        "A": anchors_per_cell,
        "anchors": map_h * map_w * anchors_per_cell,
        "anchor_sizes": config.anchor_sizes,
        "pre_nms": model.rpn_settings.get("pre_nms_top_n", 6000),
        "post_nms": model.rpn_settings.get("post_nms_top_n", 300),
        "rois": config.roi_batch_size,
        "hidden": config.hidden,
        "classes": 4,  # C counts background (as the course's docstrings): 3 shapes + background
        "pool": config.pool,
        "width": config.width,
        "vgg": VGG16_CONFIG,
    }


def _draw_backbone(axes: Axes, s: dict) -> None:
    """Images, the VGG16 backbone [5] and the shared feature map, top row, left to right."""
    b, (h, w), (fh, fw), c = s["batch"], s["image"], s["map"], s["channels"]
    _block(axes, 0.1, 6.0, 2.4, 1.6, "images", (f"[{b}, 3, {h}, {w}]", "normalised"), GREY)
    _block(
        axes,
        3.0,
        5.8,
        3.1,
        2.0,
        "VGG16 backbone [5]",
        ("conv1_1 .. conv5_3", "13 conv + ReLU, 4 pools", f"width {s['width']}, stride 16"),
        BLUE,
    )
    _arrow(axes, (2.5, 6.8), (3.0, 6.8))
    _arrow(axes, (6.1, 6.8), (6.6, 6.8))
    _block(
        axes,
        6.6,
        6.0,
        2.3,
        1.6,
        "features",
        (f"[{b}, {c}, {fh}, {fw}]", f"{fh} x {fw} cells"),
        GREY,
    )


def _draw_rpn(axes: Axes, s: dict) -> None:
    """The RPN [6] right of the feature map, its proposal layer below it."""
    b, (fh, fw), c, a = s["batch"], s["map"], s["channels"], s["A"]
    _block(
        axes,
        9.4,
        5.8,
        2.9,
        2.0,
        "RPN [6]",
        (
            f"3x3 conv {c} + ReLU",
            f"objectness [{b}, {a}, {fh}, {fw}]",
            f"deltas [{b}, {4 * a}, {fh}, {fw}]",
        ),
        GREEN,
    )
    _arrow(axes, (8.9, 6.8), (9.4, 6.8))
    _block(
        axes,
        8.6,
        3.3,
        3.7,
        1.9,
        "proposal layer [6]",
        (
            f"{s['anchors']} anchors ({fh}x{fw}x{a})",
            f"top {min(s['pre_nms'], s['anchors'])}, decode, clip, NMS 0.7",
            f"-> <= {s['post_nms']} boxes [N_i, 4]",
        ),
        GREEN,
    )
    _arrow(axes, (10.85, 5.8), (10.85, 5.2))


def _draw_roi_and_head(axes: Axes, s: dict) -> None:
    """RoI pooling [7] of the proposals, middle left, and the Fast R-CNN head [8] below it."""
    c, k_train, hidden, classes = s["channels"], s["rois"], s["hidden"], s["classes"]
    _block(
        axes,
        0.1,
        3.3,
        3.9,
        1.9,
        "RoI pooling / RoIAlign [7]",
        ("rois [K, 5] (image index + box)", f"-> [K, {c}, 7, 7]", f"(default: {s['pool']})"),
        ORANGE,
    )
    _arrow(axes, (7.0, 6.0), (3.6, 5.2))
    _arrow(axes, (8.6, 4.0), (4.0, 4.0), f"train: {k_train} sampled\nper image [8]", (0.0, 0.1))
    _block(
        axes,
        0.1,
        0.2,
        3.9,
        2.5,
        "Fast R-CNN head [8]",
        (
            f"flatten {c}*7*7 = {c * 49}",
            f"fc6 {hidden}, fc7 {hidden} (+ ReLU)",
            f"classes [K, {classes}]",
            f"deltas [K, {4 * classes}]",
        ),
        PURPLE,
    )
    _arrow(axes, (2.05, 3.3), (2.05, 2.7))


def _draw_detector_outputs(axes: Axes, s: dict) -> None:
    """What the detector returns [9] (losses in training, boxes in eval) and the caption."""
    b, (h, w), hidden = s["batch"], s["image"], s["hidden"]
    _block(
        axes,
        4.6,
        0.2,
        7.7,
        2.5,
        "out [9]",
        (
            "train: loss_objectness + loss_rpn_box_reg",
            "+ loss_classifier + loss_box_reg (summed)",
            "eval: all proposals pooled; softmax, decode,",
            "per-class NMS -> per image",
            "{boxes, scores, labels}",
        ),
        RED,
    )
    _arrow(axes, (4.0, 1.45), (4.6, 1.45))
    axes.text(
        0.1,
        8.75,
        f"B = {b} images of {h} x {w}, VGG16 at width {s['width']},\nanchors"
        f" {'/'.join(str(int(v)) for v in s['anchor_sizes'])} px x 3 ratios, head {hidden} wide",
        fontsize=8.5,
        va="top",
    )


def faster_rcnn_layout() -> Figure:
    """Faster R-CNN as the course builds it, with the tensor shapes of `bam train detector`'s defaults (lesson numbers in brackets; B images per batch, K RoIs, C = 4 classes with background)."""
    s = _detector_shapes()
    figure, axes = _canvas(12.4, 8.9, (7.6, 5.45))
    _draw_backbone(axes, s)
    _draw_rpn(axes, s)
    _draw_roi_and_head(axes, s)
    _draw_detector_outputs(axes, s)
    return figure


def vgg16_conv_stack() -> Figure:
    """VGG16's convolutional part as lesson 5 builds it: five blocks of 3x3 convolutions (padding 1) with a ReLU each, four 2x2 max-pools, for a 600 x 1000 image at full width (and at the course's width 0.125)."""
    VGG16_CONFIG = course.load("vgg", "solutions").VGG16_CONFIG

    height, width, scale = 600, 1000, 0.125
    figure, axes = _canvas(12.4, 5.0, (7.6, 3.06))
    blocks: list[list[int]] = [[]]
    for item in VGG16_CONFIG:
        if item == "M":
            blocks.append([])
        else:
            blocks[-1].append(int(item))
    x = 0.1
    colours = (BLUE, GREEN, ORANGE, PURPLE, RED)
    box_w, gap = 2.05, 0.5
    for number, block in enumerate(blocks, start=1):
        names = [
            f"conv{number}_{position} {channels} ({max(1, round(channels * scale))})"
            for position, channels in enumerate(block, start=1)
        ]
        _block(axes, x, 1.35, box_w, 2.5, "", (), colours[number - 1])
        axes.text(x + box_w / 2, 3.75, f"block {number}\n{height} x {width}", ha="center",
                  va="top", fontsize=8, fontweight="bold")  # fmt: skip
        axes.text(x + box_w / 2, 3.0, "\n".join(names), ha="center", va="top", fontsize=7.6,
                  linespacing=1.35, family="monospace")  # fmt: skip
        x += box_w
        if number < len(blocks):
            axes.text(x + gap / 2, 2.95, "/2", ha="center", va="center", fontsize=8)
            _arrow(axes, (x, 2.6), (x + gap, 2.6))
            x += gap
            height, width = height // 2, width // 2
    axes.text(
        0.1,
        4.9,
        "3x3 conv, padding 1 (size kept) + ReLU; channels at width 1.0 (at width 0.125 in brackets);"
        "\narrows: 2x2 max-pool, stride 2, halving the size, rounding down (torchvision; Caffe rounds"
        " up)",
        fontsize=8,
        va="top",
    )
    axes.text(
        0.1,
        1.15,
        "conv5_3: 512 channels at stride 16 ->"
        f" [512, {height}, {width}] for a 600 x 1000 image; RoI pooling (7 x 7 per RoI)\ntakes the"
        " place of VGG16's fifth pool; fc6 and fc7 are kept, as the head of lesson 8.\nReceptive"
        " field of one conv5_3 unit: 196 px (lesson 5); 13 conv layers, 14.7 M weights at width 1.0",
        fontsize=8,
        va="top",
        linespacing=1.4,
    )
    return figure


def fast_rcnn_head_drawing() -> Figure:
    """The Fast R-CNN head of lesson 8: one RoI's pooled features, flattened, through fc6 and fc7, into class logits and per-class box deltas (paper sizes, and the course's default sizes in brackets)."""
    s = _detector_shapes()
    c, hidden, classes = s["channels"], s["hidden"], s["classes"]
    figure, axes = _canvas(16.4, 5.0, (7.6, 2.32))
    _block(axes, 0.1, 1.0, 2.4, 2.2, "pooled RoI", ("[512, 7, 7]", f"([{c}, 7, 7])"), ORANGE, 8.5)
    _arrow(axes, (2.5, 2.1), (3.7, 2.1), "flatten", (0.0, 0.1))
    _block(axes, 3.7, 1.0, 2.0, 2.2, "vector", ("25088", f"({c * 49})"), GREY, 8.5)
    _arrow(axes, (5.7, 2.1), (6.3, 2.1))
    _block(axes, 6.3, 1.0, 2.3, 2.2, "fc6 + ReLU", ("4096", f"({hidden})"), PURPLE, 8.5)
    _arrow(axes, (8.6, 2.1), (9.2, 2.1))
    _block(axes, 9.2, 1.0, 2.3, 2.2, "fc7 + ReLU", ("4096", f"({hidden})"), PURPLE, 8.5)
    _arrow(axes, (11.5, 2.4), (12.1, 3.0))
    _arrow(axes, (11.5, 1.8), (12.1, 1.2))
    _block(
        axes,
        12.1,
        2.3,
        4.2,
        1.5,
        "class logits",
        ("C = 21 (VOC: 20 + bg)", f"({classes}: 3 shapes + bg)"),
        GREEN,
        8.5,
    )
    _block(axes, 12.1, 0.4, 4.2, 1.5, "box deltas", ("4C = 84", f"({4 * classes})"), BLUE, 8.5)
    axes.text(
        0.1,
        4.9,
        "per RoI; K RoIs run as one batch [K, ...]. No softmax in the head: the loss takes logits."
        "\nC counts the classes with background (class 0).",
        fontsize=8.5,
        va="top",
    )
    return figure


def _draw_sam_image_path(axes: Axes, config: Any) -> None:
    """The image, SAM's frozen image encoder and the image embedding, top row."""
    vision = config.vision_config
    size, patch = vision.image_size, vision.patch_size
    grid = size // patch
    width = vision.output_channels
    _block(
        axes, 0.1, 4.7, 2.5, 1.6, "image", (f"[B, 3, {size}, {size}]", "([B, 3, 1024, 1024])"), GREY
    )
    _block(
        axes,
        3.1,
        4.5,
        3.8,
        2.0,
        "image encoder (frozen)",
        (
            f"ViT, {vision.num_hidden_layers} layers, width {vision.hidden_size}",
            f"patches {patch}x{patch} -> {grid} x {grid}",
            "(ViT-H: 32 layers, width 1280)",
        ),
        BLUE,
    )
    _arrow(axes, (2.6, 5.5), (3.1, 5.5))
    _block(
        axes,
        7.4,
        4.5,
        4.9,
        2.0,
        "image embedding",
        (f"[B, {width}, {grid}, {grid}]", "([B, 256, 64, 64])", "computed once per image"),
        GREY,
    )
    _arrow(axes, (6.9, 5.5), (7.4, 5.5))


def _draw_sam_prompt_and_decoder(axes: Axes, config: Any) -> None:
    """The box prompt, the frozen prompt encoder and the mask decoder that is trained."""
    decoder = config.mask_decoder_config
    hidden = config.prompt_encoder_config.hidden_size
    _block(axes, 0.1, 1.8, 2.5, 1.6, "box prompt", ("[B, 1, 4]", "(x1, y1, x2, y2)"), GREY)
    _block(
        axes,
        3.1,
        1.5,
        3.8,
        2.2,
        "prompt encoder (frozen)",
        (
            "2 corner tokens: Fourier",
            "positional code + learnt",
            f"-> sparse tokens [B, 1, 2, {hidden}]",
            "([B, 1, 2, 256])",
        ),
        GREEN,
    )
    _arrow(axes, (2.6, 2.6), (3.1, 2.6))
    _block(
        axes,
        7.4,
        1.3,
        4.9,
        2.6,
        "mask decoder (trained)",
        (
            f"two-way transformer, {decoder.num_hidden_layers} layers",
            "tokens <-> embedding attention",
            "upsample 4x, per-mask MLP",
            "IoU prediction head",
        ),
        ORANGE,
    )
    _arrow(axes, (9.85, 4.5), (9.85, 3.9))
    _arrow(axes, (6.9, 2.6), (7.4, 2.6))


def _draw_sam_captions(axes: Axes, config: Any) -> None:
    """The decoder's outputs and the figure's caption, with the tiny SAM's sizes."""
    vision, decoder = config.vision_config, config.mask_decoder_config
    size, width = vision.image_size, vision.output_channels
    low = size // vision.patch_size * 4
    axes.text(
        7.4,
        1.1,
        f"low-res mask logits [B, 1, {low}, {low}]\n([B, 1, 256, 256]); predicted IoU [B, 1];\n"
        "multimask_output=True gives 3 masks",
        fontsize=7.8,
        va="top",
        family="monospace",
    )
    axes.text(
        0.1,
        7.5,
        f"Tiny SAM of the course: S = {size}, width {width}, {vision.num_hidden_layers}+"
        f"{decoder.num_hidden_layers} layers (real SAM ViT-H in brackets, from the SAM paper).\n"
        f"Masks are upsampled from {low} x {low} to {size} x {size} (lesson 4).",
        fontsize=8.5,
        va="top",
    )


def sam_parts() -> Figure:
    """SAM's three parts with the shapes of the course's tiny SAM (`tiny_sam_config()`, input S = 256; real SAM's in brackets: ViT-H of width 1280, S = 1024, a neck down to a 256-channel embedding): only the mask decoder is fine-tuned."""
    from bam.sam_model import tiny_sam_config

    config = tiny_sam_config()
    figure, axes = _canvas(12.4, 7.6, (7.6, 4.66))
    _draw_sam_image_path(axes, config)
    _draw_sam_prompt_and_decoder(axes, config)
    _draw_sam_captions(axes, config)
    return figure


FIGURES = {
    "faster-rcnn-layout": faster_rcnn_layout,
    "vgg16-conv-stack": vgg16_conv_stack,
    "fast-rcnn-head": fast_rcnn_head_drawing,
    "sam-parts": sam_parts,
}
