"""A font for Chinese, Japanese and Korean text in the report, where the machine has one.

``report.html`` embeds a subset of a CJK font (only the characters the page uses, as a base64
WOFF ``@font-face``), so its Chinese outputs show on any reader's machine, offline. Without such a
font here the page says so in a comment and falls back to the CSS font stack (the reader's own
CJK fonts). Plots use the same font for CJK labels (matplotlib's per-glyph fallback), so no
label is drawn as empty boxes ("tofu").

The font is ``CROSSTASK_CJK_FONT`` (a font file) if set, else the first installed font of
:data:`KNOWN_FONTS` (found by file name, checked to hold CJK characters). fontTools comes with
matplotlib.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FONT_ENV = "CROSSTASK_CJK_FONT"
FAMILY = "crosstask CJK"  # the embedded face's name in the page's CSS
# Font files that hold CJK characters (lower-case parts of their file names), most preferred first.
KNOWN_FONTS = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy-microhei", "wqy-zenhei", "droidsansfallback",
               "notosanssc", "notosanstc", "pingfang", "hiragino", "msyh", "simhei", "simsun", "ukai", "uming")
_PROBE = "中文"  # characters a CJK font must hold


def is_cjk(ch: str) -> bool:
    """A character of a CJK script or of the punctuation and full-width forms used with them."""
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xA960 <= o <= 0xA97F or 0xAC00 <= o <= 0xD7FF or 0xF900 <= o <= 0xFAFF
            or 0xFE30 <= o <= 0xFE4F or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x3FFFF)


def cjk_chars(text: str) -> str:
    """The distinct CJK characters of ``text``, sorted."""
    return "".join(sorted({c for c in text if is_cjk(c)}))


@dataclass(frozen=True)
class CjkFont:
    path: Path
    number: int  # the font's index in a collection (.ttc)
    name: str  # its family name


def _candidates() -> list[Path]:
    from matplotlib import font_manager

    files = {Path(p) for p in font_manager.findSystemFonts()}  # scans the font folders on every call
    files |= {Path(p) for d in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
              if Path(d).is_dir() for p in font_manager.list_fonts(d, ["ttf", "otf", "ttc"])}
    ranked = []
    for path in files:
        key = path.name.lower().replace("_", "").replace(" ", "")
        rank = next((i for i, known in enumerate(KNOWN_FONTS) if known in key), None)
        if rank is not None:
            ranked.append((rank, str(path)))
    return [Path(p) for _, p in sorted(ranked)]


def _open(path: Path, number: int = 0):  # -> fontTools.ttLib.TTFont
    from fontTools.ttLib import TTFont

    return TTFont(str(path), fontNumber=number, lazy=True) if path.suffix.lower() in (".ttc", ".otc") \
        else TTFont(str(path), lazy=True)


def _holds(path: Path, chars: str) -> CjkFont | None:
    try:
        font = _open(path)
        cmap = font.getBestCmap() or {}
        if all(ord(c) in cmap for c in chars):
            return CjkFont(path, 0, str(font["name"].getDebugName(1) or path.stem))
    except Exception as e:  # an unreadable font file is skipped, not an error of the report
        log.debug("font %s unreadable: %s", path, e)
    return None


@functools.cache
def find_cjk_font() -> CjkFont | None:
    """The CJK font of this machine (``CROSSTASK_CJK_FONT``, else the first installed known one), or None."""
    env = os.environ.get(FONT_ENV)
    if env:
        path = Path(env).expanduser()
        found = _holds(path, _PROBE) if path.is_file() else None
        if found is not None:
            return found
        log.warning("%s=%s: not a font file holding CJK characters; looking for an installed one", FONT_ENV, env)
    for path in _candidates():
        found = _holds(path, _PROBE)
        if found is not None:
            return found
    return None


def subset_woff(font: CjkFont, chars: str) -> bytes:
    """The font cut down to ``chars`` (the glyphs the page uses), as WOFF (zlib; no extra package)."""
    from fontTools import subset

    tt = _open(font.path, font.number)
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # a FontForge timestamp fontTools cannot cut
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    quiet = logging.getLogger("fontTools.subset")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # fontTools logs every table it drops
    try:
        subsetter.subset(tt)
    finally:
        quiet.setLevel(level)
    buf = io.BytesIO()
    tt.flavor = "woff"
    tt.save(buf)
    return buf.getvalue()


def font_face_css(text: str) -> tuple[str, str]:
    """For a page whose text is ``text``: the ``@font-face`` CSS of the CJK font subset it needs and an
    HTML comment saying what was done ("" and "" when the page has no CJK characters)."""
    chars = cjk_chars(text)
    if not chars:
        return "", ""
    font = find_cjk_font()
    if font is None:
        log.warning("no CJK font on this machine: report.html names CJK fonts and relies on the reader's "
                    "(install fonts-noto-cjk or fonts-wqy-microhei, or set %s, to embed one)", FONT_ENV)
        return "", (f"<!-- no CJK font found on this machine: the {len(chars)} CJK characters use the reader's "
                    f"fonts (CSS font stack); set {FONT_ENV} or install a CJK font to embed one -->")
    try:
        data = subset_woff(font, chars)
    except Exception as e:  # a font fontTools cannot cut: the page still renders with the font stack
        log.warning("could not subset the CJK font %s (%s): using the CSS font stack", font.path, e)
        return "", f"<!-- CJK font {font.name} could not be subset; CSS font stack used -->"
    b64 = base64.b64encode(data).decode("ascii")
    css = f'@font-face{{font-family:"{FAMILY}";src:url(data:font/woff;base64,{b64}) format("woff");}}'
    comment = (f"<!-- CJK font embedded: {font.name} ({font.path.name}), subset of {len(chars)} characters, "
               f"{len(data) // 1024} KiB -->")
    return css, comment


@contextmanager
def plot_fonts() -> Iterator[None]:
    """Plots drawn inside use the CJK font for characters the default font lacks (no tofu)."""
    import matplotlib
    from matplotlib import font_manager

    font = find_cjk_font()
    if font is None:
        yield
        return
    try:
        font_manager.fontManager.addfont(str(font.path))
        name = font_manager.FontProperties(fname=str(font.path)).get_name()
    except Exception as e:
        log.debug("CJK font %s not usable by matplotlib: %s", font.path, e)
        yield
        return
    # matplotlib falls back glyph by glyph along font.family (not along the generic family's list)
    families = [f for f in matplotlib.rcParams["font.family"] if f != name]
    with matplotlib.rc_context({"font.family": [*families, name]}):
        yield
