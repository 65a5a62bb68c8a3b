"""Cross-attention context assembly: id order without MAF, the official MAF argument swap with it."""

from __future__ import annotations

import pytest
import torch

from audiox.errors import ConfigError, InputError
from audiox.fusion.maf import MafBlock
from audiox.fusion.sequence import assemble_condition_sequence

DIM = 8
IDS = ("video_prompt", "text_prompt", "audio_prompt")


def _conditions(batch: int = 2) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return {
        "video_prompt": (torch.randn(batch, 4, DIM, generator=g), torch.ones(batch, 1)),
        "text_prompt": (
            torch.randn(batch, 6, DIM, generator=g),
            torch.tensor([[True] * 3 + [False] * 3] * batch),
        ),
        "audio_prompt": (torch.randn(batch, 5, DIM, generator=g), torch.ones(batch, DIM)),
    }


def _maf() -> MafBlock:
    torch.manual_seed(0)
    maf = MafBlock(DIM, num_experts_per_modality=2, num_heads=2, num_fusion_layers=1).eval()
    with torch.no_grad():
        for name in ("bypass_gate_v", "bypass_gate_t", "bypass_gate_a"):
            getattr(maf, name).fill_(1.0)
    return maf


def test_no_gate_concatenates_in_id_order():
    cond = _conditions()
    context, mask = assemble_condition_sequence(cond, IDS)
    expected = torch.cat([cond[i][0] for i in IDS], dim=1)
    torch.testing.assert_close(context, expected, rtol=0, atol=0)
    assert mask.shape == (2, 1 + 6 + DIM)
    assert mask.dtype == torch.float32  # bool text mask promoted like torch.cat does in the official code


def test_quirk_maf_argument_swap_and_context_order():
    cond = _conditions()
    maf = _maf()
    with torch.no_grad():
        context, mask = assemble_condition_sequence(cond, IDS, maf)
        video, text, audio = (cond[i][0] for i in IDS)
        swapped = maf(text, video, audio)  # what the official wrapper does
        naive = maf(video, text, audio)
    torch.testing.assert_close(context, torch.cat([swapped.video, swapped.text, swapped.audio], dim=1))
    assert context.shape == (2, 6 + 4 + 5, DIM)  # [text', video', audio']
    assert not torch.allclose(context[:, :4], naive.video)
    # masks stay in config (video, text, audio) order
    torch.testing.assert_close(mask, torch.cat([cond[i][1].float() for i in IDS], dim=1))


def test_two_dimensional_tokens_get_a_sequence_axis():
    cond = {"a": (torch.ones(2, DIM), torch.ones(2, 1)), "b": (torch.zeros(2, 3, DIM), torch.ones(2, 3))}
    context, mask = assemble_condition_sequence(cond, ("a", "b"))
    assert context.shape == (2, 4, DIM)
    assert mask.shape == (2, 4)


@pytest.mark.parametrize(
    ("conditions", "ids", "use_maf", "error", "text"),
    [
        (_conditions(), ("video_prompt", "missing"), False, InputError, "missing"),
        (_conditions(), ("video_prompt", "text_prompt"), True, ConfigError, "exactly 3"),
        ({"x": (torch.ones(2, 2, 2, 2), torch.ones(2, 1))}, ("x",), False, InputError, "tokens.shape"),
    ],
)
def test_bad_inputs(conditions, ids, use_maf, error, text):
    with pytest.raises(error, match=text):
        assemble_condition_sequence(conditions, ids, _maf() if use_maf else None)
