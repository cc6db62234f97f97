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

#: A status level: its colour and its word on every page (index, summary, status lines).
STATUS = {"green": ("#1a7f37", "正常"), "amber": ("#b26b00", "注意"), "red": ("#c00", "要対応"), "grey": ("#777", "不明")}
#: Status words that colour their cell wherever a table shows them.
WORD_CLASS = {"適合": "st-green", "正常": "st-green", "不適合": "st-red", "要対応": "st-red", "異常": "st-red",
              "要確認": "st-amber", "注意": "st-amber"}


def _counts_as_floats(df: pd.DataFrame) -> set:
    """Float columns whose values are all whole numbers (counts that pandas turned into floats
    because a value was missing): they are shown as counts.

    >>> sorted(_counts_as_floats(pd.DataFrame({"a": [31.0, None], "b": [0.5, 1.0], "c": ["x", "y"]})))
    [0]
    """
    out = set()
    for k in range(df.shape[1]):
        col = df.iloc[:, k]
        if pd.api.types.is_float_dtype(col) and col.dropna().map(float.is_integer).all():
            out.add(k)
    return out


def _fmt(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
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
    whole = _counts_as_floats(df)
    for label, r in zip(df.index, df.itertuples(index=False)):
        cells = [f'<th class="idx">{html.escape(str(label))}</th>'] if index else []
        for k, v in enumerate(r):
            if k in whole and isinstance(v, float) and not pd.isna(v):
                v = int(v)
            num = isinstance(v, numbers.Number) and not isinstance(v, bool)
            if num:
                kind = "num"
            elif isinstance(v, str) and v in WORD_CLASS:
                kind = f"mark {WORD_CLASS[v]}"
            elif v is None or (isinstance(v, str) and v in ("x", "-", "—", "…", "")):
                kind = "mark"
            else:
                kind = "txt"
            cells.append(f'<td class="{kind}">{html.escape(_fmt(v))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


#: Tables wider than this fold their all-zero columns away on the page (files keep them).
WIDE = 12


def fold_zero_columns(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop the columns of a wide table whose every value is 0; their labels.

    >>> df = pd.DataFrame({f"c{i}": [0, 0] for i in range(13)} | {"計": [1, 2]})
    >>> out, gone = fold_zero_columns(df)
    >>> list(out.columns), len(gone)
    (['計'], 13)
    """
    if df.shape[1] <= WIDE:
        return df, []
    zero = [c for c in df.columns if pd.to_numeric(df[c], errors="coerce").fillna(-1).eq(0).all()]
    label = lambda c: "・".join(str(x) for x in c) if isinstance(c, tuple) else str(c)  # noqa: E731
    return df.drop(columns=zero), [label(c) for c in zero]


def table(obj, caption: str | None = None, index: bool = True):
    """Display a StatTable (published values, with its protection caption) or a DataFrame, in
    full; a wide table's all-zero columns are folded away with a note."""
    from IPython.display import HTML
    if hasattr(obj, "frame") and hasattr(obj, "counts"):
        df, gone = fold_zero_columns(obj.frame(published=True))
        note = " ".join(x for x in (obj.caption(), obj.note) if x)
        if gone:
            listed = "、".join(gone[:8]) + (" ほか" if len(gone) > 8 else "")
            note += f"　すべての行が0の列（{len(gone)}列: {listed}）は表示を省略した（CSV・Excelには含む）。"
        body = to_html(df, caption or obj.title)
        return HTML(body + (f'<p class="note">{html.escape(note)}</p>' if note else ""))
    df = obj if isinstance(obj, pd.DataFrame) else pd.DataFrame(obj)
    if isinstance(df.index, pd.RangeIndex):
        index = False
    df, gone = fold_zero_columns(df)
    note = f'<p class="note">すべての行が0の列（{"、".join(gone)}）は表示を省略した。</p>' if gone else ""
    return HTML(to_html(df, caption, index=index) + note)


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
table.juki thead th { background: #eef1f8; text-align: center !important; }
table.juki th.idx { text-align: left !important; background: #f7f7f7; white-space: nowrap; }
table.juki td.num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.juki td.txt { text-align: left !important; max-width: 40em; }
table.juki td.mark { text-align: center !important; white-space: nowrap; }
table.juki td.st-green { color: #1a7f37; font-weight: bold; }
table.juki td.st-amber { color: #b26b00; font-weight: bold; background: #fff6e0; }
table.juki td.st-red { color: #c00; font-weight: bold; background: #fde8e8; }
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
