"""Start-up cost of the CLI: `import audiox`, `audiox --help`, a verb's `--help`, an argument error and a
request error (raised before any model is loaded), as wall and CPU seconds of a fresh interpreter.

    python benchmarks/startup.py                              # this checkout (src/ on PYTHONPATH)
    python benchmarks/startup.py --compare /work/main/src     # and another source tree, runs alternating

CPU seconds (user + sys of the child) are the steadier figure on a shared machine; each figure is the
minimum over --repeats runs. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "import audiox": ["-c", "import audiox"],
    "audiox --help": ["-m", "audiox.cli.main", "--help"],
    "audiox generate --help": ["-m", "audiox.cli.main", "generate", "--help"],
    "argument error (--steps x)": ["-m", "audiox.cli.main", "generate", "--steps", "x"],
    "request error (--duration -1)": ["-m", "audiox.cli.main", "generate", "hi", "--duration", "-1"],
}


def run_once(src: str, args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of `python ARGS` with `src` first on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": src}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    p.add_argument("--compare", default=None, help="another source tree, measured alternately")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    trees = {"this": args.src} | ({"other": args.compare} if args.compare else {})
    print(f"{'command':<32}" + "".join(f"{name + ' wall':>12}{name + ' cpu':>12}" for name in trees))
    for label, cmd in COMMANDS.items():
        best = {name: [float("inf"), float("inf")] for name in trees}
        for _ in range(args.repeats):
            for name, src in trees.items():  # alternating: load changes hit both alike
                wall, cpu = run_once(src, cmd)
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
        print(f"{label:<32}" + "".join(f"{w:>11.2f}s{c:>11.2f}s" for w, c in best.values()))


if __name__ == "__main__":
    main()
