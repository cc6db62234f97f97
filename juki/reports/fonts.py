"""Japanese glyphs for HTML reports on machines without CJK fonts: the characters a page
uses are cut out of IPAexGothic (shipped by matplotlib-fontja) with fontTools and inlined
as a base64 @font-face, so the page stays self-contained and small."""
from __future__ import annotations

import base64
import io
import re
from functools import lru_cache
from pathlib import Path

FAMILY = "JukiIPAexGothic"


@lru_cache(maxsize=1)
def font_path() -> Path:
    import matplotlib_fontja
    return Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"


def subset_font(text: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    chars = {ord(c) for c in text if ord(c) > 0x7F} | set(range(0x20, 0x7F))
    font = TTFont(str(font_path()))
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    sub = subset.Subsetter(options=opts)
    sub.populate(unicodes=chars)
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def embed(html: str) -> str:
    """Insert an inline @font-face with the glyphs of ``html`` and make it the page's font."""
    visible = re.sub(r"data:[^\"')]+", "", html)
    data = base64.b64encode(subset_font(visible)).decode()
    style = (f"<style>@font-face {{ font-family: '{FAMILY}'; src: url(data:font/ttf;base64,{data}) format('truetype'); }}\n"
             f"body, table, th, td, p, h1, h2, h3, h4, div, span, li, a {{ font-family: '{FAMILY}', sans-serif !important; }}</style>")
    if "</head>" in html:
        return html.replace("</head>", style + "\n</head>", 1)
    return style + html
