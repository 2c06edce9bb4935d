"""Matplotlib fonts for labels in any script: DejaVu Sans first, then a CJK font as fallback.

The CJK font is a system package (`fonts-wqy-zenhei` or `fonts-noto-cjk`, installed by `.ci/run`);
matplotlib (>= 3.6) takes each glyph from the first font of the family list that has it.
"""

from __future__ import annotations

import logging

import matplotlib
from matplotlib import font_manager

CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Droid Sans Fallback")


CJK_FILE_HINTS = ("wqy-zenhei", "notosanscjk", "droidsansfallback")


def available_cjk_fonts() -> list[str]:
    """The CJK font families of `CJK_FONTS` that matplotlib finds on this machine. A font installed
    after matplotlib built its font cache is added from the system font folders."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed & set(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if any(hint in path.lower().replace("_", "").replace(" ", "") for hint in CJK_FILE_HINTS):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed]


def use_cjk_fallback() -> list[str]:
    """Set matplotlib's font family list (`font.family`, and `font.sans-serif`) to DejaVu Sans
    followed by the installed CJK fonts; return that list."""
    families = ["DejaVu Sans", *available_cjk_fonts()]
    # WenQuanYi Zen Hei has weight 500 only: matplotlib would warn about it for every label
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    # concrete names: a generic family ("sans-serif") resolves to one font only, with no fallback
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["font.sans-serif"] = families + [f for f in matplotlib.rcParams["font.sans-serif"] if f not in families]
    return families
