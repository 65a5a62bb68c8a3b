"""Load time and peak RSS of `load_pipeline`: slow path (CPU build with random init, then copy) vs fast path
(build on meta, assign, recompute buffers; `audiox.checkpoints.materialize`).

Writes a model folder with RANDOM weights for the config (official key names; the full-size Turbo file is
about 11 GB, streamed to disk one tensor at a time), a 1-layer random T5 of the config's width under `t5/` (the T5 is
not part of the model file, so it costs both paths the same), reads the file once to warm the page cache, then
loads it in a fresh process per run and prints wall time and peak RSS. The folder is deleted at the end.

    python benchmarks/load.py --config audiox_turbo_infer_4step --repeats 1
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def config_path(name: str) -> Path:
    from audiox.config.presets import OFFICIAL_CONFIGS, official_config_path

    return official_config_path(name) if name in OFFICIAL_CONFIGS else Path(name)


def official_shapes(cfg) -> dict[str, tuple[torch.Size, torch.dtype]]:
    """Official key -> (shape, dtype) of every tensor the model file must hold (built on meta)."""
    from audiox.checkpoints.keys import to_official
    from audiox.diffusion.model import DiffusionModel

    with torch.device("meta"):
        model = DiffusionModel(cfg)
    return {k: (v.shape, v.dtype) for k, v in to_official(model.state_dict()).items()}


def write_random_safetensors(path: Path, shapes: dict, *, seed: int = 0) -> int:
    """Stream a safetensors file of N(0, 0.02) tensors (integers: zeros) without holding them all. -> bytes."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for key, (shape, dtype) in shapes.items():
        size = shape.numel() * torch.empty((), dtype=dtype).element_size()
        header[key] = {"dtype": SAFETENSORS_DTYPES[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    generator = torch.Generator().manual_seed(seed)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for shape, dtype in shapes.values():
            if dtype.is_floating_point:
                value = (torch.randn(shape, generator=generator) * 0.02).to(dtype)
            else:
                value = torch.zeros(shape, dtype=dtype)
            f.write(value.contiguous().numpy().tobytes() if value.numel() else b"")
    return offset


def t5_width(cfg) -> int:
    """Width of the config's T5 (official t5-base: 768), so the random 1-layer T5 fits `proj_out`."""
    from audiox.conditioning.text_t5 import T5_MODEL_DIMS

    specs = [c for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ()) if c.type == "t5"]
    return T5_MODEL_DIMS[specs[0].config.t5_model_name] if specs else 768


def write_folder(folder: Path, name: str) -> int:
    """config.json + model.safetensors (random) + t5/ (1-layer random T5, width 768) + empty audiox.json."""
    from audiox.conditioning.tiny_encoders import tiny_t5
    from audiox.config.parse import load_config

    source = config_path(name)
    cfg = load_config(source)
    shutil.copy(source, folder / "config.json")
    size = write_random_safetensors(folder / "model.safetensors", official_shapes(cfg))
    t5 = tiny_t5(d_model=t5_width(cfg))
    t5.model.save_pretrained(folder / "t5")
    t5.tokenizer.save_pretrained(folder / "t5")
    (folder / "audiox.json").write_text("{}")
    return size


def measure(folder: Path, path: str) -> dict:
    """Load once in this process; -> seconds, peak RSS, RSS before loading (GiB)."""
    import audiox.pipeline.load as pipeline_load

    if path == "slow":
        pipeline_load.build_on_meta = lambda build: build()  # the former path: CPU build with random init
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    start = time.perf_counter()
    pipe = pipeline_load.load_pipeline(folder)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    params = sum(p.numel() for p in pipe.model.parameters())
    # the fast path's tensors are the file's copy-on-write mmap: pages become resident when first read
    start = time.perf_counter()
    with torch.no_grad():
        total = sum(float(p.sum()) for p in pipe.model.parameters())
    touch_seconds = time.perf_counter() - start
    touched = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "path": path, "seconds": seconds, "peak_rss_gib": peak, "rss_before_gib": before, "params": params,
        "touch_seconds": touch_seconds, "peak_rss_touched_gib": touched, "checksum": total,
    }


def run_in_subprocess(folder: Path, path: str, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--measure", path, "--folder", str(folder), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{path} run failed:\n{proc.stderr[-3000:]}")
    out = proc.stdout
    return json.loads(out.strip().splitlines()[-1])


def warm_page_cache(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as f:
        while f.read(1 << 26):
            pass
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="audiox_turbo_infer_4step", help="official config name or config.json")
    p.add_argument("--paths", default="fast,slow", help="comma-separated order of runs (fast, slow)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--tmp", default=tempfile.gettempdir(), help="where the temporary model folder goes")
    p.add_argument("--measure", choices=["fast", "slow"], help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure:
        print(json.dumps(measure(Path(args.folder), args.measure)))
        return
    folder = Path(tempfile.mkdtemp(prefix="audiox_load_bench_", dir=args.tmp))
    try:
        start = time.perf_counter()
        size = write_folder(folder, args.config)
        print(f"wrote {size / 2**30:.2f} GiB of random weights in {time.perf_counter() - start:.1f} s ({folder})")
        print(f"page cache warmed in {warm_page_cache(folder / 'model.safetensors'):.1f} s")
        for _ in range(args.repeats):
            for path in args.paths.split(","):
                r = run_in_subprocess(folder, path, args.threads)
                print(f"{r['path']:>4}: {r['seconds']:7.1f} s  peak RSS {r['peak_rss_gib']:6.2f} GiB  "
                      f"(RSS before load {r['rss_before_gib']:.2f} GiB, {r['params'] / 1e9:.3f} B parameters); "
                      f"reading every weight once: {r['touch_seconds']:.1f} s, peak RSS then "
                      f"{r['peak_rss_touched_gib']:.2f} GiB, checksum {r['checksum']:.6g}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"deleted {folder}")


if __name__ == "__main__":
    main()
