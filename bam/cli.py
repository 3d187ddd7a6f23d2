"""The ``bam`` command line.

Each command lives in its own module, imported only when that command runs (so ``bam hint``
does not pay for importing torch). A command module defines::

    DESCRIPTION: str                                   # one line, shown by ``bam --help``
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...     # the exit status

and is listed once in ``COMMANDS`` below.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# command words -> module implementing it (see the module docstring for the contract)
COMMANDS: dict[tuple[str, ...], str] = {
    ("data",): "bam.commands.data",
    ("figures",): "bam.commands.figures",
    ("check",): "bam.commands.check",
    ("hint",): "bam.commands.hint",
    ("notebooks", "build"): "bam.commands.notebooks_build",
    ("notebooks", "apply"): "bam.commands.notebooks_apply",
    ("release", "student"): "bam.commands.release",
    ("bench",): "bam.commands.bench",
    ("bench", "watch"): "bam.commands.bench_watch",
    ("pretrain", "sam"): "bam.commands.pretrain_sam",
    ("pretrain", "backbone"): "bam.commands.pretrain_backbone",
    ("train", "sam"): "bam.commands.train_sam",
    ("compare", "sam"): "bam.commands.compare_sam",
    ("train", "detector"): "bam.commands.train_detector",
    ("train", "yolo"): "bam.commands.train_yolo",
    ("eval", "detector"): "bam.commands.eval_detector",
    ("predict", "detector"): "bam.commands.predict_detector",
    ("compare", "detector"): "bam.commands.compare_detector",
    ("compare", "detectors"): "bam.commands.compare_detectors",
    ("predict", "instances"): "bam.commands.predict_instances",
    ("compare", "instances"): "bam.commands.compare_instances",
}


def _find_command(argv: list[str]) -> tuple[tuple[str, ...], list[str]] | None:
    """Longest command in ``COMMANDS`` that ``argv`` starts with, and the remaining words."""
    for words in sorted(COMMANDS, key=len, reverse=True):
        if tuple(argv[: len(words)]) == words:
            return words, argv[len(words) :]
    return None


def _description(module_name: str) -> str:
    try:
        return importlib.import_module(module_name).DESCRIPTION
    except ImportError:
        return "(not available in this copy of the course)"


def _usage() -> str:
    lines = ["usage: bam COMMAND [options]   (bam COMMAND --help for its options)", "", "commands:"]
    for words, module_name in COMMANDS.items():
        lines.append(f"  {' '.join(words):<20} {_description(module_name)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the ``bam`` command line; returns the exit status.

    A reader that stops early (``bam --help | head``) ends the command quietly, as it ends other
    Unix tools, instead of with a ``BrokenPipeError`` traceback.
    """
    try:
        return _run(argv)
    except BrokenPipeError:
        # what is still buffered for the closed pipe goes nowhere, so that flushing stdout at
        # exit cannot raise a second time (the recipe of Python's signal module docs)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _run(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if argv[0] == "--version":
        from bam import __version__

        print(f"bam {__version__}")
        return 0
    found = _find_command(argv)
    if found is None:
        group = [words for words in COMMANDS if len(words) > 1 and words[0] == argv[0]]
        if group:  # `bam release --help`, `bam train`: the commands that start with that word
            asked = len(argv) > 1 and argv[1] in {"-h", "--help", "help"}
            choices = ", ".join(f"'bam {' '.join(words)}'" for words in group)
            lines = [f"usage: bam {argv[0]} {{{','.join(words[1] for words in group)}}} ..."]
            lines += [f"  {' '.join(words):<20} {_description(COMMANDS[words])}" for words in group]
            lines.append(f"(bam {' '.join(group[0])} --help for its options)")
            if asked:
                print("\n".join(lines))
                return 0
            what = f"{argv[0]} {argv[1]}" if len(argv) > 1 else argv[0]
            print(f"bam: unknown command {what!r}; did you mean {choices}?", file=sys.stderr)
            print("\n".join(lines), file=sys.stderr)
            return 2
        print(f"bam: unknown command {' '.join(argv[:2])!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    words, rest = found
    try:
        module = importlib.import_module(COMMANDS[words])
    except ModuleNotFoundError as error:
        if error.name != COMMANDS[words]:
            raise
        print(
            f"bam: '{' '.join(words)}' is not available in this copy of the course", file=sys.stderr
        )
        return 2
    parser = argparse.ArgumentParser(prog="bam " + " ".join(words), description=module.DESCRIPTION)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
