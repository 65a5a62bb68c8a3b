import warnings

import pytest
import torch
from torch import nn

from audiox.vae.blocks import DecoderBlock, EncoderBlock, ResidualUnit, WNConv1d, WNConvTranspose1d


def _legacy(module: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return nn.utils.weight_norm(module)


def _randomize(module: nn.Module) -> None:
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))


def test_weight_norm_key_names_and_shapes():
    conv = WNConv1d(in_channels=3, out_channels=5, kernel_size=7, padding=3)
    assert {k: tuple(v.shape) for k, v in conv.state_dict().items()} == {
        "bias": (5,),
        "weight_g": (5, 1, 1),
        "weight_v": (5, 3, 7),
    }
    no_bias = WNConv1d(in_channels=3, out_channels=5, kernel_size=1, bias=False)
    assert list(no_bias.state_dict()) == ["weight_g", "weight_v"]


def test_weight_norm_keys_match_torch_legacy_weight_norm():
    ours = WNConvTranspose1d(in_channels=4, out_channels=6, kernel_size=4, stride=2, padding=1)
    legacy = _legacy(nn.ConvTranspose1d(4, 6, 4, stride=2, padding=1))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in legacy.state_dict().items()
    }


@pytest.mark.parametrize("stride,dilation", [(1, 1), (1, 3), (2, 1), (4, 1)])
def test_wnconv1d_matches_legacy_weight_norm(stride, dilation):
    ours = WNConv1d(
        in_channels=3, out_channels=5, kernel_size=2 * stride + 1, stride=stride, dilation=dilation, padding=2
    )
    _randomize(ours)
    legacy = _legacy(nn.Conv1d(3, 5, 2 * stride + 1, stride=stride, dilation=dilation, padding=2))
    legacy.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 40)
    torch.testing.assert_close(ours(x), legacy(x), rtol=0, atol=1e-6)


def test_quirk_transposed_weight_norm_per_input_channel():
    ours = WNConvTranspose1d(in_channels=4, out_channels=6, kernel_size=8, stride=4, padding=2)
    _randomize(ours)
    assert ours.weight_g.shape == (4, 1, 1) and ours.weight_v.shape == (4, 6, 8)
    slab_norms = torch.linalg.vector_norm(ours.weight, dim=(1, 2))  # one norm per INPUT channel
    torch.testing.assert_close(slab_norms, ours.weight_g.abs().flatten())
    legacy = _legacy(nn.ConvTranspose1d(4, 6, 8, stride=4, padding=2))
    legacy.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 4, 9)
    torch.testing.assert_close(ours(x), legacy(x), rtol=0, atol=1e-6)


def test_residual_unit_keys_and_shape():
    unit = ResidualUnit(channels=3, dilation=9, use_snake=True)
    assert {k: tuple(v.shape) for k, v in unit.state_dict().items()} == {
        "layers.0.alpha": (3,),
        "layers.0.beta": (3,),
        "layers.1.bias": (3,),
        "layers.1.weight_g": (3, 1, 1),
        "layers.1.weight_v": (3, 3, 7),
        "layers.2.alpha": (3,),
        "layers.2.beta": (3,),
        "layers.3.bias": (3,),
        "layers.3.weight_g": (3, 1, 1),
        "layers.3.weight_v": (3, 3, 1),
    }
    x = torch.randn(1, 3, 30)
    assert unit(x).shape == x.shape


@pytest.mark.parametrize("stride", [1, 2, 3, 4, 5, 8])
def test_encoder_block_length(stride):
    block = EncoderBlock(in_channels=2, out_channels=3, stride=stride, use_snake=True)
    assert block.state_dict()["layers.4.weight_v"].shape == (3, 2, 2 * stride)
    for n in (stride, 17, 64):
        expected = (n + 2 * ((stride + 1) // 2) - 2 * stride) // stride + 1
        assert block(torch.randn(1, 2, n)).shape == (1, 3, expected)


@pytest.mark.parametrize("stride", [2, 4, 8])
def test_decoder_block_upsamples_exactly_for_even_strides(stride):
    block = DecoderBlock(in_channels=3, out_channels=2, stride=stride, use_snake=True)
    assert block.state_dict()["layers.1.weight_g"].shape == (3, 1, 1)
    assert block.state_dict()["layers.1.bias"].shape == (2,)
    assert block(torch.randn(2, 3, 5)).shape == (2, 2, 5 * stride)


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_decoder_block_nearest_upsample_keys():
    block = DecoderBlock(in_channels=3, out_channels=2, stride=4, use_snake=False, use_nearest_upsample=True)
    keys = [k for k in block.state_dict() if k.startswith("layers.1.")]
    assert keys == ["layers.1.1.weight_g", "layers.1.1.weight_v"]
    assert block(torch.randn(1, 3, 5)).shape == (1, 2, 20)
