"""The analysts' explorer: residents by 町域, age band, sex and nationality, from the table service.

:func:`explorer` is the ipywidgets app that ``juki explore`` serves with Voilà; every number it
shows comes from :mod:`juki.tables` (fixed 5-year bands, perturbed finest cells summed:
:mod:`.tablebuilder`), and its caption, table and downloads come from one answer.  The module
imports no query engine, so an explorer kernel starts light.

:func:`selection_table` is the older per-selection cell-key table (any age range, each selection
its own noise), kept for administrators' internal use; analysts never reach it.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import codes
from .stattable import UNKNOWN, StatTable
from .tablebuilder import ALL_AREAS, ALL_NATIONS, BOTH, GROUPS

MAX_AGE = 100


@dataclass(frozen=True)
class Selection:
    ref: dt.date
    area: str = ALL_AREAS          # a 町域, or 全域
    ages: tuple = (0, MAX_AGE)     # years, inclusive; MAX_AGE means "and over"
    sex: str = BOTH                # 男女計, 男, 女
    nationality: str = ALL_NATIONS  # 全て, 日本人住民, 外国人住民, or a nationality's name

    def caption(self) -> str:
        lo, hi = self.ages
        ages = f"{lo}歳～{'100歳以上' if hi >= MAX_AGE else f'{hi}歳'}"
        return (f"基準日 {self.ref}／地域 {self.area}／年齢 {ages}／性別 {self.sex}／国籍・地域 {self.nationality}")

    def spec(self) -> dict:
        return {"ref": self.ref.isoformat(), "area": self.area, "ages": list(self.ages), "sex": self.sex,
                "nationality": self.nationality}


def age_rows(lo: int, hi: int) -> list[tuple[int, int, str]]:
    """5-year bands cut to the selected ages: (from, to, label).

    >>> [x[2] for x in age_rows(7, 23)]
    ['7～9歳', '10～14歳', '15～19歳', '20～23歳']
    >>> age_rows(95, 100)[-1][2]
    '100歳以上'
    """
    out, a = [], lo
    while a <= hi:
        if a >= MAX_AGE:
            out.append((MAX_AGE, 999, "100歳以上"))
            break
        b = min(a - a % 5 + 4, hi, MAX_AGE - 1)
        out.append((a, b, f"{a}～{b}歳"))
        a = b + 1
    return out


def selection_table(a, sel: Selection, threshold: int | None = None) -> StatTable:
    """Residents of a selection by age × sex, cell-key perturbed (logged as an explorer query)."""
    import ibis

    from ..access import guard
    from .population import SEX, SEXES, Protect, _long
    with guard.entry("explore", "explorer", params=sel.spec()) as g:
        t = a.stock(sel.ref)
        if sel.area != ALL_AREAS:
            towns = codes.towns()
            t = t.filter(t.town.isin(list(towns.loc[towns["choiki"] == sel.area, "code"])))
        if sel.sex != BOTH:
            t = t.filter(t.sex == {v: k for k, v in SEX.items()}[sel.sex])
        if sel.nationality in GROUPS:
            t = t.filter(t.grp == sel.nationality)
        elif sel.nationality != ALL_NATIONS:
            code = {n: c for c, n in codes.names("kokuseki").items()}[sel.nationality]
            t = t.filter(t.nationality == code)
        rows = age_rows(*sel.ages)
        lo, hi = sel.ages
        t = t.filter((t.age >= lo) & ((t.age <= hi) if hi < MAX_AGE else True))
        row = ibis.cases(*[((t.age >= a_) & (t.age <= b_), label) for a_, b_, label in rows], else_=UNKNOWN)
        expr = t.group_by(row=row, sex=t.sex).aggregate(n=t.count(), ks=t.record_key.sum())
        sexes = SEXES if sel.sex == BOTH else [sel.sex]
        st = _long("selection", "選択した条件の人口", expr,
                   [("年齢", [r[2] for r in rows], "row", None), ("性別", sexes, "sex", SEX)], Protect("ckm", 0))
        g.detail = "cell-key perturbed"
    if threshold:  # an analyst may raise the floor: perturbed values below it are shown as x
        st.hidden = (st.perturbed > 0) & (st.perturbed < threshold)
    return st


def downloads(df: pd.DataFrame, sel: Selection | None = None) -> str:
    """Links carrying the shown table as CSV (UTF-8 with BOM) and .xlsx (data: URIs, no server);
    each file says what it holds (its name, its caption) and that its values are perturbed."""
    caption = df.attrs.get("caption") or (sel.caption() if sel else "")
    note = df.attrs.get("note", "")
    stem = df.attrs.get("file", "selection")
    csv = ("\ufeff" + f"# {caption}\n" + (f"# 注: {note}\n" if note else "") + df.to_csv()).encode("utf-8")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="選択した条件の人口", startrow=3)
        ws = xw.sheets["選択した条件の人口"]
        ws.cell(row=1, column=1, value=caption)
        ws.cell(row=2, column=1, value=f"注: {note}" if note else "")
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = html.escape(stem, quote=True)
    return (f'<a download="{name}.csv" href="data:text/csv;base64,{b64(csv)}">CSVをダウンロード</a>　'
            f'<a download="{name}.xlsx" href="data:{xlsx_type};base64,{b64(buf.getvalue())}">Excelをダウンロード</a>')


def explorer(src, threshold: int | None = None):
    """The widgets: 町域, 年齢 (the policy's bands), 性別, 国籍・地域, 基準日 (the published dates only).

    ``src`` is the table service (:func:`juki.tables.source`): the explorer never opens a store,
    and the caption, the table and the downloads all come from one answer."""
    import ipywidgets as w
    from IPython.display import HTML, display

    from ..reports.display import to_html
    from . import tablebuilder as tb
    towns = codes.towns()
    area = w.Dropdown(options=[ALL_AREAS] + list(dict.fromkeys(towns["choiki"])), value=ALL_AREAS, description="町域")
    nat = w.Dropdown(options=[ALL_NATIONS] + GROUPS + list(codes.names("kokuseki").values()), value=ALL_NATIONS,
                     description="国籍・地域")
    bands = [(tb.band_label(b), b) for b in range(0, tb.TOP + 1, 5)]
    ages = w.SelectionRangeSlider(options=bands, index=(0, len(bands) - 1), description="年齢", readout=False,
                                  continuous_update=False, layout=w.Layout(width="620px"),
                                  style={"description_width": "170px"})
    sex = w.ToggleButtons(options=[BOTH, "男", "女"], value=BOTH, description="性別")
    when = w.Dropdown(options=[(str(d), d) for d in src.ref_dates], value=src.as_of, description="基準日")
    # caption and table in one widget: one message changes both, so the page never shows a
    # caption over the previous selection's table
    result, links = w.HTML(), w.HTML()
    note = w.HTML(f"<p style='font-size:11px;color:#555'>{tb.NOTE}基準日は分析用ストアに公開された日のみ選べる。"
                  "年齢は5歳階級で選ぶ。区分が細かすぎる表は表示しない。"
                  "JupyterLabでカーネルを再起動した後は、このセルを再実行すること（表示が古いまま残るため）。"
                  "アプリ（juki explore）では、ページを再読み込みすると新しい集計で始まる。</p>")

    def span():
        lo, hi = ages.value
        return lo, (tb.TOP if hi >= tb.TOP else hi + 4)

    def update(*_):
        lo, hi = span()
        ages.description = f"年齢 {lo}歳以上" if hi >= tb.TOP else f"年齢 {lo}～{hi}歳"
        try:
            df = src.query(area.value, (lo, hi), sex.value, nat.value, when.value)
        except Exception as e:   # a refusal (sparse table, budget): say it where the table would be
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            what = tb.caption(when.value, area.value, (lo, hi), sex.value, nat.value)
            result.value = f"<p class='juki-caption'><b>{html.escape(what)}</b>：表示しない（{html.escape(msg)}）</p>"
            links.value = ""
            return
        if threshold:
            df = df.astype(object).where(~df.apply(lambda c: c.map(lambda v: isinstance(v, (int, np.integer)) and 0 < v < threshold)), "x")
        result.value = (f"<p class='juki-caption'><b>{html.escape(df.attrs.get('caption', ''))}</b>"
                        f"（集計 {dt.datetime.now():%H:%M:%S}）</p>" + to_html(df))
        links.value = downloads(df)

    for widget in (area, ages, sex, nat, when):
        widget.observe(update, names="value")
    update()
    display(HTML("<style>table.juki{border-collapse:collapse;font-size:13px} table.juki td,table.juki th"
                 "{border:1px solid #bbb;padding:2px 8px} table.juki td.num{text-align:right}</style>"))
    return w.VBox([w.HBox([area, nat, when]), ages, sex, result, links, note])
