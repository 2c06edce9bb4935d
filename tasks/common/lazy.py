"""Package exports loaded on first use (PEP 562), so importing one light module of a package (its
config, which the config parser reads) does not import the package's heavy modules."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: exported name -> the attribute of its module (in
    `exports`, name -> module path), imported on first use; other names raise AttributeError."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
