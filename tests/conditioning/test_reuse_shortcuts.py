"""The conditioners' exact shortcuts (`reuse=True`, the default): no video -> the learned empty feature
without running CLIP; a silent audio prompt -> the memoised VAE encoder output. Same tokens, same masks and
the same generator draws (span masking and the VAE sample) as the full computation."""

from __future__ import annotations

import pytest
import torch

from audiox.conditioning.audio_latent import AudioLatentConditionerV1, AudioLatentConditionerV2
from audiox.conditioning.video_clip import ClipSyncVideoConditioner, ClipVideoConditioner
from audiox.config.schema import ClipConditionerConfig, ClipSyncConditionerConfig
from tests.conditioning.conftest import audio_config, tiny_clip_config

TEMPORAL = {"temporal_depth": 1, "temporal_heads": 2, "temporal_dim_head": 4, "temporal_mlp_dim": 8}
N, L = 40, 10  # audio samples -> latent frames of the tiny VAE


def video_conditioner(sync: bool):
    torch.manual_seed(0)
    if sync:
        cfg, cls = ClipSyncConditionerConfig(video_fps=1), ClipSyncVideoConditioner
    else:
        cfg, cls = ClipConditionerConfig(video_fps=1), ClipVideoConditioner
    cond = cls(cfg, output_dim=32, vision_config=tiny_clip_config(), **TEMPORAL).eval()
    with torch.no_grad():
        cond.empty_visual_feat.normal_()
        if sync:
            cond.sync_weight.fill_(0.7)
    return cond


def run_video(cond, video, reuse):
    args = (video, torch.randn(video.shape[0], 240, 32, generator=torch.Generator().manual_seed(2)))
    with torch.no_grad():
        return cond(*args[: 2 if isinstance(cond, ClipSyncVideoConditioner) else 1], reuse=reuse)


@pytest.mark.parametrize("sync", [False, True])
@pytest.mark.parametrize("batch", [1, 2])
def test_no_video_gives_the_empty_feature_without_clip(sync, batch):
    cond = video_conditioner(sync)
    calls = []
    cond.visual_encoder_model.register_forward_hook(lambda *_: calls.append(1))
    video = torch.zeros(batch, 10, 3, 64, 64)
    full = run_video(cond, video, reuse=False)
    short = run_video(cond, video, reuse=True)
    assert len(calls) == 1  # only the full computation ran CLIP
    assert torch.equal(short[0], full[0]) and torch.equal(short[1], full[1])


@pytest.mark.parametrize("sync", [False, True])
def test_a_batch_with_a_video_runs_clip(sync):
    cond = video_conditioner(sync)
    video = torch.zeros(2, 10, 3, 64, 64)
    video[1] = torch.rand(10, 3, 64, 64, generator=torch.Generator().manual_seed(3)) * 255
    full, short = run_video(cond, video, reuse=False), run_video(cond, video, reuse=True)
    assert torch.equal(short[0], full[0])
    assert not torch.equal(short[0][1], short[0][0])  # the second item is not the empty feature


def audio_conditioner(version: str, masked: bool):
    torch.manual_seed(0)
    if version == "v1":
        cond = AudioLatentConditionerV1(audio_config(), output_dim=8, num_empty_frames=L)
        with torch.no_grad():
            cond.empty_audio_feat.normal_()
        return cond.eval()
    ratios = {"mask_ratio_start": 0.1, "mask_ratio_end": 0.6} if masked else {}
    return AudioLatentConditionerV2(audio_config(latent_seq_len=L, **ratios), output_dim=8).eval()


def run_audio(cond, audio, reuse, seed=5):
    """(tokens, mask, the generator's next draw)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        tokens, mask = cond(audio, generator=g, reuse=reuse)
    return tokens, mask, torch.rand(3, generator=g)


@pytest.mark.parametrize(("version", "masked"), [("v1", False), ("v2", False), ("v2", True)])
@pytest.mark.parametrize("batch", [1, 2])
def test_silent_prompt_is_encoded_once_with_identical_output_and_draws(version, masked, batch):
    cond = audio_conditioner(version, masked)
    calls = []
    cond.pretransform.model.encoder.register_forward_hook(lambda *_: calls.append(1))
    silence = torch.zeros(batch, 2, N)
    for seed in (5, 6):  # the memo serves the second window / generation; draws stay per call
        full = run_audio(cond, silence, reuse=False, seed=seed)
        short = run_audio(cond, silence, reuse=True, seed=seed)
        assert all(torch.equal(a, b) for a, b in zip(short, full))
    assert len(calls) == 3 * batch  # 2 full computations + 1 memo fill (the tiny VAE encodes per item)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_prompt_with_sound_is_encoded(version):
    cond = audio_conditioner(version, masked=False)
    audio = torch.zeros(2, 2, N)
    audio[0] = torch.randn(2, N, generator=torch.Generator().manual_seed(4))
    full, short = run_audio(cond, audio, reuse=False), run_audio(cond, audio, reuse=True)
    assert all(torch.equal(a, b) for a, b in zip(short, full))


def test_shortcuts_are_off_by_default_and_under_autograd():
    """Training keeps the official path: the CLIP-side parameters still get their (zero) gradients."""
    cond = video_conditioner(sync=False)
    calls = []
    cond.visual_encoder_model.register_forward_hook(lambda *_: calls.append(1))
    video = torch.zeros(1, 10, 3, 64, 64)
    with torch.no_grad():
        cond(video)  # reuse defaults to False
    tokens, _ = cond(video, reuse=True)  # autograd on
    tokens.sum().backward()
    assert len(calls) == 2
    assert cond.proj.weight.grad is not None and not cond.proj.weight.grad.any()
