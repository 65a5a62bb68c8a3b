"""T5 text conditioner: projection + mask zeroing, fp16 encoder numerics, offline loading errors."""

from __future__ import annotations

import pytest
import torch

from audiox.conditioning.text_t5 import T5TextConditioner, load_t5_text_encoder
from audiox.config.schema import T5ConditionerConfig
from audiox.errors import CheckpointError, ConfigError, InputError
from tests.conditioning.conftest import tiny_t5


def test_forward_shapes_mask_and_zeroed_padding(t5_encoder):
    cfg = T5ConditionerConfig(t5_model_name="t5-small", max_length=6)
    cond = T5TextConditioner(cfg, output_dim=8, text_encoder=t5_encoder)
    tokens, mask = cond(["a dog barks", ""])
    assert tokens.shape == (2, 6, 8) and tokens.dtype == torch.float32
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[True] * 4 + [False] * 2, [True] + [False] * 5]  # "" -> [</s>, pad...]
    assert (tokens[~mask] == 0).all()
    assert (tokens[mask].abs().sum(-1) > 0).all()


def test_project_hidden_zeroes_padding_after_proj_out_bias():
    cond = T5TextConditioner(T5ConditionerConfig(t5_model_name="t5-small"), output_dim=4)
    with torch.no_grad():
        cond.proj_out.bias.fill_(3.0)
    hidden = torch.zeros(1, 3, 512)
    tokens, mask = cond.project_hidden(hidden, torch.tensor([[1, 1, 0]], dtype=torch.uint8))
    assert tokens[0, :2].eq(3.0).all() and tokens[0, 2].eq(0).all()
    assert mask.dtype == torch.bool


def test_quirk_t5_runs_in_float16_by_default(t5_encoder):
    cond = T5TextConditioner(T5ConditionerConfig(max_length=5), output_dim=16, text_encoder=t5_encoder)
    assert all(p.dtype == torch.float16 for p in t5_encoder.model.parameters())
    hidden, _ = cond.encode_text(["a dog"])
    assert hidden.dtype == torch.float16
    tokens, _ = cond(["a dog"])
    assert tokens.dtype == torch.float32


def test_text_encoder_dtype_float32_differs_from_fp16():
    out = {}
    for dtype in (torch.float16, torch.float32):
        cond = T5TextConditioner(
            T5ConditionerConfig(max_length=5),
            output_dim=16,
            text_encoder=tiny_t5(d_model=16),
            text_encoder_dtype=dtype,
        )
        out[dtype], _ = cond(["a dog barks"])
    assert not torch.equal(out[torch.float16], out[torch.float32])
    torch.testing.assert_close(out[torch.float16], out[torch.float32], atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize(
    ("name", "out_dim", "project_out", "linear"),
    [
        ("t5-base", 768, False, False),
        ("t5-base", 768, True, True),
        ("t5-small", 48, False, True),
    ],
)
def test_proj_out_only_when_needed(name, out_dim, project_out, linear):
    cond = T5TextConditioner(
        T5ConditionerConfig(t5_model_name=name, project_out=project_out), output_dim=out_dim
    )
    assert isinstance(cond.proj_out, torch.nn.Linear) is linear
    assert (len(cond.state_dict()) == 2) is linear  # the T5 encoder itself is never in the state dict


def test_encoder_not_in_state_dict(t5_encoder):
    cond = T5TextConditioner(T5ConditionerConfig(), output_dim=16, text_encoder=t5_encoder)
    assert list(cond.state_dict()) == []


def test_load_from_local_folder(tmp_path, t5_encoder):
    t5_encoder.tokenizer.save_pretrained(tmp_path)
    t5_encoder.model.save_pretrained(tmp_path)
    loaded = load_t5_text_encoder(tmp_path)
    assert loaded.model.config.d_model == 16
    cond = T5TextConditioner(T5ConditionerConfig(max_length=4), output_dim=16, text_encoder=loaded)
    assert cond(["rain"])[0].shape == (1, 4, 16)


@pytest.mark.parametrize(
    ("build", "error", "text"),
    [
        (
            lambda: load_t5_text_encoder("t5-nonexistent-test", cache_dir="/nonexistent"),
            CheckpointError,
            "t5-nonexistent-test",
        ),
        (
            lambda: T5TextConditioner(T5ConditionerConfig(t5_model_name="t5-tiny"), output_dim=8),
            ConfigError,
            "t5-tiny",
        ),
        (
            lambda: T5TextConditioner(T5ConditionerConfig(enable_grad=True), output_dim=8),
            ConfigError,
            "enable_grad",
        ),
        (
            lambda: T5TextConditioner(T5ConditionerConfig(), output_dim=8)(["x"]),
            InputError,
            "no text encoder",
        ),
        (
            lambda: T5TextConditioner(T5ConditionerConfig(), output_dim=16, text_encoder=tiny_t5(d_model=16))(
                "x"
            ),
            InputError,
            "list",
        ),
        (
            lambda: T5TextConditioner(
                T5ConditionerConfig(t5_model_name="t5-small"), output_dim=8
            ).set_text_encoder(tiny_t5(d_model=16)),
            InputError,
            "width",
        ),
    ],
)
def test_errors(build, error, text):
    with pytest.raises(error, match=text):
        build()
