"""Package exports loaded on first use (PEP 562), so importing one light module of a package (its
config, which the config parser reads) does not import the package's heavy modules."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]) -> tuple[Callable[[str], Any], list[str]]:
    """`exports` (module path -> the names it exports) -> the package's module `__getattr__` (a name
    is imported from its module on first use; other names raise AttributeError) and its `__all__`."""
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name in module_of:
            return getattr(import_module(module_of[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(module_of)
