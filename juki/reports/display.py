"""What report pages show: whole tables, formatted for reading and printing.

Every table a notebook displays goes through :func:`table`: all rows and columns (never pandas'
truncation with "…"), counts with thousand separators and right-aligned, x centred, no pandas
0…n index, headers in Japanese only.  :func:`files` links the CSV and Excel files of the run
folder; :func:`status` shows a coloured status line (正常 / 注意 / 要対応).
"""
from __future__ import annotations

import html
import numbers
from pathlib import Path

import pandas as pd

STATUS = {"green": ("#1a7f37", "正常"), "amber": ("#b26b00", "注意"), "red": ("#c00", "要対応")}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "—"
    if isinstance(v, bool):
        return "はい" if v else "いいえ"
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real):
        return f"{float(v):,.1f}" if abs(float(v)) < 1e15 else str(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def to_html(df: pd.DataFrame, caption: str | None = None, index: bool = True, cls: str = "juki") -> str:
    """The whole frame as an HTML table (multi-level headers merged)."""
    out = [f'<table class="{cls}">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    cols = df.columns
    levels = cols.nlevels
    out.append("<thead>")
    for lv in range(levels):
        row = []
        if index:
            row.append(f'<th rowspan="{levels}" class="idx">{html.escape(str(df.index.name or ""))}</th>' if lv == 0 else "")
        labels = [c[lv] if levels > 1 else c for c in cols]
        j = 0
        while j < len(labels):
            span = 1
            if lv < levels - 1:
                while j + span < len(labels) and labels[j + span] == labels[j] and \
                        all(cols[j + span][k] == cols[j][k] for k in range(lv)):
                    span += 1
            row.append(f'<th colspan="{span}">{html.escape(str(labels[j]))}</th>')
            j += span
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</thead><tbody>")
    for label, r in zip(df.index, df.itertuples(index=False)):
        cells = [f'<th class="idx">{html.escape(str(label))}</th>'] if index else []
        for v in r:
            num = isinstance(v, numbers.Number) and not isinstance(v, bool)
            cells.append(f'<td class="{"num" if num else "txt"}">{html.escape(_fmt(v))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def table(obj, caption: str | None = None, index: bool = True):
    """Display a StatTable (published values, with its protection caption) or a DataFrame."""
    from IPython.display import HTML
    if hasattr(obj, "frame") and hasattr(obj, "counts"):
        note = " ".join(x for x in (obj.caption(), obj.note) if x)
        body = to_html(obj.frame(published=True), caption or obj.title)
        return HTML(body + (f'<p class="note">{html.escape(note)}</p>' if note else ""))
    df = obj if isinstance(obj, pd.DataFrame) else pd.DataFrame(obj)
    if isinstance(df.index, pd.RangeIndex):
        index = False
    return HTML(to_html(df, caption, index=index))


def files(paths, base=None):
    """Links to output files (relative to the page, which sits in the same run folder)."""
    from IPython.display import HTML
    items = [f'<li><a href="{html.escape(Path(p).name)}">{html.escape(Path(p).name)}</a></li>' for p in paths]
    return HTML("<ul class=\"files\">" + "".join(items) + "</ul>")


def status(level: str, text: str):
    from IPython.display import HTML
    color, label = STATUS[level]
    return HTML(f'<p class="status status-{level}"><span style="color:{color};font-weight:bold">'
                f'■ {label}</span> {html.escape(text)}</p>')


def banner(text: str):
    from IPython.display import HTML
    return HTML(f'<p class="banner">{html.escape(text)}</p>')


#: Page style of every report: readable tables, A4 printing, page breaks between sections.
CSS = """
table.juki { border-collapse: collapse; margin: .5em 0 1em; font-size: 12px; }
table.juki th, table.juki td { border: 1px solid #bbb; padding: 2px 6px; }
table.juki thead th { background: #eef1f8; text-align: center; }
table.juki th.idx { text-align: left; background: #f7f7f7; white-space: nowrap; }
table.juki td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.juki td.txt { text-align: center; }
table.juki caption { text-align: left; font-weight: bold; padding: 4px 0; }
p.note { font-size: 11px; color: #555; margin-top: -0.6em; }
p.banner { border: 2px solid #c00; color: #c00; font-weight: bold; padding: .5em; }
.jp-OutputArea-output { overflow-x: auto; }
@page { size: A4; margin: 15mm; }
@media print {
  h2 { page-break-before: always; }
  h1 + h2, .jp-Cell:first-child h2 { page-break-before: avoid; }
  table.juki { page-break-inside: auto; } tr { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
