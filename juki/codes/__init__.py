"""Code tables and number formats, one small module each (python-stdnum style).

Code tables are CSV files in ``juki/codes/data/`` (code, name, ..., note).  Where the
national standard's numeric codes are not public the tables use documented local codes;
the ``note`` column of the first row says so.

>>> names("sex")
{'1': '男', '2': '女'}
>>> names("kubun_30_45")['1']
'中長期在留者'
>>> municipalities().loc['122076', 'name']
'松戸市'
>>> bool(towns()['postcode'].str.match(r'^27[01][0-9]{4}$').all())
True
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

#: Code tables referenced by layout items (``Item.code``) -> CSV file stem.
TABLES = {
    "sex": "sex", "zokugara": "zokugara", "kubun_30_45": "kubun_30_45",
    "zairyu_shikaku": "zairyu_shikaku", "kokuseki": "kokuseki", "ido_kubun": "ido_kubun",
    "ido_jiyu": "ido_jiyu", "shikaku": "shikaku", "card_jokyo": "card_jokyo",
    "record_jokyo": "record_jokyo", "town": "towns", "municipality": "municipalities",
    "terminal": "terminals", "branch": "branches", "date_precision": "date_precision",
}

#: Code tables that are not exhaustive: any valid code may appear (checked by its number module).
OPEN_TABLES = frozenset({"municipality"})

#: Number formats, one module each (python-stdnum style), named by the layouts' ``number`` column.
NUMBER_MODULES = ("kojin_bango", "municipality", "atena", "jumin_code")


def number_module(name: str):
    """The module of a number format (``is_valid``, ``calc_check_digit`` where one is public, ``is_valid_expr``)."""
    if name not in NUMBER_MODULES:
        raise KeyError(f"unknown number format {name!r}; known: {', '.join(NUMBER_MODULES)}")
    import importlib
    return importlib.import_module(f"{__name__}.{name}")


@lru_cache(maxsize=None)
def rows(table: str) -> tuple[dict, ...]:
    """Rows of a code table as dicts of strings."""
    if table == "municipality":
        return tuple(municipalities().reset_index().astype(str).to_dict("records"))
    if table == "terminal":
        return tuple(terminals().astype(str).to_dict("records"))
    stem = TABLES.get(table, table)
    path = DATA / f"{stem}.csv"
    if not path.exists():
        raise KeyError(f"unknown code table {table!r}")
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def names(table: str) -> dict[str, str]:
    """code -> name."""
    return {r["code"]: r["name"] for r in rows(table)}


def codes(table: str) -> list[str]:
    return [r["code"] for r in rows(table)]


def frame(table: str):
    import pandas as pd
    return pd.DataFrame(list(rows(table)))


@lru_cache(maxsize=None)
def towns():
    """町丁字 of Matsudo: code, name, 町域, postcode, branch office, population weight."""
    import pandas as pd
    df = pd.read_csv(DATA / "towns.csv", dtype=str)
    df["weight"] = df["weight"].astype(float)
    return df


@lru_cache(maxsize=None)
def municipalities():
    """Municipalities used for 前住所 / 転出先, indexed by 6-digit code with check digit."""
    import pandas as pd

    from . import municipality
    df = pd.read_csv(DATA / "municipalities.csv", dtype={"code5": str})
    df["code"] = [c + municipality.calc_check_digit(c) for c in df["code5"]]
    return df.set_index("code")


@lru_cache(maxsize=None)
def branches():
    import pandas as pd
    return pd.read_csv(DATA / "branches.csv", dtype=str)


@lru_cache(maxsize=None)
def terminals():
    """Terminal IDs (T + 7 digits), each at one branch office: derived from branches.csv."""
    import pandas as pd
    out = []
    n = 0
    for b in branches().itertuples():
        for _ in range(int(b.terminals)):
            n += 1
            out.append({"code": f"T{1000000 + n:07d}", "name": f"{b.office} 端末{_ + 1}", "branch": b.name})
    return pd.DataFrame(out)
