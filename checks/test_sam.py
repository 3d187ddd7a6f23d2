"""Checks for lesson 4, ``sam``: box prompts, freezing, upsampling, a training step, prediction.

Oracles: ``torchvision.ops.masks_to_boxes`` (tight boxes), ``F.interpolate`` (bilinear
upsampling), a plain SGD step worked out in the check from autograd gradients, and properties
(bounds of a jittered box, frozen weights that do not move, a loss that goes down). The model is
a tiny, randomly initialised ``SamModel`` built here from a seed (``bam.sam_model.tiny_sam``), so
every check runs in a second or two on a CPU.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor
from torchvision.ops import masks_to_boxes

from bam.sam_model import tiny_sam
from checks.harness import exercise, expect, expect_close, expect_tensor, student
from checks.scoring import holds_for_constants
from given.sam import sam_inputs

# ----------------------------------------------------------------------------- references


def reference_upsample(low_res_logits: Tensor, size) -> Tensor:
    """Bilinear resize of [B, h, w] logits to [B, H, W] (``align_corners=False``, as SAM)."""
    resized = F.interpolate(
        low_res_logits[:, None], size=tuple(size), mode="bilinear", align_corners=False
    )
    return resized[:, 0]


def reference_dice_ce(logits: Tensor, target: Tensor) -> Tensor:
    """Soft Dice loss (sigmoid) + binary cross-entropy with logits, mean over the batch."""
    target = target.float()
    probabilities = logits.sigmoid()
    intersection = (probabilities * target).sum(dim=(-2, -1))
    total = probabilities.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    dice_loss = 1 - (2 * intersection + 1e-5) / (total + 1e-5)
    return dice_loss.mean() + F.binary_cross_entropy_with_logits(logits, target)


def reference_logits(model: torch.nn.Module, batch: dict[str, Tensor]) -> Tensor:
    """The single-mask output of ``model`` for the batch's boxes, upsampled to the image size."""
    pixel_values, input_boxes = sam_inputs(model, batch["images"], batch["boxes"])
    outputs = model(pixel_values=pixel_values, input_boxes=input_boxes, multimask_output=False)
    return reference_upsample(outputs.pred_masks[:, 0, 0], batch["images"].shape[-2:])


def small_sam(seed: int = 0) -> torch.nn.Module:
    """A tiny random SAM with 128x128 input (8x8 image tokens, 32x32 low-resolution masks)."""
    return tiny_sam(seed=seed, image_size=128, width=32)


def confident_sam(seed: int = 0) -> torch.nn.Module:
    """A tiny random SAM whose logits spread over about [-8, 8] (a fresh one's stay near 0).

    The first mask token's hypernetwork output is scaled up, so probabilities cross every
    threshold in (0, 1) along smooth boundaries inside the image.
    """
    model = small_sam(seed)
    with torch.no_grad():
        model.mask_decoder.output_hypernetworks_mlps[0].proj_out.weight.mul_(150.0)
        model.mask_decoder.output_hypernetworks_mlps[0].proj_out.bias.mul_(150.0)
    return model


def decoder_only(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Freezes the model by hand (not with the exercise): only the mask decoder trains."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith("mask_decoder."))
    return list(model.mask_decoder.parameters())


def water_like_batch(size: tuple[int, int] = (64, 64), seed: int = 0) -> dict[str, Tensor]:
    """Two images with a bright disc and a dark diagonal band, their masks and tight boxes."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    yy, xx = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    disc = (xx - width * 0.4) ** 2 + (yy - height * 0.5) ** 2 <= (min(size) * 0.25) ** 2
    band = ((xx - yy * width / height).abs() <= width * 0.08) & (xx >= 4)
    masks = torch.stack([disc, band])  # [2, H, W]
    images = 0.2 + 0.1 * torch.rand(2, 3, height, width, generator=generator)
    images = torch.where(masks[:, None], 0.8 - images, images)
    return {"images": images, "masks": masks, "boxes": masks_to_boxes(masks)}


def raises_value_error(call) -> tuple[bool, str]:
    """Runs ``call``; whether it raised ``ValueError``, and what happened otherwise."""
    try:
        result = call()
    except ValueError:
        return True, ""
    except Exception as error:  # any other exception is the wrong answer
        return False, f"raised {type(error).__name__}: {error}"
    return False, f"returned {result!r}"


# ----------------------------------------------------------------------------- strategies


@st.composite
def nonempty_masks(draw: st.DrawFn, max_side: int = 24) -> Tensor:
    """One mask ``Tensor[H, W]`` bool with at least one pixel: a few rectangles and single pixels."""
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    mask = torch.zeros(height, width, dtype=torch.bool)
    for _ in range(draw(st.integers(1, 3))):
        y1 = draw(st.integers(0, height - 1))
        x1 = draw(st.integers(0, width - 1))
        y2 = draw(st.integers(y1, min(height - 1, y1 + 8)))
        x2 = draw(st.integers(x1, min(width - 1, x1 + 8)))
        mask[y1 : y2 + 1, x1 : x2 + 1] = True
    return mask


@st.composite
def low_res_and_size(draw: st.DrawFn) -> tuple[Tensor, tuple[int, int]]:
    """Logits ``[B, h, w]`` (quarter steps in [-8, 8]) and an image size ``(H, W) >= (h, w)``."""
    batch = draw(st.integers(1, 3))
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    count = batch * height * width
    values = draw(st.lists(st.integers(-32, 32), min_size=count, max_size=count))
    logits = torch.tensor(values, dtype=torch.float32).reshape(batch, height, width) / 4
    size = (draw(st.integers(height, 48)), draw(st.integers(width, 48)))
    return logits, size


# ----------------------------------------------------------------------------- box_prompt


@exercise("sam.box_prompt", points=1)
def test_box_prompt_hand_computed():
    """A diagonal river over columns 2..9 and rows 3..10 has the pixel-edge box (2, 3, 10, 11)."""
    box_prompt = student("sam.box_prompt")
    mask = torch.zeros(16, 20, dtype=torch.bool)
    steps = torch.arange(8)
    mask[3 + steps, 2 + steps] = True  # row y = 3..10, column x = 2..9
    box = expect_tensor(box_prompt(mask), "box_prompt(mask)", shape=(4,))
    expect(box.is_floating_point(), f"box_prompt should return a float box, got {box.dtype}")
    expect_close(
        box,
        torch.tensor([2.0, 3.0, 10.0, 11.0]),
        "(x1, y1, x2, y2) of the diagonal: x is the column, x2 the right edge of the last pixel",
    )


@exercise("sam.box_prompt", points=2)
@settings(max_examples=60)
@given(nonempty_masks())
def test_box_prompt_is_tight_without_jitter(mask):
    """At jitter 0 the box is tight in pixel edges: torchvision's masks_to_boxes + (0, 0, 1, 1)."""
    box_prompt = student("sam.box_prompt")
    expected = masks_to_boxes(mask[None])[0] + torch.tensor([0.0, 0.0, 1.0, 1.0])
    box = expect_tensor(box_prompt(mask), "box_prompt(mask)", shape=(4,))
    expect_close(box, expected, "tight box (x1, y1, x2, y2) of the mask")
    expect_close(box_prompt(mask.float()), expected, "tight box of a {0, 1} float mask")
    rows, columns = torch.nonzero(mask, as_tuple=True)
    inside = (columns >= box[0]) & (columns + 1 <= box[2]) & (rows >= box[1]) & (rows + 1 <= box[3])
    expect(bool(inside.all()), "some mask pixels lie outside the box")


@exercise("sam.box_prompt", points=2)
@settings(max_examples=60)
@given(nonempty_masks(), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_box_prompt_jitter_stays_close_and_inside(mask, jitter, seed):
    """With jitter, each side is within `jitter` px of the tight box, inside the image, and valid."""
    box_prompt = student("sam.box_prompt")
    height, width = mask.shape
    tight = masks_to_boxes(mask[None])[0] + torch.tensor([0.0, 0.0, 1.0, 1.0])
    box = expect_tensor(
        box_prompt(mask, jitter=jitter, generator=torch.Generator().manual_seed(seed)),
        f"box_prompt(mask, jitter={jitter})",
        shape=(4,),
    )
    expect(
        bool(((box - tight).abs() <= jitter + 1e-6).all()),
        f"a side moved more than jitter={jitter} px: box {box.tolist()}, tight box {tight.tolist()}",
    )
    upper = torch.tensor([width, height, width, height], dtype=box.dtype)
    expect(
        bool((box >= 0).all() and (box <= upper).all()),
        f"box {box.tolist()} leaves the {height}x{width} image: clamp x to [0, W], y to [0, H]",
    )
    expect(
        bool(box[0] <= box[2] and box[1] <= box[3]), f"box {box.tolist()} has x1 > x2 or y1 > y2"
    )


@exercise("sam.box_prompt", points=1)
def test_box_prompt_jitter_random_and_reproducible():
    """Jitter moves each side in and out independently, drawn from `generator` (same seed, same box)."""
    box_prompt = student("sam.box_prompt")
    mask = torch.zeros(40, 40, dtype=torch.bool)
    mask[12:25, 10:31] = True
    tight = masks_to_boxes(mask[None])[0] + torch.tensor([0.0, 0.0, 1.0, 1.0])
    draws = torch.stack(
        [
            box_prompt(mask, jitter=3, generator=torch.Generator().manual_seed(seed))
            for seed in range(60)
        ]
    )
    again = torch.stack(
        [
            box_prompt(mask, jitter=3, generator=torch.Generator().manual_seed(seed))
            for seed in range(60)
        ]
    )
    expect_close(
        again, draws, "boxes drawn twice from generators with the same seeds (use `generator`)"
    )
    moves = draws - tight  # [60, 4]
    expect(
        bool((moves > 0).any(dim=0).all() and (moves < 0).any(dim=0).all()),
        "over 60 draws every side should move both outwards and inwards",
    )
    expect(
        len({tuple(move) for move in moves.tolist()}) > 20,
        "the boxes barely vary: draw a move per side",
    )
    size_change = (moves[:, 2] - moves[:, 0]).abs() + (moves[:, 3] - moves[:, 1]).abs()
    expect(bool((size_change > 0).any()), "the box only shifts: each side must move independently")
    expect_close(
        box_prompt(mask, jitter=0, generator=torch.Generator().manual_seed(1)),
        tight,
        "jitter=0 box",
    )


@exercise("sam.box_prompt", points=1)
def test_box_prompt_rejects_bad_masks():
    """An empty mask or a mask that is not [H, W] raises ValueError instead of returning nonsense."""
    box_prompt = student("sam.box_prompt")
    raised, what = raises_value_error(lambda: box_prompt(torch.zeros(8, 8, dtype=torch.bool)))
    expect(raised, f"box_prompt of an empty mask should raise ValueError, but it {what}")
    raised, what = raises_value_error(lambda: box_prompt(torch.ones(2, 8, 8, dtype=torch.bool)))
    expect(
        raised, f"box_prompt of a [2, 8, 8] batch should raise ValueError (one mask), but it {what}"
    )


# ----------------------------------------------------------------------------- freeze_for_finetuning


@exercise("sam.freeze_for_finetuning", points=2)
def test_freeze_leaves_only_the_decoder_trainable():
    """Only mask-decoder parameters require gradients, and exactly those are returned."""
    freeze = student("sam.freeze_for_finetuning")
    for frozen_before in (False, True):
        model = small_sam()
        if frozen_before:  # a model frozen earlier: the decoder must be made trainable again
            model.requires_grad_(False)
        trainable = freeze(model)
        expect(
            isinstance(trainable, list),
            f"return a list of parameters, got a {type(trainable).__name__}",
        )
        decoder = {id(parameter) for parameter in model.mask_decoder.parameters()}
        for name, parameter in model.named_parameters():
            in_decoder = id(parameter) in decoder
            expect(
                parameter.requires_grad == in_decoder,
                f"{name}: requires_grad is {parameter.requires_grad}, expected {in_decoder}"
                " (freeze the vision and prompt encoders, train the mask decoder)",
            )
        returned = [id(parameter) for parameter in trainable]
        expect(
            len(returned) == len(set(returned)) and set(returned) == decoder,
            f"return exactly the {len(decoder)} mask-decoder parameters; got {len(returned)} parameters,"
            f" {len(set(returned) & decoder)} of them the decoder's",
        )


@exercise("sam.freeze_for_finetuning", points=1)
def test_freeze_then_optimiser_step_keeps_encoders():
    """After freezing, an Adam step on the returned parameters changes the decoder and no encoder weight."""
    freeze = student("sam.freeze_for_finetuning")
    model = small_sam(seed=1)
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    optimizer = torch.optim.Adam(freeze(model), lr=1e-2)
    batch = water_like_batch()
    loss = reference_dice_ce(reference_logits(model, batch), batch["masks"])
    loss.backward()
    optimizer.step()
    for name, parameter in model.named_parameters():
        if not name.startswith("mask_decoder."):
            expect(
                torch.equal(parameter, before[name]),
                f"{name} changed: the encoders must stay frozen",
            )
            expect(parameter.grad is None, f"{name} received a gradient: it should not require one")
    moved = [
        name
        for name, parameter in model.named_parameters()
        if not torch.equal(parameter, before[name])
    ]
    expect(len(moved) > 0, "the optimiser step changed nothing: the decoder must stay trainable")


# ----------------------------------------------------------------------------- upsample_logits


@exercise("sam.upsample_logits", points=2)
@settings(max_examples=50)
@given(low_res_and_size())
def test_upsample_matches_bilinear_interpolation(case):
    """Equals F.interpolate(mode="bilinear", align_corners=False) to (H, W), batch kept."""
    upsample_logits = student("sam.upsample_logits")
    logits, size = case
    expected = reference_upsample(logits, size)
    result = expect_tensor(
        upsample_logits(logits, size), f"upsample_logits(logits, {size})", shape=expected.shape
    )
    expect_close(result, expected, "bilinearly upsampled logits (align_corners=False)", atol=1e-5)
    as_torch_size = upsample_logits(logits, torch.Size(size))
    expect_close(as_torch_size, expected, "upsampled logits when size is a torch.Size", atol=1e-5)


@exercise("sam.upsample_logits", points=1)
def test_upsample_is_differentiable_and_keeps_dtype():
    """Gradients flow back to the low-resolution logits; dtype is kept (float64 in, float64 out)."""
    upsample_logits = student("sam.upsample_logits")
    logits = (
        torch.linspace(-2, 2, 2 * 4 * 6, dtype=torch.float64).reshape(2, 4, 6).requires_grad_(True)
    )
    result = expect_tensor(
        upsample_logits(logits, (16, 24)), "upsample_logits(logits, (16, 24))", shape=(2, 16, 24)
    )
    expect(result.dtype == torch.float64, f"dtype changed from float64 to {result.dtype}")
    result.sum().backward()
    gradient = expect_tensor(
        logits.grad, "the gradient of the low-resolution logits", shape=(2, 4, 6)
    )
    # bilinear upsampling by 4 spreads each output pixel's weight 1 over inputs: total 16 per input
    expect_close(
        gradient.sum(), float(2 * 16 * 24), "sum of gradients (each output pixel has weight 1)"
    )


# ----------------------------------------------------------------------------- train_step


@exercise("sam.train_step", points=3)
def test_train_step_is_one_gradient_step():
    """One call = zero old gradients, DiceCE of the single-mask output, backward, one SGD step."""
    batch = water_like_batch()
    model = small_sam(seed=2)
    reference = copy.deepcopy(model)
    optimizer = torch.optim.SGD(decoder_only(model), lr=5.0)
    for parameter in model.mask_decoder.parameters():  # gradients left over from earlier steps
        parameter.grad = torch.full_like(parameter, 0.01)
    train_step = student(
        "sam.train_step",
        upsample_logits=reference_upsample,
        metrics=SimpleNamespace(dice_ce_loss=reference_dice_ce),  # the default loss of lesson 3
    )
    returned = train_step(model, batch, optimizer)
    expect(
        isinstance(returned, float),
        f"train_step should return the loss as a float, got {type(returned).__name__}",
    )
    decoder_only(reference)
    loss = reference_dice_ce(reference_logits(reference, batch), batch["masks"])
    loss.backward()
    expect_close(
        returned, loss.item(), "loss returned by train_step (DiceCE before the step)", atol=1e-5
    )
    with torch.no_grad():
        for (name, after), before in zip(
            model.named_parameters(), reference.parameters(), strict=True
        ):
            expected = before - 5.0 * before.grad if before.grad is not None else before
            expect_close(
                after,
                expected,
                f"{name} after one step (zero_grad first; multimask_output=False; upsample, then the loss)",
                atol=1e-5,
                rtol=1e-4,
            )


@exercise("sam.train_step", points=2)
def test_train_step_lowers_the_loss():
    """A few steps of Adam on one fixed batch lower its loss; the given loss_fn is used."""
    batch = water_like_batch(seed=3)
    model = small_sam(seed=3)
    optimizer = torch.optim.Adam(decoder_only(model), lr=3e-2)
    calls = []

    def counted_loss(logits: Tensor, target: Tensor) -> Tensor:
        calls.append(tuple(logits.shape))
        return reference_dice_ce(logits, target)

    train_step = student("sam.train_step", upsample_logits=reference_upsample)
    losses = [train_step(model, batch, optimizer, loss_fn=counted_loss) for _ in range(6)]
    expect(
        len(calls) == 6, f"loss_fn was called {len(calls)} times in 6 steps: use the loss_fn given"
    )
    expect(
        calls[0] == (2, 64, 64),
        f"loss_fn got logits of shape {calls[0]}, expected (2, 64, 64) (image size)",
    )
    expect(
        losses[-1] < losses[0] - 0.1,
        f"the loss did not go down over 6 steps: {[round(x, 4) for x in losses]}",
    )


# ----------------------------------------------------------------------------- predict_masks


@holds_for_constants
@exercise("sam.predict_masks", points=2)
def test_predict_masks_shape_and_type():
    """Masks are bool, one per box, at the images' resolution (not the decoder's), without gradients."""
    predict_masks = student("sam.predict_masks", upsample_logits=reference_upsample)
    model = small_sam(seed=4)
    batch = water_like_batch(size=(48, 80), seed=4)
    masks = expect_tensor(
        predict_masks(model, batch["images"], batch["boxes"]),
        "predict_masks(model, images, boxes)",
        shape=(2, 48, 80),
    )
    expect(masks.dtype == torch.bool, f"predict_masks should return bool masks, got {masks.dtype}")
    expect(
        all(parameter.grad is None for parameter in model.parameters()),
        "prediction left gradients on the model",
    )


@exercise("sam.predict_masks", points=2)
@settings(max_examples=8)
@given(st.sampled_from([0.5, 0.2, 0.4, 0.6, 0.8, 0.95]), st.integers(0, 3))
def test_predict_masks_thresholds_probabilities(threshold, seed):
    """A pixel is in the mask when sigmoid(upsampled logits) > threshold (probabilities, not logits)."""
    predict_masks = student("sam.predict_masks", upsample_logits=reference_upsample)
    model = confident_sam(seed=seed)
    batch = water_like_batch(size=(64, 64), seed=seed)
    with torch.no_grad():
        probabilities = reference_logits(model, batch).sigmoid()
    masks = expect_tensor(
        predict_masks(model, batch["images"], batch["boxes"], threshold=threshold),
        f"predict_masks(..., threshold={threshold})",
        shape=(2, 64, 64),
    )
    decided = (probabilities - threshold).abs() > 1e-4  # leave out pixels on the threshold itself
    inside = probabilities > threshold
    expect(
        bool(inside.any() and (~inside).any()),
        "(check set-up) the probabilities should cross the threshold",
    )
    wrong = (masks.bool() != (probabilities > threshold)) & decided
    expect(
        not bool(wrong.any()),
        f"{int(wrong.sum())} of {int(decided.sum())} pixels disagree with sigmoid(logits) > {threshold}"
        " (upsample the logits first, then compare probabilities with the threshold)",
    )


# ----------------------------------------------------------------------------- train_step contract
# (issue 11) One step equals a reference step for batch sizes 1 and 3 with Adam; masks of every
# accepted dtype reach the loss as float targets of the logits' shape and dtype.


def batch_of(count: int, size: tuple[int, int] = (64, 64)) -> dict[str, Tensor]:
    """``count`` water-like samples (two per seed), stacked."""
    parts = [water_like_batch(size, seed=seed) for seed in range((count + 1) // 2)]
    return {key: torch.cat([part[key] for part in parts])[:count] for key in parts[0]}


def strict_dice_ce(seen: list) -> object:
    """The reference DiceCE, refusing what the documented loss_fn contract does not allow."""

    def loss_fn(logits: Tensor, target: Tensor) -> Tensor:
        expect(
            target.is_floating_point() and target.dtype == logits.dtype,
            f"loss_fn got a target of dtype {target.dtype} for logits of dtype {logits.dtype}:"
            " hand the loss float masks (masks.to(logits)), as its contract says",
        )
        expect(
            logits.dim() == 3 and target.shape == logits.shape,
            f"loss_fn got logits {tuple(logits.shape)} and target {tuple(target.shape)}; both"
            " should be [B, H, W] (is a batch of one squeezed away?)",
        )
        seen.append(tuple(logits.shape))
        return reference_dice_ce(logits, target)

    return loss_fn


TRAIN_STEP_CASES = [
    (1, torch.bool),
    (3, torch.float32),
    (1, torch.uint8),
    (3, torch.int64),
    (1, torch.float32),
    (3, torch.bool),
]


@exercise("sam.train_step", points=2)
def test_train_step_equals_a_reference_adam_step():
    """One Adam step for B = 1 and 3 and masks bool/float/uint8/int64 equals the step done here."""
    for batch_size, mask_dtype in TRAIN_STEP_CASES:
        one_reference_adam_step(batch_size, mask_dtype)


def one_reference_adam_step(batch_size: int, mask_dtype: torch.dtype) -> None:
    batch = batch_of(batch_size)
    batch["masks"] = batch["masks"].to(mask_dtype)
    model = small_sam(seed=5)
    reference = copy.deepcopy(model)
    optimizer = torch.optim.Adam(decoder_only(model), lr=1e-2)
    reference_optimizer = torch.optim.Adam(decoder_only(reference), lr=1e-2)
    seen: list = []
    train_step = student(
        "sam.train_step",
        upsample_logits=reference_upsample,
        metrics=SimpleNamespace(dice_ce_loss=strict_dice_ce(seen)),
    )
    returned = train_step(model, batch, optimizer)
    expect(
        isinstance(returned, float),
        f"train_step should return the loss as a float, got {type(returned).__name__}",
    )
    expect(
        seen == [(batch_size, 64, 64)],
        f"the default loss (lesson 3's dice_ce_loss) should be called once on [B, H, W] logits,"
        f" got calls with {seen}",
    )
    reference_optimizer.zero_grad()
    loss = reference_dice_ce(reference_logits(reference, batch), batch["masks"].float())
    loss.backward()
    reference_optimizer.step()
    expect_close(returned, loss.item(), f"loss of a batch of {batch_size}", atol=1e-5)
    with torch.no_grad():
        for (name, after), expected in zip(
            model.named_parameters(), reference.parameters(), strict=True
        ):
            expect_close(
                after,
                expected,
                f"{name} after one Adam step on a batch of {batch_size} ({mask_dtype} masks)",
                atol=1e-5,
                rtol=1e-4,
            )


@holds_for_constants
@exercise("sam.train_step", points=1)
def test_train_step_passes_float_targets_to_a_given_loss():
    """A given loss_fn gets [B, H, W] logits and float targets of the same dtype, even for B = 1."""
    for mask_dtype in (torch.bool, torch.uint8):
        batch = batch_of(1)
        batch["masks"] = batch["masks"].to(mask_dtype)
        model = small_sam(seed=6)
        optimizer = torch.optim.SGD(decoder_only(model), lr=0.1)
        seen: list = []
        train_step = student("sam.train_step", upsample_logits=reference_upsample)
        train_step(model, batch, optimizer, loss_fn=strict_dice_ce(seen))
        expect(seen == [(1, 64, 64)], f"loss_fn calls: {seen}, expected one with (1, 64, 64)")


# ----------------------------------------------------------------------------- box_prompt and
# predict_masks contract (issue 11): every move in [-jitter, jitter] occurs, jitter=1 included;
# the default threshold; "above" the threshold is strict.


@exercise("sam.box_prompt", points=1)
def test_box_prompt_moves_cover_the_whole_range():
    """Over many draws each side moves by every whole number in [-jitter, jitter], for jitter 1 and 2."""
    box_prompt = student("sam.box_prompt")
    mask = torch.zeros(30, 30, dtype=torch.bool)
    mask[10:20, 8:22] = True
    tight = box_prompt(mask, jitter=0)  # whatever the box convention: moves are relative to it
    for jitter in (1, 2):
        moves = (
            torch.stack(
                [
                    box_prompt(mask, jitter=jitter, generator=torch.Generator().manual_seed(seed))
                    for seed in range(80)
                ]
            )
            - tight
        )
        for side in range(4):
            seen = sorted({int(v) for v in moves[:, side].round().tolist()})
            expect(
                seen == list(range(-jitter, jitter + 1)),
                f"with jitter={jitter}, side {side} moved by {seen} over 80 draws; expected every"
                f" whole number in [-{jitter}, {jitter}] (randint's upper bound is exclusive)",
            )


def zero_logit_sam() -> torch.nn.Module:
    """A tiny SAM whose mask logits are exactly 0 everywhere (probability exactly 0.5)."""
    model = small_sam(seed=7)
    with torch.no_grad():
        for mlp in model.mask_decoder.output_hypernetworks_mlps:
            mlp.proj_out.weight.zero_()
            mlp.proj_out.bias.zero_()
    return model


@exercise("sam.predict_masks", points=1)
def test_predict_masks_default_and_strict_threshold():
    """The default threshold is 0.5, and a probability exactly at the threshold is not in the mask."""
    predict_masks = student("sam.predict_masks", upsample_logits=reference_upsample)
    batch = water_like_batch(size=(32, 32), seed=7)
    model = zero_logit_sam()
    with torch.no_grad():
        probabilities = reference_logits(model, batch).sigmoid()
    expect(
        bool((probabilities == 0.5).all()),
        "(check set-up) a SAM with zeroed output hypernetworks predicts probability 0.5",
    )
    at = predict_masks(model, batch["images"], batch["boxes"], threshold=0.5)
    expect(
        not bool(at.any()),
        "pixels with probability exactly 0.5 are not above threshold=0.5: use >, not >=",
    )
    below = predict_masks(model, batch["images"], batch["boxes"], threshold=0.4)
    expect(bool(below.all()), "every pixel of probability 0.5 is above threshold=0.4")
    confident = confident_sam(seed=1)
    images, boxes = batch["images"], batch["boxes"]
    expect(
        torch.equal(
            predict_masks(confident, images, boxes),
            predict_masks(confident, images, boxes, threshold=0.5),
        ),
        "predict_masks(model, images, boxes) should use the default threshold 0.5",
    )
