"""Excel workbooks in the survey's layout: one sheet per table (openpyxl).

Each sheet: the title, the reference date or period and the disclosure rule in its header
rows, the column headers of every axis as merged cells (as on the survey's forms), x in
suppressed cells, counts as numbers (never text), a note below.  Written to a temporary file and
renamed.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .. import atomic
from .stattable import INTERNAL


def _sheet_name(title: str, used: set) -> str:
    # the title without its dates (parenthesised parts holding a digit), as Excel allows
    base = re.sub(r"[\[\]:*?/\\]", "", re.sub(r"（[^（）]*\d[^（）]*）", "", title))[:28] or "表"
    name, k = base, 2
    while name in used:
        name, k = f"{base[:26]}_{k}", k + 1
    used.add(name)
    return name


#: The workbook's cell styles, registered once per workbook as named styles: a cell then takes a
#: style by name (setting a border or an alignment object per cell makes openpyxl compare it with
#: every style the workbook holds, which took most of a release's Excel time).  The names are
#: what a user sees in Excel's cell-style gallery.
HEAD, LABEL, INT, FLOAT, TEXT = "表頭", "表側", "整数", "小数", "文字"
STYLES = {
    HEAD: dict(font={"bold": True}, fill=True, alignment={"horizontal": "center", "vertical": "center", "wrap_text": True}),
    LABEL: dict(),
    INT: dict(number_format="#,##0", alignment={"horizontal": "right"}),
    FLOAT: dict(number_format="#,##0.0#", alignment={"horizontal": "right"}),
    TEXT: dict(alignment={"horizontal": "center"}),
}


def _named_styles(wb) -> None:
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.styles.fonts import DEFAULT_FONT as base  # a named style starts without a font
    thin = Side(style="thin", color="999999")
    for name, spec in STYLES.items():
        ns = NamedStyle(name=name, border=Border(left=thin, right=thin, top=thin, bottom=thin),
                        font=Font(name=base.name, sz=base.sz, family=base.family, scheme=base.scheme,
                                  **spec.get("font", {})))
        if spec.get("fill"):
            ns.fill = PatternFill("solid", fgColor="EEF1F8")
        if "alignment" in spec:
            ns.alignment = Alignment(**spec["alignment"])
        if "number_format" in spec:
            ns.number_format = spec["number_format"]
        wb.add_named_style(ns)


def _write_frame(ws, df: pd.DataFrame, title: str, header_lines: list[str], note: str = "", start_row: int = 1):
    from openpyxl.styles import Font
    ws.cell(row=start_row, column=1, value=title).font = Font(bold=True, size=13)
    r = start_row + 1
    for line in header_lines:
        ws.cell(row=r, column=1, value=line)
        r += 1
    r += 1
    levels = df.columns.nlevels
    ncols = len(df.columns)
    index_name = df.index.name or ""
    # header: one row per column level, repeated labels merged
    for lv in range(levels):
        labels = [c[lv] if levels > 1 else c for c in df.columns]
        col = 0
        while col < ncols:
            span = 1
            if lv < levels - 1 or levels == 1:
                while col + span < ncols and labels[col + span] == labels[col] and \
                        (lv == 0 or all((df.columns[col + span][k] == df.columns[col][k]) for k in range(lv))):
                    span += 1
            ws.cell(row=r + lv, column=2 + col, value=str(labels[col])).style = HEAD
            if span > 1:
                ws.merge_cells(start_row=r + lv, start_column=2 + col, end_row=r + lv, end_column=1 + col + span)
            col += span
    ws.cell(row=r, column=1, value=str(index_name)).style = HEAD
    if levels > 1:
        ws.merge_cells(start_row=r, start_column=1, end_row=r + levels - 1, end_column=1)
    r += levels
    for label, row in zip(df.index, df.itertuples(index=False)):
        ws.cell(row=r, column=1, value=str(label)).style = LABEL
        for j, v in enumerate(row):
            if v is None or (isinstance(v, float) and pd.isna(v)):
                v = ""
            elif hasattr(v, "item"):
                v = v.item()
            style = (INT if isinstance(v, int) else FLOAT) if isinstance(v, (int, float)) else TEXT
            ws.cell(row=r, column=2 + j, value=v).style = style
        r += 1
    if note:
        ws.cell(row=r + 1, column=1, value=f"注: {note}")
    ws.column_dimensions["A"].width = max(14, min(28, max((len(str(x)) for x in df.index), default=8) * 2 + 2))
    ws.freeze_panes = ws.cell(row=r - len(df) , column=2)
    return r


def write(path, tables: list, header: dict, extra: dict | None = None) -> Path:
    """One workbook: ``tables`` (StatTable) and ``extra`` ({sheet title: DataFrame}) in order.

    ``header``: {"基準日": ..., "秘匿の基準": ..., ...} -- written at the top of every sheet."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    _named_styles(wb)
    used: set = set()
    lines = [f"{k}: {v}" for k, v in header.items()]
    for st in tables:
        ws = wb.create_sheet(_sheet_name(st.title, used))
        note = " ".join(x for x in (st.caption(), st.note) if x)
        top = ([f"【{INTERNAL}】"] if st.internal else []) + lines
        _write_frame(ws, st.frame(published=True), st.title, top, note)
    for title, df in (extra or {}).items():
        ws = wb.create_sheet(_sheet_name(title, used))
        _write_frame(ws, df, title, lines)
    path = Path(path)
    with atomic.replacing(path) as tmp:
        wb.save(tmp)
    return path
