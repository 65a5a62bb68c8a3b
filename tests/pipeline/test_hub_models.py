"""Models by their hub id: each official repo's published layout, read from a fake local Hugging Face cache.

The tiny test model is laid out as each repo lays out its files (`add_repo`); T5 and CLIP sit in the cache
as google-t5/t5-base and openai/clip-vit-base-patch32. The tiny model's non-official encoder sizes travel in
an extra `audiox.json` beside the repo files. Nothing is downloaded: `no_network` fails any attempt, and the
one test of `download=True` replaces huggingface_hub's downloader with a copy from a fake remote.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from audiox.checkpoints import model_files as model_files_module
from audiox.checkpoints.model_files import TURBO_CONFIG
from audiox.cli.main import main
from audiox.errors import CheckpointError
from audiox.pipeline import AudioX
from tests.checkpoints.fake_hub import add_repo, remove_repo

CLIP_PREFIX = "conditioner.conditioners.video_prompt.visual_encoder_model."
VAE_PREFIX = "pretransform.model."
MAF = "HKUSTAudio/AudioX-MAF"


def _weights(tiny_model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(tiny_model_dir / "model.safetensors")


@pytest.fixture(scope="module")
def layouts(tiny_model_dir, tmp_path_factory) -> dict[str, dict[str, dict[str, Path]]]:
    """{repo id: {repo id to add: files}} for the four official repos, built from the tiny model once."""
    root = tmp_path_factory.mktemp("official_layouts")
    state = _weights(tiny_model_dir)
    without_vae = {k: v for k, v in state.items() if not k.startswith(VAE_PREFIX)}
    student = {k: v for k, v in without_vae.items() if not k.startswith(CLIP_PREFIX)}
    torch.save({"state_dict": state}, root / "model.ckpt")  # Lightning-style, as the official model.ckpt
    torch.save({"state_dict": without_vae}, root / "mmdit.ckpt")
    torch.save(
        {k[len(VAE_PREFIX) :]: v for k, v in state.items() if k.startswith(VAE_PREFIX)}, root / "vae.ckpt"
    )
    torch.save(student, root / "student.ckpt")
    tiny = {"config.json": tiny_model_dir / "config.json", "audiox.json": tiny_model_dir / "audiox.json"}
    synchformer = tiny_model_dir / "synchformer_state_dict.pth"
    return {
        "HKUSTAudio/AudioX": {"HKUSTAudio/AudioX": {**tiny, "model.ckpt": root / "model.ckpt"}},
        MAF: {MAF: {**tiny, "model.ckpt": root / "model.ckpt", "synchformer_state_dict.pth": synchformer}},
        "HKUSTAudio/AudioX-MAF-MMDiT": {
            "HKUSTAudio/AudioX-MAF-MMDiT": {
                **tiny,
                "model.ckpt": root / "mmdit.ckpt",
                "VAE.ckpt": root / "vae.ckpt",
            },
            MAF: {"synchformer_state_dict.pth": synchformer},  # the README takes it from AudioX-MAF
        },
        "HKUSTAudio/AudioX-Turbo": {
            "HKUSTAudio/AudioX-Turbo": {
                "audiox.json": tiny_model_dir / "audiox.json",
                "audiox_turbo/audiox_turbo.ckpt": root / "student.ckpt",
                "pretransform/vae.ckpt": root / "vae.ckpt",
                "synchformer/synchformer_state_dict.pth": synchformer,
            }
        },
    }


@pytest.fixture
def encoders_in_cache(hf_cache, tiny_model_dir, tmp_path) -> Path:
    """T5 and the CLIP release in the fake cache, where the official models find them."""
    add_repo(hf_cache, "google-t5/t5-base", {"": tiny_model_dir / "t5"})
    tower = {
        k[len(CLIP_PREFIX) :]: v for k, v in _weights(tiny_model_dir).items() if k.startswith(CLIP_PREFIX)
    }
    save_file(tower, tmp_path / "clip.safetensors")
    add_repo(
        hf_cache,
        "openai/clip-vit-base-patch32",
        {"config.json": "{}", "model.safetensors": tmp_path / "clip.safetensors"},
    )
    return hf_cache


@pytest.fixture
def tiny_turbo_config(monkeypatch, tiny_model_dir):
    """The Turbo repo has no config; audiox reads its shipped full-size one. Here: the tiny model's."""
    real = model_files_module.official_config_path
    monkeypatch.setattr(
        model_files_module,
        "official_config_path",
        lambda name: tiny_model_dir / "config.json" if name == TURBO_CONFIG else real(name),
    )


def _generate(pipe: AudioX) -> torch.Tensor:
    return pipe.generate("bell", duration_s=1.0, steps=1, seed=3).audio


@pytest.fixture(scope="module")
def expected(dit_pipe) -> torch.Tensor:
    """What the tiny model generates when loaded right."""
    return _generate(dit_pipe)


@pytest.mark.parametrize(
    "repo_id", ["HKUSTAudio/AudioX", MAF, "HKUSTAudio/AudioX-MAF-MMDiT", "HKUSTAudio/AudioX-Turbo"]
)
def test_official_repo_loads_from_the_cache_by_its_id(
    repo_id, layouts, encoders_in_cache, tiny_turbo_config, no_network, expected
):
    for rid, files in layouts[repo_id].items():
        add_repo(encoders_in_cache, rid, files)
    pipe = AudioX.from_pretrained(repo_id)
    assert torch.equal(_generate(pipe), expected)
    assert (pipe.synchformer is not None) == (repo_id != "HKUSTAudio/AudioX")
    assert no_network == []


def test_turbo_release_downloaded_to_a_local_folder_loads(
    layouts, encoders_in_cache, tiny_turbo_config, tmp_path, no_network, expected
):
    """`hf download HKUSTAudio/AudioX-Turbo --local-dir X`: subfolders, no config.json."""
    folder = tmp_path / "AudioX-Turbo"
    for name, source in layouts["HKUSTAudio/AudioX-Turbo"]["HKUSTAudio/AudioX-Turbo"].items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / name)
    assert torch.equal(_generate(AudioX.from_pretrained(str(folder))), expected)


def test_revision_picks_that_snapshot(layouts, encoders_in_cache, no_network, expected, tmp_path):
    broken = {**layouts[MAF][MAF], "model.ckpt": b"not a checkpoint"}
    main_snapshot = add_repo(encoders_in_cache, MAF, broken)  # main: a broken file
    snapshot = add_repo(encoders_in_cache, MAF, layouts[MAF][MAF], revision="v1")
    assert torch.equal(_generate(AudioX.from_pretrained(f"{MAF}@v1")), expected)
    assert torch.equal(_generate(AudioX.from_pretrained(f"{MAF}@{snapshot.name}")), expected)
    with pytest.raises(CheckpointError, match=f"snapshots/{main_snapshot.name}/model.ckpt: "):
        AudioX.from_pretrained(MAF)  # no revision: main


def test_any_repo_in_the_audiox_folder_layout(tiny_model_dir, hf_cache, no_network, expected):
    add_repo(hf_cache, "someone/tiny-audiox", {"": tiny_model_dir})
    assert torch.equal(_generate(AudioX.from_pretrained("someone/tiny-audiox")), expected)


def test_an_existing_local_folder_wins_over_the_hub_id(
    tiny_model_dir, hf_cache, no_network, monkeypatch, tmp_path, expected
):
    add_repo(hf_cache, MAF, {"config.json": "{not json"})
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_model_dir, tmp_path / MAF)
    assert torch.equal(_generate(AudioX.from_pretrained(MAF)), expected)


@pytest.mark.parametrize(
    "files, message",
    [
        (None, "HKUSTAudio/AudioX-MAF: not in the local Hugging Face cache"),
        ({"config.json": "{}"}, "lacks model.ckpt;"),
    ],
)
def test_missing_files_name_the_files_and_the_command(hf_cache, no_network, files, message):
    if files is not None:
        add_repo(hf_cache, MAF, files)
    with pytest.raises(CheckpointError) as info:
        AudioX.from_pretrained(MAF)
    text = str(info.value)
    assert message in text and "\n" not in text
    assert "`hf download HKUSTAudio/AudioX-MAF config.json model.ckpt synchformer_state_dict.pth`" in text
    assert "--download" in text and no_network == []


def test_mmdit_command_fetches_the_synchformer_from_the_maf_repo(hf_cache, no_network):
    with pytest.raises(CheckpointError) as info:
        AudioX.from_pretrained("HKUSTAudio/AudioX-MAF-MMDiT@v2")
    assert (
        "`hf download HKUSTAudio/AudioX-MAF-MMDiT config.json model.ckpt VAE.ckpt --revision v2 && "
        "hf download HKUSTAudio/AudioX-MAF synchformer_state_dict.pth`"
    ) in str(info.value)


def test_missing_t5_says_how_to_fetch_it(layouts, hf_cache, no_network):
    add_repo(hf_cache, MAF, layouts[MAF][MAF])
    with pytest.raises(
        CheckpointError, match=r"google-t5/t5-base.*hf download google-t5/t5-base.*--download"
    ):
        AudioX.from_pretrained(MAF)
    assert no_network == []


@pytest.mark.parametrize("name", ["nope", "a/b/c", "owner/na me", "owner/name@", "./owner/name"])
def test_neither_a_folder_nor_a_repo_id(name, hf_cache, no_network, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        CheckpointError, match="model folder not found, and not a Hugging Face repo id"
    ) as info:
        AudioX.from_pretrained(name)
    assert "\n" not in str(info.value)


def test_a_file_is_not_a_model_folder(tiny_model_dir):
    with pytest.raises(CheckpointError, match="is a file, not a model folder"):
        AudioX.from_pretrained(str(tiny_model_dir / "config.json"))


def test_offline_mode_refuses_a_download(hf_cache, no_network, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE is set, so nothing is downloaded") as info:
        AudioX.from_pretrained(MAF, download=True)
    assert "hf download HKUSTAudio/AudioX-MAF" in str(info.value) and no_network == []


def test_download_fetches_the_published_files_into_the_cache(
    layouts, tiny_model_dir, hf_cache, monkeypatch, expected
):
    """`download=True`: huggingface_hub's downloader is called with the layout's files and the cache in use
    (here a fake remote copies the files in; the real one writes the same cache layout)."""
    import huggingface_hub

    remote = {**layouts["HKUSTAudio/AudioX-MAF-MMDiT"], "google-t5/t5-base": {"": tiny_model_dir / "t5"}}
    calls = []

    def fake_snapshot_download(
        repo_id, *, revision=None, cache_dir=None, allow_patterns=None, local_files_only=False, **kwargs
    ):
        if local_files_only:
            return real(repo_id, revision=revision, cache_dir=cache_dir, local_files_only=True)
        calls.append((repo_id, tuple(allow_patterns), Path(cache_dir)))
        return str(add_repo(Path(cache_dir), repo_id, remote[repo_id], revision=revision or "main"))

    real = huggingface_hub.snapshot_download
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    pipe = AudioX.from_pretrained("HKUSTAudio/AudioX-MAF-MMDiT", download=True)
    assert torch.equal(_generate(pipe), expected) and pipe.synchformer is not None
    assert [(c[0], c[2]) for c in calls] == [
        ("HKUSTAudio/AudioX-MAF-MMDiT", hf_cache),
        (MAF, hf_cache),
        ("google-t5/t5-base", hf_cache),
    ]
    assert calls[0][1] == ("config.json", "model.ckpt", "VAE.ckpt") and calls[1][1] == (
        "synchformer_state_dict.pth",
    )
    calls.clear()
    AudioX.from_pretrained("HKUSTAudio/AudioX-MAF-MMDiT", download=True)  # all cached: no download
    assert calls == []
    remove_repo(hf_cache, "google-t5/t5-base")


def test_cli_generate_with_a_hub_id(layouts, encoders_in_cache, no_network, tmp_path, capsys):
    add_repo(encoders_in_cache, MAF, layouts[MAF][MAF])
    out = tmp_path / "bell.wav"
    code = main(
        ["--quiet", "generate", "bell", "--model", MAF, "--duration", "1", "--steps", "1", "-o", str(out)]
    )
    assert code == 0 and out.is_file() and str(out) in capsys.readouterr().out


def test_cli_missing_hub_model_is_one_stderr_line(hf_cache, no_network, tmp_path, capsys):
    code = main(
        ["--quiet", "generate", "bell", "--model", MAF, "--steps", "1", "-o", str(tmp_path / "x.wav")]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "hf download HKUSTAudio/AudioX-MAF" in err and "--download" in err
    assert not (tmp_path / "x.wav").exists() and no_network == []


def test_offline_mode_with_everything_cached_loads(
    layouts, encoders_in_cache, no_network, monkeypatch, expected
):
    """`--download` asks for nothing when the files are there, so HF_HUB_OFFLINE=1 does not get in the way."""
    add_repo(encoders_in_cache, MAF, layouts[MAF][MAF])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert torch.equal(_generate(AudioX.from_pretrained(MAF, download=True)), expected)
    assert no_network == []


@pytest.mark.slow  # imports lightning
def test_fine_tuning_starts_from_a_hub_id(layouts, encoders_in_cache, no_network, dit_pipe, tiny_model_dir):
    """`audiox train --init HKUSTAudio/AudioX-MAF`: the model, its audiox.json options and its Synchformer."""
    pytest.importorskip("lightning")
    import json

    from audiox.training.fit import build_training_model

    add_repo(encoders_in_cache, MAF, layouts[MAF][MAF])
    built = build_training_model(init=MAF)
    assert built.options == json.loads((tiny_model_dir / "audiox.json").read_text())
    assert built.synchformer is not None
    weights = dit_pipe.model.state_dict()
    assert all(torch.equal(v, weights[k]) for k, v in built.model.state_dict().items())
