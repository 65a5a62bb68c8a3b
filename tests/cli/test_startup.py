"""Start-up stays light: `--help`, every verb's `--help` and argument errors, and a request error never import
torch, transformers or the media libraries (they cost seconds before the first line of output)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import audiox

PROBE = """
import contextlib, io, sys
from audiox.cli.main import VERBS, main
argvs = [["--help"], ["generate", "--steps", "x"], ["generate", "hi", "--duration", "-1"], ["no-such-verb"]]
argvs += [[verb, "--help"] for verb in VERBS] + [[verb, "--no-such-option"] for verb in VERBS]
for argv in argvs:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
print(sorted(m for m in ("torch", "transformers", "av", "soundfile", "numpy") if m in sys.modules))
"""


def test_help_and_early_errors_import_no_heavy_module():
    src = str(Path(audiox.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_import_audiox_imports_no_torch():
    src = str(Path(audiox.__file__).resolve().parents[1])
    code = "import sys, audiox, audiox.pipeline; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": src},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
