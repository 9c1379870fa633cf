"""`inrview [FILE] [options]`: the desktop app's command line (Qt is imported only from here on)."""
from __future__ import annotations


def launch(argv: list[str]) -> int:
    from .app.main import main as app_main

    return app_main(argv)
