"""(in progress)"""

import argparse

from audiox.errors import AudioXError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path")


def run(args: argparse.Namespace) -> int:
    raise AudioXError("audiox convert is not built yet")
