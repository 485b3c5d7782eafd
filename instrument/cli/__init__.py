"""The ``instrument`` command line.

Each subcommand lives in its own module ``instrument/cli/cmd_<name>.py`` with
``register(subparsers)``; ``train`` and ``eval`` targets live in ``train_<target>.py`` and
``eval_<target>.py`` with the same function. Modules are discovered, so adding a command
touches no shared file. A registered parser sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from instrument.errors import InstrumentError, one_line
from instrument.gil_hog import ENV, hog_threads, start_from_environment


def _modules(prefix: str) -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith(prefix)]
    return sorted(names)


class _Parser(argparse.ArgumentParser):
    """Bad options are one line too, in the project's form (subcommands inherit it)."""

    def error(self, message: str):
        print(f"instrument: error: {one_line(message)} (see `{self.prog} --help`)",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="instrument", description="One keyboard plays a whole band.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _modules("cmd_"):
        importlib.import_module(f"{__name__}.{name}").register(sub)
    for group, helptext in (("train", "train a model"), ("eval", "evaluate against baselines")):
        targets = _modules(f"{group}_")
        if not targets:
            continue
        p = sub.add_parser(group, help=helptext)
        tsub = p.add_subparsers(dest="target", metavar="TARGET", required=True)
        for name in targets:
            importlib.import_module(f"{__name__}.{name}").register(tsub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from instrument.input.midi import quiet_audio_libraries

    quiet_audio_libraries()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if hog_threads():  # the stress bench's GIL hog (instrument/gil_hog.py), default off
            say = f"instrument: {ENV} set: {hog_threads()} GIL hog thread(s), once prepared"
            print(say, file=sys.stderr)
            start_from_environment()
        return int(args.func(args) or 0)
    except InstrumentError as e:
        print(f"instrument: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
