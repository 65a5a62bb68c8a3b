"""InverseLR against hand-computed values; the LambdaLR form follows it step by step."""

from __future__ import annotations

import math

import pytest
import torch

from audiox.errors import ConfigError
from audiox.training.schedules import (
    InverseLRConfig,
    audiox_optimizer_preset,
    build_optimizer,
    inverse_lr,
    inverse_lr_scheduler,
)

PRESET = audiox_optimizer_preset()

# lr(n) = (1 - 0.99 ** (n + 1)) * 1e-5 * (1 + n / 1e6) ** -0.5, evaluated with 40-digit decimals
HAND_VALUES = {
    0: 1.0e-7,  # (1 - 0.99) * 1e-5
    1: 1.989999005000746e-7,  # 0.0199 * 1e-5 * (1 + 1e-6) ** -0.5
    99: 6.339362796575402e-6,  # (1 - 0.99 ** 100 = 0.633967...) * 0.9999505...e-5
    1000: 9.994576565065901e-6,
    100000: 9.534625892455923e-6,
    1000000: 7.071067811865475e-6,  # ramp ~ 1, 1e-5 / sqrt(2)
}


def test_preset_values():
    assert PRESET.optimizer.lr == 1e-5 and PRESET.optimizer.weight_decay == 1e-3
    assert PRESET.optimizer.betas == (0.9, 0.999)
    assert PRESET.scheduler == InverseLRConfig(inv_gamma=1e6, power=0.5, warmup=0.99, final_lr=0.0)


@pytest.mark.parametrize(("step", "expected"), sorted(HAND_VALUES.items()))
def test_inverse_lr_matches_hand_computed_values(step, expected):
    assert inverse_lr(step, 1e-5, PRESET.scheduler) == pytest.approx(expected, rel=1e-12)


def test_final_lr_floor_and_no_warmup():
    cfg = InverseLRConfig(inv_gamma=1.0, power=1.0, warmup=0.0, final_lr=2.5e-6)
    assert inverse_lr(0, 1e-5, cfg) == pytest.approx(1e-5)
    assert inverse_lr(1, 1e-5, cfg) == pytest.approx(5e-6)  # 1e-5 / 2
    assert inverse_lr(3, 1e-5, cfg) == pytest.approx(2.5e-6)
    assert inverse_lr(9, 1e-5, cfg) == pytest.approx(2.5e-6)  # 1e-6 floored at final_lr


def test_lambda_scheduler_follows_the_formula_per_optimizer_step():
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer, scheduler = build_optimizer([param], PRESET)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["weight_decay"] == 1e-3
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [inverse_lr(n, 1e-5, PRESET.scheduler) for n in range(6)]
    assert seen == pytest.approx(expected, rel=1e-12)


def test_each_param_group_keeps_its_own_base_lr_for_the_floor():
    cfg = InverseLRConfig(inv_gamma=1.0, power=1.0, final_lr=1e-4)
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (1e-3, 1e-2)]
    optimizer = torch.optim.SGD(groups)
    scheduler = inverse_lr_scheduler(optimizer, cfg)
    for _ in range(20):
        optimizer.step()
        scheduler.step()
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert lrs == pytest.approx([1e-4, 1e-2 / 21], rel=1e-12)  # floor vs 1e-2 * (1 + 20) ** -1
    assert math.isclose(lrs[0], inverse_lr(20, 1e-3, cfg))


def test_bad_scheduler_config():
    for kwargs, field in (
        ({"inv_gamma": 0.0}, "inv_gamma"),
        ({"warmup": 1.0}, "warmup"),
        ({"final_lr": -1.0}, "final_lr"),
    ):
        with pytest.raises(ConfigError, match=field):
            InverseLRConfig(**kwargs)
