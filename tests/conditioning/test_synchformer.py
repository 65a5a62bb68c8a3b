"""Synchformer visual branch: shapes, an independent mask-based reference, windowing, strict loading, keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from audiox.conditioning.sync import (
    CHECKPOINT_PREFIX,
    encode_sync_features,
    load_synchformer,
    normalize_sync_frames,
)
from audiox.conditioning.synchformer import Synchformer
from audiox.conditioning.synchformer_blocks import DividedSpaceTimeBlock
from audiox.errors import CheckpointError, InputError

KEYS_JSON = Path(__file__).with_name("synchformer_keys.json")
# tiny width, official temporal geometry (2-frame tubelets, 8 temporal tokens -> 16-frame segments)
TINY = {"image_size": 32, "patch_size": 16, "dim": 16, "depth": 2, "num_heads": 2}


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Overwrite every parameter with N(0, 0.3) draws (LayerNorm weights around 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen) * 0.3
            param.copy_(noise + 1.0 if "norm" in name and name.endswith("weight") else noise)
    return model.eval()


def tiny_model(seed: int = 0, **overrides: int) -> Synchformer:
    return randomize(Synchformer(**{**TINY, **overrides}), seed)


def random_segments(n: int, model: Synchformer, seed: int = 1) -> torch.Tensor:
    size = model.image_size
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, model.frames_per_segment, 3, size, size, generator=gen) * 2 - 1


# ---------------------------------------------------------------- independent reference (mask-based)


def reference_attention(attn: nn.Module, x: torch.Tensor, heads: int, allowed: torch.Tensor) -> torch.Tensor:
    """Explicit-softmax attention over all T tokens with a (T, T) boolean mask of allowed keys."""
    n, t, d = x.shape
    q, k, v = attn.qkv(x).reshape(n, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    scores = (q * (d // heads) ** -0.5) @ k.transpose(-1, -2)
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    return attn.proj((weights @ v).transpose(1, 2).reshape(n, t, d))


def allowed_keys(frames: int, patches: int, axis: str) -> torch.Tensor:
    """(T, T) mask: CLS sees all; a patch sees CLS + its column in time, or its frame in space."""
    f = torch.arange(frames).repeat_interleave(patches)
    p = torch.arange(patches).repeat(frames)
    same = (p[:, None] == p[None]) if axis == "time" else (f[:, None] == f[None])
    allowed = torch.ones(1 + frames * patches, 1 + frames * patches, dtype=torch.bool)
    allowed[1:, 1:] = same
    return allowed


def reference_forward(model: Synchformer, segments: torch.Tensor, heads: int) -> torch.Tensor:
    """The official computation written the official way round: tiled pos embeds, masks, nn layer."""
    frames, patches = model.temporal_resolution, model.pos_embed.shape[1] - 1
    x = model.patch_embed_3d.proj(segments.permute(0, 2, 1, 3, 4)).flatten(2).transpose(1, 2)
    x = torch.cat([model.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
    tiled = model.pos_embed[:, 1:].repeat(1, frames, 1) + model.temp_embed.repeat_interleave(patches, 1)
    x = x + torch.cat([model.pos_embed[:, :1], tiled], dim=1)
    time_mask, space_mask = allowed_keys(frames, patches, "time"), allowed_keys(frames, patches, "space")
    for blk in model.blocks:
        x = x + reference_attention(blk.timeattn, blk.norm3(x), heads, time_mask)
        x = x + reference_attention(blk.attn, blk.norm1(x), heads, space_mask)
        x = x + blk.mlp.fc2(nn.functional.gelu(blk.mlp.fc1(blk.norm2(x))))
    x = model.norm(x[:, 1:])
    x = x.transpose(1, 2).reshape(x.shape[0], -1, frames, patches).permute(0, 2, 3, 1).flatten(0, 1)
    agg = model.spatial_attn_agg
    layer = nn.TransformerEncoderLayer(
        agg.cls_token.shape[-1],
        heads,
        agg.linear1.out_features,
        dropout=0.0,
        activation=nn.GELU(),
        layer_norm_eps=1e-6,
        batch_first=True,
        norm_first=True,
    ).eval()
    layer.load_state_dict({k: v for k, v in agg.state_dict().items() if k != "cls_token"}, strict=True)
    pooled = layer(torch.cat([agg.cls_token.expand(x.shape[0], -1, -1), x], dim=1))[:, 0]
    return pooled.reshape(segments.shape[0], frames, -1)


# ---------------------------------------------------------------- the network


def test_tiny_forward_shapes() -> None:
    model = tiny_model()
    assert model.frames_per_segment == 16
    assert model(random_segments(3, model)).shape == (3, 8, 16)
    wide = tiny_model(image_size=48, tubelet_size=4, temporal_resolution=2)
    assert wide(random_segments(2, wide)).shape == (2, 2, 16)


@pytest.mark.parametrize("overrides", [{}, {"num_heads": 4, "image_size": 48}])
def test_matches_mask_based_reference(overrides: dict) -> None:
    model = tiny_model(seed=3, **overrides)
    segments = random_segments(2, model)
    with torch.no_grad():
        ours, ref = model(segments), reference_forward(model, segments, heads=model.blocks[0].attn.num_heads)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_quirk_unused_patch_embed() -> None:
    model = tiny_model()
    segments = random_segments(2, model)
    with torch.no_grad():
        before = model(segments)
        model.patch_embed.proj.weight.normal_()
        torch.testing.assert_close(model(segments), before, atol=0, rtol=0)


def test_quirk_time_attention_first_with_norm3() -> None:
    block = randomize(DividedSpaceTimeBlock(dim=16, num_heads=2))
    x = torch.randn(2, 1 + 4 * 3, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        h = x + block.timeattn(block.norm3(x), axis="time", num_frames=4)
        h = h + block.attn(block.norm1(h), axis="space", num_frames=4)
        expected = h + block.mlp(block.norm2(h))
        torch.testing.assert_close(block(x, num_frames=4), expected, atol=0, rtol=0)
        space_first = x + block.attn(block.norm1(x), axis="space", num_frames=4)
        space_first = space_first + block.timeattn(block.norm3(space_first), axis="time", num_frames=4)
        space_first = space_first + block.mlp(block.norm2(space_first))
        assert (expected - space_first).abs().max() > 1e-3


def test_full_size_meta_key_set_matches_official() -> None:
    official = json.loads(KEYS_JSON.read_text())
    with torch.device("meta"):
        model = Synchformer()
    ours = [[key, list(value.shape)] for key, value in model.state_dict().items()]
    assert ours == official["keys"]
    assert len(ours) == official["num_keys"] and official["prefix"] == CHECKPOINT_PREFIX
    assert sum(p.numel() for p in model.parameters()) == official["num_parameters"]


# ---------------------------------------------------------------- windowing and preprocessing


def video(batch: int, frames: int, size: int, seed: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, frames, 3, size, size), generator=gen, dtype=torch.uint8)


def test_250_frames_give_240_tokens() -> None:
    model = tiny_model()
    features = encode_sync_features(video(2, 250, model.image_size), model)
    assert features.shape == (2, 240, 16)


def test_tokens_are_segment_major_windows() -> None:
    model = tiny_model()
    frames = video(2, 40, model.image_size)  # (40 - 16) // 8 + 1 = 4 segments, 8 tail frames unused
    features = encode_sync_features(frames, model, segments_per_batch=3)
    with torch.no_grad():
        for s in range(4):
            window = normalize_sync_frames(frames[:, 8 * s : 8 * s + 16])
            torch.testing.assert_close(features[:, 8 * s : 8 * s + 8], model(window), atol=1e-5, rtol=1e-5)


def test_uint8_float_and_batching_agree() -> None:
    model = tiny_model()
    frames = video(1, 33, model.image_size)
    as_uint8 = encode_sync_features(frames, model)
    as_float = encode_sync_features(frames.float() / 255, model, segments_per_batch=1)
    torch.testing.assert_close(as_float, as_uint8, atol=1e-5, rtol=1e-5)
    assert normalize_sync_frames(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


@pytest.mark.parametrize(
    "frames, kwargs, message",
    [
        (torch.zeros(1, 20, 3, 24, 24), {}, "expected (B, F, 3, 32, 32)"),
        (torch.zeros(20, 3, 32, 32), {}, "expected (B, F, 3, 32, 32)"),
        (torch.zeros(1, 15, 3, 32, 32), {}, "at least 16"),
        (torch.zeros(1, 20, 3, 32, 32), {"window": 8}, "takes 16 frames"),
        (torch.zeros(1, 20, 3, 32, 32), {"stride": 0}, "stride=0"),
        (torch.zeros(1, 20, 3, 32, 32), {"segments_per_batch": 0}, "segments_per_batch=0"),
        (torch.full((1, 20, 3, 32, 32), 255.0), {}, "expected [0, 1]"),
        (torch.zeros(1, 20, 3, 32, 32, dtype=torch.int64), {}, "pass uint8"),
    ],
)
def test_bad_frames_raise_input_error(frames: torch.Tensor, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as info:
        encode_sync_features(frames, tiny_model(), **kwargs)
    assert message in str(info.value)


# ---------------------------------------------------------------- checkpoint loading


def official_file(model: Synchformer, path: Path, *, drop: int = 0, extra: int = 0) -> Path:
    """Write `model` as the official file would hold it: prefixed keys plus other branches' keys."""
    state = {CHECKPOINT_PREFIX + k: v.clone() for k, v in model.state_dict().items()}
    for key in list(state)[:drop]:
        del state[key]
    state |= {f"{CHECKPOINT_PREFIX}extra_{i}.weight": torch.zeros(2) for i in range(extra)}
    state |= {
        "afeat_extractor.patch_embed.proj.weight": torch.zeros(3),
        "transformer.norm.bias": torch.zeros(1),
    }
    torch.save(state, path)
    return path


def test_load_roundtrip_keeps_only_vfeat_extractor(tmp_path: Path) -> None:
    source = tiny_model(seed=7)
    loaded = load_synchformer(
        official_file(source, tmp_path / "synchformer_state_dict.pth"), model=tiny_model()
    )
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    segments = random_segments(1, source)
    with torch.no_grad():
        torch.testing.assert_close(loaded(segments), source(segments), atol=0, rtol=0)


def test_strict_load_error_lists_missing_unexpected_and_shapes(tmp_path: Path) -> None:
    path = official_file(tiny_model(dim=24, num_heads=2), tmp_path / "sync.pth", drop=2, extra=7)
    with pytest.raises(CheckpointError) as info:
        load_synchformer(path, model=tiny_model())
    text = str(info.value)
    assert str(path) in text and "\n" not in text
    assert "2 missing (first 5: vfeat_extractor.cls_token, vfeat_extractor.pos_embed)" in text
    assert "7 unexpected (first 5: vfeat_extractor.extra_0.weight" in text and "extra_5" not in text
    assert "vfeat_extractor.temp_embed (1, 8, 24) vs model (1, 8, 16)" in text


def test_default_model_is_full_size(tmp_path: Path) -> None:
    path = official_file(tiny_model(), tmp_path / "tiny.pth")
    with pytest.raises(CheckpointError, match="shape mismatches") as info:
        load_synchformer(path)
    assert "vfeat_extractor.pos_embed (1, 5, 16) vs model (1, 197, 768)" in str(info.value)


class NeedsCode:  # pickling this needs code, which weights_only=True refuses
    pass


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        ([torch.zeros(1)], "expected a plain state dict"),
        ({"afeat_extractor.x": torch.zeros(1)}, "no 'vfeat_extractor.*' keys among 1"),
        ({"vfeat_extractor.x": NeedsCode()}, "weights_only=True"),
        (b"not a torch file", "weights_only=True"),
    ],
)
def test_bad_checkpoint_files(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "synchformer_state_dict.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(CheckpointError) as info:
        load_synchformer(path, model=tiny_model())
    assert message in str(info.value) and str(path) in str(info.value)
