"""An ipywidgets explorer over the de-identified copy, for analysts in JupyterLab."""
from __future__ import annotations

import datetime as dt

from .. import codes
from ..privacy import Deidentified
from .table import StatTable
from .tables import AGE_BANDS, SEX, SEXES


def selection_table(deid: Deidentified, as_of: dt.date, choiki: str | None, bands: tuple[int, int],
                    sex: str | None, nationality: str | None, threshold: int = 2) -> StatTable:
    """Residents of a selection by 年齢階級 × 性別, suppressed like any published table."""
    import ibis
    t = deid.residents(as_of).expr
    if choiki:
        towns = codes.towns()
        t = t.filter(t.town_code.isin(list(towns.loc[towns["choiki"] == choiki, "code"])))
    if sex:
        t = t.filter(t.seibetsu == sex)
    if nationality == "日本人住民":
        t = t.filter(t.kokuseki.isnull())
    elif nationality == "外国人住民":
        t = t.filter(t.kokuseki.notnull())
    elif nationality:
        t = t.filter(t.kokuseki == nationality)
    band = ibis.least(t.age // 5, 20)
    t = t.filter((band >= bands[0]) & (band <= bands[1]))
    df = t.group_by(band=band, sex=t.seibetsu).aggregate(n=t.count()).to_pandas()
    df["band"] = df["band"].map(lambda i: AGE_BANDS[int(i)])
    df["sex"] = df["sex"].map(SEX)
    labels = AGE_BANDS[bands[0]: bands[1] + 1]
    return StatTable.from_long("selection", "選択した条件の人口", df.rename(columns={"band": "年齢階級", "sex": "性別"}),
                               [("年齢階級", labels), ("性別", SEXES)], threshold=threshold)


def explorer(deid: Deidentified, threshold: int = 2):
    import ipywidgets as w
    from IPython.display import display

    towns = codes.towns()
    area = w.Dropdown(options=[("全域", None)] + [(c, c) for c in dict.fromkeys(towns["choiki"])], description="町域")
    ages = w.IntRangeSlider(value=(0, 20), min=0, max=20, description="年齢階級",
                            readout_format="d")
    sex = w.ToggleButtons(options=[("男女計", None), ("男", "1"), ("女", "2")], description="性別")
    nat = w.Dropdown(options=[("全て", None), ("日本人住民", "日本人住民"), ("外国人住民", "外国人住民")]
                     + [(n, c) for c, n in codes.names("kokuseki").items()], description="国籍・地域")
    when = w.DatePicker(value=deid.as_of, description="基準日")
    out = w.Output()

    def update(*_):
        out.clear_output()
        with out:
            st = selection_table(deid, when.value or deid.as_of, area.value, ages.value, sex.value, nat.value, threshold)
            print(f"{AGE_BANDS[ages.value[0]]}～{AGE_BANDS[ages.value[1]]}（{threshold}人以下は x）")
            display(st.frame())

    for widget in (area, ages, sex, nat, when):
        widget.observe(update, names="value")
    update()
    return w.VBox([w.HBox([area, nat]), ages, sex, when, out])
