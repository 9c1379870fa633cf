"""Names of a package that load on first use (PEP 562), so that importing it stays cheap."""

from collections.abc import Callable
from importlib import import_module


def lazy_attributes(package: str, table: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: `table` maps a name to the relative module that holds it.

    The first access imports that module and stores the value in `namespace` (the package's globals), so
    later accesses do not come back here.
    """

    def load(name: str):
        if name in table:
            value = getattr(import_module(table[name], package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return load
