"""`inrview cache [clear]`: where the sample cache is, how big it is, and emptying it."""

from __future__ import annotations

from .common import Parser


def _args(p) -> None:
    ss = p.add_subparsers(dest="cache_command", metavar="ACTION", parser_class=Parser)
    ss.add_parser("clear", help="delete every cached entry (samples are drawn again when next needed)")
    p.set_defaults(func=cmd_cache)


def describe() -> str:
    """One line: the cache folder, its entries and size, and whether it is on."""
    from ..sampling import cache, store

    folder = cache.cache_dir()
    n, size = store.usage(folder)
    off = "" if cache.enabled() else " (off: INRVIEW_NO_CACHE is set)"
    return f"sample cache {folder}: {n} entries, {size / 1024**2:.1f} MiB{off}"


def cmd_cache(a) -> int:
    """Show the cache, or clear it."""
    from ..sampling import cache, store

    if a.cache_command == "clear":
        n, size = store.clear(cache.cache_dir())
        print(f"cleared the sample cache {cache.cache_dir()}: {n} entries, {size / 1024**2:.1f} MiB")
        return 0
    print(describe())
    return 0


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (("cache", "the sample cache: its folder, size and entries ('clear' empties it)", _args),)
