"""Start-up stays light: `--help`, a verb's `--help`, an argument error and a request error never import
torch or transformers (they cost seconds before the first line of output)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import audiox

PROBE = """
import contextlib, io, sys
from audiox.cli.main import main
for argv in (["--help"], ["generate", "--help"], ["generate", "--steps", "x"], ["generate", "hi", "--duration", "-1"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
print(sorted(m for m in ("torch", "transformers", "av", "soundfile") if m in sys.modules))
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
