"""Run every golden-vector case folder under DIR; print one line per case and `N passed, M failed`."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="a case folder, or a folder of case folders (e.g. tests/golden/data/public)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every output's error, not only failures")


def run(args: argparse.Namespace) -> int:
    from audiox.conformance.runner import run_all

    results = run_all(args.dir, verbose=args.verbose)
    return 0 if all(r.ok for r in results) else 1
