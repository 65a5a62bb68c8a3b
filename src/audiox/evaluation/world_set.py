"""Write a reference set from the synthetic world for `audiox eval`: ground-truth renders named after
their captions, the captions as a prompt list for `audiox generate --batch` and as JSON for --captions.

    python -m audiox.evaluation.world_set --num 20 --out eval_set/
    audiox generate --batch eval_set/prompts.txt --out-dir eval_set/gen --seed 0
    audiox eval --gen eval_set/gen --ref eval_set/truth

A file's name is the one `audiox generate` gives a text prompt's output (the caption's slug: lower case,
runs of other characters -> _, at most 48 characters; then `_t2a`), so the generated files match the
truth by name; items whose name repeats an earlier one are skipped. Renders are mono at the shipped
model's rate (16 kHz) and window (10 s).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from audiox.errors import InputError
from audiox.media.audio import atomic_output, write_audio


def output_name(text: str) -> str:
    """The name (no suffix) `audiox generate` gives a text prompt's output: slug + task."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return (slug[:48] or "audiox") + "_t2a"


def write_world_set(out: Path, *, num: int, seed: int, sample_rate: int, duration_s: float) -> list[str]:
    """Render `num` distinct-name items of the world into out/truth/<name>.wav, out/prompts.txt and
    out/captions.json. Returns the names in order."""
    from audiox.synth.dataset import SynthConfig, render_item

    truth = out / "truth"
    if truth.exists() and any(truth.iterdir()):
        raise InputError(f"{truth} is not empty; pass a new --out folder")
    truth.mkdir(parents=True, exist_ok=True)
    cfg = SynthConfig(seed=seed, sample_rate=sample_rate, channels=1, duration_s=duration_s, video_fps=0,
                      with_image=False)
    captions: dict[str, str] = {}
    index = 0
    while len(captions) < num:
        item = render_item(cfg, index)
        index += 1
        name = output_name(item["caption"])
        if name in captions:
            continue
        captions[name] = item["caption"]
        write_audio(truth / f"{name}.wav", item["audio"], sample_rate)
    with atomic_output(out / "prompts.txt") as tmp:
        tmp.write_text("".join(f"{text}\n" for text in captions.values()))
    with atomic_output(out / "captions.json") as tmp:
        tmp.write_text(json.dumps(captions, indent=2))
    return list(captions)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1000, help="world seed (the model trained on seed 0)")
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    names = write_world_set(args.out, num=args.num, seed=args.seed, sample_rate=args.sample_rate,
                            duration_s=args.duration)
    print(f"wrote {len(names)} renders to {args.out / 'truth'}, prompts.txt and captions.json")


if __name__ == "__main__":
    main()
