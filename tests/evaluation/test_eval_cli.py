"""`audiox eval` end to end on tiny rendered folders (in process), its cache, and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from audiox.cli.main import main
from audiox.evaluation.embedders.events import EventsEmbedder
from audiox.evaluation.metrics import frechet_distance
from audiox.synth.dataset import SynthConfig, render_item

RATE = 16000


@pytest.fixture(autouse=True)
def _small_events_embedder(monkeypatch, analyser):
    """The real built-in embedder, over the session's (smaller-trained) analyser."""
    monkeypatch.setattr(EventsEmbedder, "trained", classmethod(lambda cls, seed=0: cls(analyser)))


def _render(folder, seed: int, count: int, duration_s: float = 2.0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = SynthConfig(
        seed=seed,
        sample_rate=RATE,
        channels=1,
        duration_s=duration_s,
        video_fps=0,
        with_image=False,
        music_prob=0.0,
    )
    for i in range(count):
        sf.write(folder / f"clip{i}.wav", render_item(cfg, i)["audio"].numpy().T, RATE)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    _render(root / "ref", 0, 4)
    _render(root / "gen", 7, 4)
    return root


def _eval(*args, capsys):
    code = main(["eval", "--quiet", "--is-splits", "2", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_eval_writes_table_and_json(folders, tmp_path, capsys):
    out = tmp_path / "r.json"
    code, text, err = _eval(
        "--gen",
        folders / "gen",
        "--ref",
        folders / "ref",
        "--json",
        out,
        "--cache-dir",
        tmp_path / "cache",
        capsys=capsys,
    )
    assert code == 0, err
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == {"fad", "fd", "kl_softmax", "kl_sigmoid", "is"}
    assert all(m["embedder"] == "events" and m["value"] > 0 for m in report["metrics"].values())
    assert 1.0 <= report["metrics"]["is"]["value"] <= 10.0
    assert report["embedders"]["events"]["sha256"] and report["embedders"]["events"]["sample_rate"] == RATE
    assert report["counts"] | {"cache_hits": 0} == {
        "generated": 4,
        "reference": 4,
        "paired": 4,
        "cache_hits": 0,
        "cache_misses": 8,
    }
    assert "FAD" in text and "KL (softmax)" in text and "events" in text


def test_a_folder_against_itself_scores_zero(folders, capsys):
    code, _, err = _eval(
        "--gen",
        folders / "ref",
        "--ref",
        folders / "ref",
        "--no-cache",
        "--json",
        folders / "self.json",
        capsys=capsys,
    )
    assert code == 0, err
    metrics = json.loads((folders / "self.json").read_text())["metrics"]
    for name in ("fad", "fd", "kl_softmax", "kl_sigmoid"):
        assert abs(metrics[name]["value"]) < 1e-3, name


def test_cache_reembeds_only_changed_files(folders, tmp_path, capsys):
    gen = tmp_path / "gen"
    gen.mkdir()
    for p in (folders / "gen").iterdir():
        (gen / p.name).write_bytes(p.read_bytes())
    cache = tmp_path / "cache"
    args = ("--gen", gen, "--ref", folders / "ref", "--cache-dir", cache, "--json", tmp_path / "r.json")
    assert _eval(*args, capsys=capsys)[0] == 0
    first = json.loads((tmp_path / "r.json").read_text())
    assert _eval(*args, capsys=capsys)[0] == 0
    second = json.loads((tmp_path / "r.json").read_text())
    assert (second["counts"]["cache_hits"], second["counts"]["cache_misses"]) == (8, 0)
    assert second["metrics"] == first["metrics"]
    audio, _ = sf.read(gen / "clip0.wav")
    sf.write(gen / "clip0.wav", 0.5 * audio, RATE)  # new content, same name
    assert _eval(*args, capsys=capsys)[0] == 0
    third = json.loads((tmp_path / "r.json").read_text())
    assert (third["counts"]["cache_hits"], third["counts"]["cache_misses"]) == (7, 1)


def test_fd_of_embedding_arrays(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 5)), rng.standard_normal((40, 5)) + 0.3
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    code, text, err = _eval(
        "--gen-embeddings",
        tmp_path / "a.npy",
        "--ref-embeddings",
        tmp_path / "b.npy",
        "--metrics",
        "fd",
        "--json",
        tmp_path / "fd.json",
        capsys=capsys,
    )
    assert code == 0, err
    value = json.loads((tmp_path / "fd.json").read_text())["metrics"]["fd"]["value"]
    assert value == pytest.approx(frechet_distance(a, b), rel=1e-12)
    assert f"{value:.4f}" in text


def _one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_unmatched_names_are_listed(folders, tmp_path, capsys):
    gen = tmp_path / "gen"
    _render(gen, 7, 3)
    (gen / "clip1.wav").rename(gen / "extra.wav")
    code, _, err = _eval("--gen", gen, "--ref", folders / "ref", "--no-cache", capsys=capsys)
    _one_line_error(code, err, "InputError", "extra", "clip1", "clip3", "--allow-unmatched")
    code, _, err = _eval(
        "--gen",
        gen,
        "--ref",
        folders / "ref",
        "--no-cache",
        "--allow-unmatched",
        "--json",
        tmp_path / "r.json",
        capsys=capsys,
    )
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["metrics"]["kl_softmax"]["count"] == "2 pairs"


def test_silent_and_corrupt_files_are_refused(folders, tmp_path, capsys):
    gen = tmp_path / "gen"
    _render(gen, 7, 4)
    sf.write(gen / "clip2.wav", np.zeros(RATE), RATE)
    code, _, err = _eval("--gen", gen, "--ref", folders / "ref", "--no-cache", capsys=capsys)
    _one_line_error(code, err, "MediaError", "clip2.wav", "silent", "--allow-silent")
    code, _, err = _eval(
        "--gen", gen, "--ref", folders / "ref", "--no-cache", "--allow-silent", capsys=capsys
    )
    assert code == 0, err
    (gen / "clip2.wav").write_bytes(b"RIFF" + b"\x00" * 100)
    code, _, err = _eval("--gen", gen, "--ref", folders / "ref", "--no-cache", capsys=capsys)
    _one_line_error(code, err, "MediaError", "clip2.wav")


@pytest.mark.parametrize(
    "args, needles",
    [
        (("--metrics", "fad,bogus"), ("unknown", "bogus")),
        (("--metrics", "clap"), ("--captions",)),
        (("--metrics", "clap", "--captions", "c.json"), ("--embedder clap=PATH",)),
        (("--embedder", "nope=x.pth"), ("unknown", "nope")),
        (("--embedder", "events=weights.pth"), ("takes no file",)),
        (("--is-splits", "10"), ("at least 10 clips",)),
    ],
)
def test_bad_arguments(folders, tmp_path, capsys, args, needles):
    (tmp_path / "c.json").write_text("{}")
    args = [a.replace("c.json", str(tmp_path / "c.json")) for a in args]
    code, _, err = _eval(
        "--gen", folders / "gen", "--ref", folders / "ref", "--no-cache", *args, capsys=capsys
    )
    _one_line_error(code, err, *needles)


def test_missing_ref_for_reference_metrics(folders, capsys):
    code, _, err = _eval("--gen", folders / "gen", "--no-cache", capsys=capsys)
    _one_line_error(code, err, "--ref")
    code, _, err = _eval("--gen", folders / "gen", "--no-cache", "--metrics", "is", capsys=capsys)
    assert code == 0, err
