"""HTML without code cells that opens on a closed network.

nbconvert's templates point at CDNs (require.js, MathJax); those tags are removed and the
result is checked: an HTML report must not reference any external URL.
"""
from __future__ import annotations

import re

import nbformat

_EXTERNAL_TAG = re.compile(
    r"<script[^>]*\bsrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>|"
    r"<link[^>]*\bhref=[\"']https?://[^\"']*[\"'][^>]*/?>",
    re.IGNORECASE,
)
_EXTERNAL_REF = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
_MATHJAX_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)


def external_references(html: str) -> list[str]:
    """Attributes that would load something from the network.

    >>> external_references('<img src="data:image/png;base64,AAA">')
    []
    >>> external_references('<script src="https://cdn.example/x.js"></script>')
    ['src="https://']
    """
    return _EXTERNAL_REF.findall(html)


_WIDGET = "application/vnd.jupyter.widget-view+json"


def strip_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop widget views and state: a scheduled report is static, and the widget renderer
    would be fetched from a CDN.  The text fallback of each output is kept."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        # a widget's text fallback ("FloatProgress(...)") means nothing on a static page
        cell["outputs"] = [o for o in cell.get("outputs", []) if _WIDGET not in o.get("data", {})]
    return nb


def render(nb: nbformat.NotebookNode, title: str) -> str:
    from nbconvert import HTMLExporter
    nb = strip_widgets(nb)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    html = _MATHJAX_BLOCK.sub("", html)
    html = _EXTERNAL_TAG.sub("", html)
    html = re.sub(r"<script[^>]*\bsrc=[\"']{2}[^>]*>\s*</script>", "", html)
    from .display import CSS
    html = html.replace("</head>", f"<style>{CSS}</style>\n</head>", 1)
    from .fonts import embed
    html = embed(html)
    bad = external_references(html)
    if bad:
        raise RuntimeError(f"report {title!r} still references external URLs: {bad[:3]}")
    return html
