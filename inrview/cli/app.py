"""`inrview [FILE] [options]`: the desktop app's options; the app (and Qt) is imported only to run it.

inrview                                  the bundled demo shape
inrview spot.obj                         open a mesh, point cloud, checkpoint or picture
inrview spot.obj --fit-seconds 30 --screenshot s.png --quit
                                         train 30 s (wall time) with the live view, save the view as PNG, exit 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import FAMILIES
from ..errors import InrviewError
from .checks import check_output
from .common import Parser, parse, positive_float, positive_int

EPILOG = """scripted runs: --fit-seconds (or --fit-steps) trains a shape or a picture as soon as the file is open,
until that many seconds of wall time from the command have passed (or for that many steps), the live view
updating as usual; --screenshot saves the view once training has finished (or once the file is shown: a
shape space shows its mean shape); --quit then exits with status 0, or 2 with one line on stderr if
anything failed. Options given here are for this run: they never change the saved settings."""


def window_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT in pixels, each between 16 and 8192."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError("width and height must be between 16 and 8192")
    return w, h


def add_options(p: argparse.ArgumentParser) -> None:
    """The app's FILE and options."""
    p.add_argument("file", nargs="?", help="mesh, point cloud, checkpoint or picture to open (default: the demo shape)")
    p.add_argument(
        "--fit-seconds",
        type=positive_float,
        metavar="S",
        help="train until S seconds of wall time from the command have passed (opening the window and the "
        "file count too; the trainer's own seconds would leave out previews and drawing)",
    )
    p.add_argument("--fit-steps", type=positive_int, metavar="N", help="train for N steps once the file is open")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the viewport when done")
    p.add_argument("--screenshot-size", type=window_size, metavar="WxH", help="screenshot size (default: the view's)")
    p.add_argument("--transparent", action="store_true", help="transparent screenshot background")
    p.add_argument("--window-screenshot", metavar="PNG", help="also save a picture of the whole window when done")
    p.add_argument("--quit", action="store_true", help="exit when the scripted run is done")
    p.add_argument("--window-size", type=window_size, metavar="WxH", help="window size (default: the saved one)")
    p.add_argument("--model", choices=list(FAMILIES), help="network family for this run (default: the saved one)")
    p.add_argument("--settings", metavar="INI", help="settings file to use (default: the user's)")
    p.add_argument("--no-restore", action="store_true", help="ignore saved window layout and settings")


def build_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The parser of `inrview [FILE] [options]`."""
    p = Parser(
        prog="inrview",
        epilog=EPILOG,
        usage="inrview [FILE] [options]",
        add_help=add_help,
        description="Open the inrview window (for the commands: `inrview --help`).",
    )
    p._positionals.title = "the app: inrview [FILE] [options]"
    p._optionals.title = "the app's options"
    add_options(p)
    return p


def help_text() -> str:
    """The app's FILE and options as `inrview --help` lists them below its commands."""
    text = build_parser(add_help=False).format_help()
    return text[text.index("the app: ") :]


def check(args: argparse.Namespace) -> bool:
    """Refuse what cannot work before the window opens; returns whether this is a scripted run."""
    if args.file and not Path(args.file).exists():
        raise InrviewError(f"{args.file}: file not found")
    check_output(args.screenshot, "--screenshot", ("png",))
    check_output(args.window_screenshot, "--window-screenshot", ("png",))
    if args.fit_seconds and args.fit_steps:
        raise InrviewError("give --fit-seconds or --fit-steps, not both")
    scripted = bool(args.fit_seconds or args.fit_steps or args.screenshot or args.window_screenshot or args.quit)
    if (args.fit_seconds or args.fit_steps) and args.file and _checkpoint_task(args.file) == "space":
        raise InrviewError(
            f"{args.file}: is a shape space; --fit-steps and --fit-seconds train shapes and pictures "
            "(train a space with `inrview space fit`)"
        )
    return scripted


def _checkpoint_task(path: str) -> str | None:
    from ..app.space.state import checkpoint_task

    return checkpoint_task(path)


def launch(argv: list[str]) -> int:
    """Parse the app's options, check them, then run the window (imports Qt)."""
    args = parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    args.scripted = check(args)
    from . import STARTED

    args.started = STARTED  # --fit-seconds counts from here: the command's start, as every --seconds does
    from ..app.main import run  # the seam where Qt and the window load (only the app needs them)

    return run(args)
