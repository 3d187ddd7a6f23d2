"""The one training loop, ``bam.train.fit``, on a toy recipe (and the SAM pretraining recipe)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from bam.train import Recipe, fit, load_checkpoint


def toy_recipe(epochs: int = 3, steps: int = 4, lr: float = 0.1) -> Recipe:
    """Linear regression on batches that depend on (epoch, index) alone, plus an in-model sampler."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    truth = torch.tensor([[1.0, -2.0, 0.5]])

    def batch(epoch: int, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(epoch * 100 + index)
        x = torch.randn(8, 3, generator=generator)
        return x, x @ truth.T

    def step(batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
        x, y = batch
        keep = torch.rand(len(x)) < 0.75  # uses torch's global generator, seeded per step by fit
        loss = ((model(x[keep]) - y[keep]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    return Recipe(
        model=model, optimizer=optimizer, epochs=epochs, steps_per_epoch=steps, batch=batch,
        step=step, evaluate=lambda epoch, record: {"weight": model.weight.sum().item()},
        lr_factor=lambda step: 0.5 ** (step // 4), keep_steps=True,
    )  # fmt: skip


def test_resume_mid_epoch_ends_with_the_same_weights(tmp_path):
    (tmp_path / "whole").mkdir()
    whole = fit(toy_recipe(), tmp_path / "whole" / "checkpoint.pt", log=str, progress=False)

    def interrupt(epoch: int, batch: int) -> None:
        if (epoch, batch) == (1, 2):
            raise KeyboardInterrupt

    (tmp_path / "cut").mkdir()
    cut = tmp_path / "cut" / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(toy_recipe(), cut, log=str, progress=False, after_batch=interrupt)
    saved = load_checkpoint(cut)
    assert (saved["epoch"], saved["batch"]) == (1, 2)
    messages: list[str] = []
    resumed = fit(toy_recipe(), cut, resume=True, log=messages.append, progress=False)
    assert any("resuming" in message for message in messages)
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in whole], abs=1e-7)
    assert [r["steps"] for r in resumed] == [r["steps"] for r in whole]
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text()) == resumed


def test_learning_rate_follows_the_factor_per_step(tmp_path):
    rates: list[float] = []
    recipe = toy_recipe(epochs=2, steps=4)
    inner = recipe.step

    def spy(batch):
        rates.append(recipe.optimizer.param_groups[0]["lr"])
        return inner(batch)

    recipe.step = spy
    fit(recipe, None, log=str, progress=False)
    assert rates == pytest.approx([0.1] * 4 + [0.05] * 4)


def test_a_nan_loss_stops_with_a_clear_error():
    recipe = toy_recipe()
    recipe.step = lambda batch: {"loss": float("nan")}
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1: the loss became"):
        fit(recipe, None, log=str, progress=False)


def test_time_budget_closes_the_epoch():
    history = fit(toy_recipe(epochs=5), None, log=str, progress=False, max_minutes=0.0)
    assert len(history) == 1 and history[0]["stopped"] and len(history[0]["steps"]) == 1


def test_sam_pretraining_recipe_saves_a_loadable_model(tmp_path):
    from bam.pipelines.sam_pretraining import pretrain
    from bam.sam_model import load_sam

    result = pretrain(tmp_path, steps=2, batch_size=1, log=str)
    assert result["steps"] == 2 and 0.0 <= result["validation_iou"] <= 1.0
    load_sam(tmp_path)
