"""EMA math on a toy module, ema-pytorch warm-up semantics, state-dict keys and resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiox.errors import ConfigError
from audiox.training.ema import EMA, EmaConfig, ema_decay


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.register_buffer("running", torch.zeros(1))
        self.register_buffer("count", torch.zeros(1, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def set_weights(model: Toy, value: float) -> None:
    with torch.no_grad():
        model.linear.weight.fill_(value)
        model.linear.bias.fill_(-value)
        model.running.fill_(2 * value)
        model.count.fill_(int(value))


def test_decay_schedule_values():
    assert ema_decay(1) == 0.0 and ema_decay(2) == 0.0  # update_after_step = 1
    assert ema_decay(3) == pytest.approx(1 - 2**-0.75)
    assert ema_decay(4) == pytest.approx(1 - 3**-0.75)
    assert ema_decay(10_001) == pytest.approx(1 - 9_999**-0.75)
    assert ema_decay(10**7) == 0.9999  # capped at beta
    assert ema_decay(5, EmaConfig(power=1.0, inv_gamma=2.0, update_after_step=0)) == pytest.approx(1 - 1 / 3)


def test_ema_math_on_a_toy_module():
    model = Toy()
    ema = EMA(model)
    expected = None
    for step, value in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], start=1):
        set_weights(model, value)
        ema.update()
        if step <= 3:
            expected = value  # two plain copies, then copy + blend with decay of e = 1 -> still a copy
        else:
            decay = 1 - (step - 1) ** -0.75
            expected = decay * expected + (1 - decay) * value
        assert ema.ema_model.linear.weight.flatten().tolist() == pytest.approx([expected] * 2, rel=1e-6)
        assert ema.ema_model.linear.bias.item() == pytest.approx(-expected, rel=1e-6)
        assert ema.ema_model.running.item() == pytest.approx(2 * expected, rel=1e-6)  # float buffers averaged
        assert ema.ema_model.count.item() == int(value)  # integer buffers copied
    assert ema.step.item() == 6 and ema.initted.item() == 1.0


def test_update_every_skips_calls():
    model = Toy()
    ema = EMA(model, EmaConfig(update_every=2, update_after_step=0))
    set_weights(model, 1.0)
    ema.update()  # previous count 0: copy
    set_weights(model, 9.0)
    ema.update()  # previous count 1: skipped
    assert ema.ema_model.linear.weight[0, 0].item() == 1.0


def test_state_dict_keys_match_ema_pytorch_and_exclude_the_online_model():
    ema = EMA(Toy())
    keys = set(ema.state_dict())
    assert keys == {
        "initted",
        "step",
        "ema_model.linear.weight",
        "ema_model.linear.bias",
        "ema_model.running",
        "ema_model.count",
    }
    assert not any(p.requires_grad for p in ema.ema_model.parameters())
    assert [p for p in ema.parameters()] == [p for p in ema.ema_model.parameters()]


def test_resume_from_state_dict_continues_identically():
    values = [0.5, 1.5, -2.0, 3.0, 0.25, 4.0, -1.0, 2.0]
    model_a = Toy()
    straight = EMA(model_a)
    for value in values:
        set_weights(model_a, value)
        straight.update()

    model_b = Toy()
    first = EMA(model_b)
    for value in values[:5]:
        set_weights(model_b, value)
        first.update()
    saved = {k: v.clone() for k, v in first.state_dict().items()}
    resumed = EMA(model_b)
    resumed.load_state_dict(saved)
    for value in values[5:]:
        set_weights(model_b, value)
        resumed.update()
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


def test_forward_runs_the_averaged_model():
    model = Toy()
    ema = EMA(model)
    set_weights(model, 1.0)
    ema.update()
    set_weights(model, 5.0)
    x = torch.ones(1, 2)
    assert torch.allclose(ema(x), torch.tensor([[1.0]]))  # EMA weights 1, bias -1: 1 + 1 - 1
    assert torch.allclose(model(x), torch.tensor([[5.0]]))


def test_bad_ema_config():
    with pytest.raises(ConfigError, match="beta"):
        EmaConfig(beta=1.5)
    with pytest.raises(ConfigError, match="update_every"):
        EmaConfig(update_every=0)
