"""The command line: `inrview COMMAND ...` for headless work, `inrview [FILE] [options]` for the app.

One module per command group (shape: fit, extract, info; image; reconstruct; space; app: the window's options),
each with its table `COMMANDS` of (name, help, option builder). A group's options are built only when that
command runs (their defaults come from the pipeline modules, which load torch), so `inrview --help` and early
errors stay fast. Bad options and bad input print one line, `inrview: error: ...`, and exit with status 2.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from pathlib import Path

from ..errors import InrviewError
from . import app, cache, history, image, info, reconstruct, runs, shape, space
from .common import Parser, parse

#: When the command began (this package is imported first thing): wall-clock budgets and the phase
#: timings of `inrview fit` count from here.
STARTED = time.perf_counter()

#: Command groups in the order `inrview --help` lists them; a new group is one more entry.
GROUPS = (shape, info, image, reconstruct, space, cache, runs)


class Commands(argparse._SubParsersAction):
    """Sub-commands whose options are added by a builder only when that command is parsed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.builders = {}

    def add_command(self, name: str, help: str, build, **kwargs) -> None:
        """A command `name` whose parser build(parser) fills in when it is used."""
        self.builders[name] = (self.add_parser(name, help=help, description=help, **kwargs), build)

    def build(self, name: str) -> argparse.ArgumentParser:
        """The complete parser of command `name`."""
        parser, build = self.builders[name]
        if build is not None:
            build(parser)
            self.builders[name] = (parser, None)
        return parser

    def __call__(self, parser, namespace, values, option_string=None):
        if values and values[0] in self.builders:
            self.build(values[0])
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> tuple[argparse.ArgumentParser, Commands]:
    """The top-level parser (its help lists every command and the app's options) and its commands."""
    p = Parser(
        prog="inrview",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Implicit neural representations: fit, view, export.",
        epilog=app.help_text(),
    )
    p.add_argument("--version", action="version", version=f"inrview {__import__('inrview').__version__}")
    commands = p.add_subparsers(dest="command", metavar="COMMAND", action=Commands, parser_class=Parser)
    for group in GROUPS:
        for name, help, build, *options in group.COMMANDS:
            commands.add_command(name, help, build, **(options[0] if options else {}))
    return p, commands


def command_names() -> list[str]:
    """Every top-level command."""
    return list(build_parser()[1].builders)


def unknown_command(word: str) -> str | None:
    """The error for a first word that is neither a command nor an existing file, or None when it may be a
    file the app should report (it has a suffix or a folder)."""
    if Path(word).exists() or Path(word).suffix or "/" in word or "\\" in word:
        return None
    names = command_names()
    close = difflib.get_close_matches(word, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"choose from {', '.join(names)}, or give a FILE"
    return f"unknown command '{word}' ({hint})"


#: Set once a headless command (not the app) has run in this process.
RAN_COMMAND = False


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command (recording it in the history of runs when it was given --history)."""
    global RAN_COMMAND
    RAN_COMMAND = True
    recorder = history.start(args)
    code = 1
    try:
        code = int(args.func(args) or 0)
    except InrviewError:
        code = 2
        raise
    finally:
        history.stop(recorder, args, code)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command line on argv (default sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        first = argv[0] if argv else ""
        if first in ("-h", "--help", "--version") or first in command_names():
            args = parse(build_parser()[0], argv)
            if isinstance(args, int):
                return args
            args.argv = argv
            return run_command(args)
        if first and not first.startswith("-"):
            problem = unknown_command(first)
            if problem:
                raise InrviewError(problem)
        return int(app.launch(argv) or 0)
    except InrviewError as err:
        print(f"inrview: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inrview: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The `inrview` program: main(), then exit. After a headless command, whose files are written and closed
    by then, the process ends at once instead of tearing down torch's and VTK's modules one by one (0.6-0.9 s
    on a 2-core machine, which the user waits for after the result is written); the app exits normally."""
    code = main()
    if not RAN_COMMAND:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
