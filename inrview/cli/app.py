"""`inrview [FILE] [options]`: the desktop app's options; the app (and Qt) is imported only to run it.

inrview                                  the bundled demo shape
inrview spot.obj                         open a mesh, point cloud, checkpoint or picture
inrview spot.obj --fit-seconds 30 --screenshot s.png --quit
                                         train 30 s with the live view, save the view as PNG, exit 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import FAMILIES
from ..errors import InrviewError
from .checks import check_output
from .common import Parser, parse, positive_float, positive_int

EPILOG = """scripted runs: --fit-seconds (or --fit-steps) trains for that many seconds of training time (or
steps) as soon as the file is open (the live view updates as usual); --screenshot saves the viewport once
training has finished (or once the file is open); --quit then exits with status 0, or 2 with one line on
stderr if anything failed."""

#: Pictures open in the app's image mode; scripted runs are for shapes.
PICTURES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


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
    p.add_argument("--fit-seconds", type=positive_float, metavar="S", help="train for S seconds once the file is open")
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
    if scripted and args.file and Path(args.file).suffix.lower() in PICTURES:
        raise InrviewError(
            f"{args.file}: scripted runs of the window are for shapes; for pictures use `inrview image ...`"
        )
    return scripted


def launch(argv: list[str]) -> int:
    """Parse the app's options, check them, then run the window (imports Qt)."""
    args = parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    args.scripted = check(args)
    from ..app.main import run  # the seam where Qt and the window load (only the app needs them)

    return run(args)
