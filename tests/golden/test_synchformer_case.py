"""The `synchformer_encoder` conformance kind at sizes other than the public case's.

Each test writes a case folder as the reference harness does (official config schema, `vfeat_extractor.*`
keys, `video` in [-1, 1] plus `video_uint8`, outputs with `debug_*` intermediates) with reference outputs
from an independent float64 implementation below (official segmenting by list comprehension, explicit
masked softmax attention, torch's own TransformerEncoderLayer for the pooling), then runs it through the
same runner as `audiox conformance`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from audiox.conditioning.sync import encode_sync_features, normalize_sync_frames
from audiox.conditioning.synchformer import Synchformer
from audiox.conformance.runner import run_case
from audiox.errors import InputError
from tests.conftest import REFVECTORS

EPS = 1e-6
ODD = {  # 3 x 3 patches, 3 heads of 10, 3 blocks, 41 frames -> 4 segments + 1 dropped frame, batch 3
    "batch": 3, "frames": 41, "step": 8, "crop": 48, "patch": 16, "tubelet": 2, "t": 8,
    "dim": 30, "depth": 3, "heads": 3, "mlp_ratio": 2, "qkv_bias": True,
}
SMALL = {  # 5 x 5 patches, 4-frame tubelets, 5 heads, no qkv bias, step 5: 27 frames -> 3 segments, batch 1
    "batch": 1, "frames": 27, "step": 5, "crop": 20, "patch": 4, "tubelet": 4, "t": 4,
    "dim": 20, "depth": 1, "heads": 5, "mlp_ratio": 4, "qkv_bias": False,
}


def official_config(s: dict) -> dict:
    vit = {
        "PATCH_SIZE": s["patch"], "PATCH_SIZE_TEMP": s["tubelet"], "CHANNELS": 3, "EMBED_DIM": s["dim"],
        "DEPTH": s["depth"], "NUM_HEADS": s["heads"], "MLP_RATIO": s["mlp_ratio"], "QKV_BIAS": s["qkv_bias"],
        "TEMPORAL_RESOLUTION": s["t"],
    }
    call = {"segment_size": 16, "step_size": s["step"], "batch_size": -1, "frame_size": s["crop"]}
    return {
        "model": {"type": "synchformer", "motionformer_cfg": {"DATA": {"TRAIN_CROP_SIZE": s["crop"]}, "VIT": vit},
                  "encode_video_with_sync": call},
        "harness_substitutions": {"patch_embed": {"img_size": s["crop"]}},
    }


def random_weights(s: dict, seed: int) -> dict[str, Tensor]:
    """Official-keyed random weights (`vfeat_extractor.*`); key names from the official layout."""
    with torch.device("meta"):
        shapes = Synchformer(
            image_size=s["crop"], patch_size=s["patch"], tubelet_size=s["tubelet"], temporal_resolution=s["t"],
            dim=s["dim"], depth=s["depth"], num_heads=s["heads"], mlp_ratio=s["mlp_ratio"], qkv_bias=s["qkv_bias"],
        ).state_dict()
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for key, value in shapes.items():
        fan_in = max(1, value[0].numel()) if value.ndim >= 2 else 1
        draw = torch.randn(value.shape, generator=gen)
        draw = draw / fan_in**0.5 if value.ndim >= 2 else 0.1 * draw
        weights["vfeat_extractor." + key] = draw + 1.0 if "norm" in key and key.endswith("weight") else draw
    return weights


def _attention(w: dict, prefix: str, x: Tensor, heads: int, allowed: Tensor) -> Tensor:
    n, tokens, d = x.shape
    qkv = F.linear(x, w[prefix + "qkv.weight"], w.get(prefix + "qkv.bias"))
    q, k, v = qkv.reshape(n, tokens, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    scores = (q * (d // heads) ** -0.5) @ k.transpose(-1, -2)
    out = scores.masked_fill(~allowed, float("-inf")).softmax(-1) @ v
    return F.linear(out.transpose(1, 2).reshape(n, tokens, d), w[prefix + "proj.weight"], w[prefix + "proj.bias"])


def _allowed(frames: int, patches: int, axis: str) -> Tensor:
    f, p = torch.arange(frames).repeat_interleave(patches), torch.arange(patches).repeat(frames)
    allowed = torch.ones(1 + frames * patches, 1 + frames * patches, dtype=torch.bool)
    allowed[1:, 1:] = (p[:, None] == p[None]) if axis == "time" else (f[:, None] == f[None])
    return allowed


def _norm(w: dict, prefix: str, x: Tensor) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], w[prefix + "weight"], w[prefix + "bias"], EPS)


def reference(weights: dict[str, Tensor], video: Tensor, s: dict) -> dict[str, Tensor]:
    """Independent float64 reference of encode_video_with_sync with the case's debug intermediates."""
    w = {k.removeprefix("vfeat_extractor."): v.double() for k, v in weights.items()}
    count = (video.shape[1] - 16) // s["step"] + 1
    segs = torch.stack([video[:, i * s["step"] : i * s["step"] + 16] for i in range(count)], 1).flatten(0, 1)
    stride = (s["tubelet"], s["patch"], s["patch"])
    x = F.conv3d(segs.double().permute(0, 2, 1, 3, 4), w["patch_embed_3d.proj.weight"],
                 w["patch_embed_3d.proj.bias"], stride=stride)
    t, patches = x.shape[2], x.shape[3] * x.shape[4]
    out = {"debug_patch_embed_3d": x.flatten(2).transpose(1, 2)}
    grid = w["pos_embed"][:, 1:].repeat(1, t, 1) + w["temp_embed"].repeat_interleave(patches, 1)
    cls = (w["cls_token"] + w["pos_embed"][:, :1]).expand(x.shape[0], -1, -1)
    x = out["debug_tokens_in"] = torch.cat([cls, out["debug_patch_embed_3d"] + grid], 1)
    time, space = _allowed(t, patches, "time"), _allowed(t, patches, "space")
    for i in range(s["depth"]):
        b = f"blocks.{i}."
        time_out = _attention(w, b + "timeattn.", _norm(w, b + "norm3.", x), s["heads"], time)
        space_out = _attention(w, b + "attn.", _norm(w, b + "norm1.", x + time_out), s["heads"], space)
        x = x + time_out + space_out
        hidden = F.gelu(F.linear(_norm(w, b + "norm2.", x), w[b + "mlp.fc1.weight"], w[b + "mlp.fc1.bias"]))
        x = out[f"debug_block_{i}"] = x + F.linear(hidden, w[b + "mlp.fc2.weight"], w[b + "mlp.fc2.bias"])
        if i == 0:
            out["debug_block_0_timeattn_out"], out["debug_block_0_spaceattn_out"] = time_out, space_out
    pre = out["debug_pre_agg"] = _norm(w, "norm.", x[:, 1:])
    layer = nn.TransformerEncoderLayer(s["dim"], s["heads"], s["mlp_ratio"] * s["dim"], dropout=0.0,
                                       activation=nn.GELU(), layer_norm_eps=EPS, batch_first=True, norm_first=True)
    agg = {k.removeprefix("spatial_attn_agg."): v for k, v in w.items() if k.startswith("spatial_attn_agg.")}
    agg_cls = agg.pop("cls_token")
    layer.load_state_dict(agg, strict=True)
    per_frame = pre.reshape(-1, patches, s["dim"])  # rows (segment, temporal token)
    pooled = layer.double().eval()(torch.cat([agg_cls.expand(per_frame.shape[0], -1, -1), per_frame], 1))[:, 0]
    out["debug_spatial_agg"] = pooled.reshape(-1, t, s["dim"])
    out["sync_features"] = pooled.reshape(video.shape[0], count * t, s["dim"])
    return {k: v.float().contiguous() for k, v in out.items()}


def write_case(folder: Path, s: dict, seed: int = 0) -> Path:
    gen = torch.Generator().manual_seed(seed + 1)
    shape = (s["batch"], s["frames"], 3, s["crop"], s["crop"])
    video_uint8 = torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)
    video = (video_uint8.float().mul_(1 / 255) - 0.5) / 0.5  # the official sync_transform
    weights = random_weights(s, seed)
    with torch.no_grad():
        outputs = reference(weights, video, s)
    folder.mkdir()
    tolerance = {name: {"suggested_atol": 4e-5, "suggested_rtol": 1e-4} for name in outputs}
    (folder / "case.json").write_text(json.dumps({"case": "synchformer_encoder", "tolerance": tolerance}))
    (folder / "config.json").write_text(json.dumps(official_config(s)))
    save_file(weights, folder / "state_dict.safetensors")
    save_file({"video": video, "video_uint8": video_uint8}, folder / "inputs.safetensors")
    save_file(outputs, folder / "outputs.safetensors")
    return folder


@pytest.mark.parametrize("sizes", [ODD, SMALL], ids=["odd", "small"])
def test_other_sizes_pass_with_every_intermediate_compared(tmp_path: Path, sizes: dict) -> None:
    result = run_case(write_case(tmp_path / "synchformer_encoder", sizes))
    assert result.ok, result.line() + "\n" + "\n".join(c.describe() for c in result.comparisons)
    compared = {c.name for c in result.comparisons}
    expected = set(load_file(tmp_path / "synchformer_encoder" / "outputs.safetensors"))
    assert compared == expected | {"sync_features@video_uint8"}


def test_a_wrong_weight_fails_the_case(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "case", SMALL)
    weights = load_file(folder / "state_dict.safetensors")
    weights["vfeat_extractor.temp_embed"][0, 1, 0] += 0.5  # one channel of the second temporal position
    save_file(weights, folder / "state_dict.safetensors")
    result = run_case(folder)
    failing = {c.name for c in result.comparisons if not c.ok}
    assert not result.ok and {"sync_features", "debug_tokens_in"} <= failing
    assert "debug_patch_embed_3d" not in failing


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    folder = write_case(tmp_path / "case", SMALL)
    weights = load_file(folder / "state_dict.safetensors")
    del weights["vfeat_extractor.norm.bias"]
    save_file(weights, folder / "state_dict.safetensors")
    result = run_case(folder)
    assert not result.ok and "1 missing" in result.error and "vfeat_extractor.norm.bias" in result.error


def test_preprocessing_is_bit_identical_to_the_official() -> None:
    """uint8 frames are scaled by * (1 / 255) as torchvision's ToDtype does (x / 255 differs by 1 ulp on
    126 of the 256 codes); the public case's `video` is exactly our preprocessing of its `video_uint8`."""
    codes = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(normalize_sync_frames(codes), (codes.float().mul_(1 / 255) - 0.5) / 0.5)
    assert not torch.equal(normalize_sync_frames(codes), (codes.float() / 255 - 0.5) / 0.5)
    inputs = load_file(REFVECTORS / "public" / "synchformer_encoder" / "inputs.safetensors")
    assert torch.equal(normalize_sync_frames(inputs["video_uint8"]), inputs["video"])


@pytest.mark.parametrize(
    "frames, message",
    [(torch.zeros(1, 16, 3, 32, 32, dtype=torch.uint8), "normalized frames are float"),
     (torch.full((1, 16, 3, 32, 32), -1.5), "expected [-1, 1]")],
)
def test_normalized_frames_are_checked(frames: Tensor, message: str) -> None:
    model = Synchformer(image_size=32, patch_size=16, dim=8, depth=1, num_heads=2)
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        encode_sync_features(frames, model, normalized=True)
