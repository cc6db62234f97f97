"""The analysts' table service: protected aggregates, the only way an analyst reaches the data.

Analysts hold no row-level data of any kind.  Every number they see -- in the explorer, in their
own JupyterLab notebooks, on the command line -- comes from :func:`answer`, which runs as the
service account over the analysis store and returns a perturbed table (cell-key method, no 1 or
2).  Record keys, pseudonym keys and the CKM secret stay on the service side.

* ``from juki.tables import query; query(area="本町", age=(20, 39), sex="女", as_of="2026-04-01")``
  returns a DataFrame (rows: age bands; columns: 男, 女, 計 as the selection allows);
* ``juki table --area 本町 --age 20-39 --sex 女`` prints the same as CSV (``--format json`` too);
* :func:`source` gives the explorer the same service.

In an installation (``bin/setup-server``) the analyst's own process cannot open the analysis
store (``PREFIX/data`` is the service account's, mode 0700): :func:`query` asks the service
through ``PREFIX/bin/juki table`` (sudo), which identifies the caller, checks the role, logs the
query (who and which table definition, never the numbers) and answers.  In a single-user
checkout the same function is called in-process.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
from dataclasses import dataclass

import pandas as pd

from .errors import JukiError

SEXES = ("男女計", "男", "女")
BY = ("age",)


@dataclass(frozen=True)
class Request:
    area: str | None = None
    age: tuple = (0, 100)
    sex: str = "男女計"
    nationality: str | None = None
    as_of: str | None = None
    by: str = "age"
    threshold: int | None = None

    def args(self) -> list[str]:
        out = ["--age", f"{self.age[0]}-{self.age[1]}", "--sex", self.sex, "--by", self.by]
        if self.area:
            out += ["--area", self.area]
        if self.nationality:
            out += ["--nationality", self.nationality]
        if self.as_of:
            out += ["--as-of", str(self.as_of)]
        if self.threshold:
            out += ["--threshold", str(self.threshold)]
        return out


def request(area=None, age=(0, 100), sex="男女計", nationality=None, as_of=None, by="age", threshold=None) -> Request:
    """A validated request (one-line errors for anything outside the fixed categories).

    >>> request(age=(20, 10))
    Traceback (most recent call last):
    ...
    juki.errors.JukiError: age (20, 10): from must be 0..100 and not above to
    """
    from .stats.explore import MAX_AGE
    try:
        lo, hi = (int(age[0]), int(age[1]))
    except (TypeError, ValueError, IndexError):
        raise JukiError(f"age {age!r}: give (from, to) in years") from None
    if not (0 <= lo <= hi <= MAX_AGE):
        raise JukiError(f"age {age!r}: from must be 0..{MAX_AGE} and not above to")
    if sex not in SEXES:
        raise JukiError(f"sex {sex!r}: one of {', '.join(SEXES)}")
    if by not in BY:
        raise JukiError(f"by {by!r}: one of {', '.join(BY)}")
    if as_of is not None:
        try:
            dt.date.fromisoformat(str(as_of))
        except ValueError:
            raise JukiError(f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
    if threshold is not None and (not isinstance(threshold, int) or threshold < 0):
        raise JukiError(f"threshold {threshold!r}: a whole number")
    return Request(area or None, (lo, hi), sex, nationality or None, str(as_of) if as_of else None, by, threshold)


# ------------------------------------------------------------------ the service side

def answer(req: Request, db=None) -> tuple[pd.DataFrame, str]:
    """(perturbed table, caption): what the service returns.  Runs where the analysis store is
    readable (the service account); the table builder decides what may be asked."""
    from .analysis.store import Analysis
    from .stats import tablebuilder as tb
    a = Analysis(db)
    try:
        ref = a.ref_date(req.as_of)
        area, nat = req.area or tb.ALL_AREAS, req.nationality or tb.ALL_NATIONS
        _check_categories(area, nat)
        df = tb.query(a, ref, area, tuple(req.age), req.sex, nat)
        return df, df.attrs["caption"]
    finally:
        a.close()


def _check_categories(area, nationality) -> None:
    from . import codes
    from .stats import tablebuilder as tb
    if area != tb.ALL_AREAS and area not in set(codes.towns()["choiki"]):
        raise JukiError(f"area {area!r} is not a 町域 of the city")
    if nationality not in [tb.ALL_NATIONS, *tb.GROUPS, *codes.names("kokuseki").values()]:
        raise JukiError(f"nationality {nationality!r}: 全て, 日本人住民, 外国人住民 or a nationality's name")


def dates(db=None) -> tuple[list[str], str]:
    """(published reference dates, the publication's own)."""
    from .analysis.store import Analysis
    a = Analysis(db)
    try:
        return [d.isoformat() for d in a.ref_dates], a.as_of.isoformat()
    finally:
        a.close()


def to_json(df: pd.DataFrame, caption: str) -> str:
    return json.dumps({"caption": caption, "note": df.attrs.get("note", ""), "file": df.attrs.get("file", "table"),
                       "index_name": df.index.name, "index": [str(i) for i in df.index],
                       "columns": [str(c) for c in df.columns],
                       "data": [[None if pd.isna(v) else (int(v) if isinstance(v, (int, float)) and float(v).is_integer()
                                                         else str(v)) for v in row] for row in df.itertuples(index=False)]},
                      ensure_ascii=False)


def from_json(text: str) -> pd.DataFrame:
    d = json.loads(text)
    df = pd.DataFrame(d["data"], columns=d["columns"], index=pd.Index(d["index"], name=d["index_name"]))
    df.attrs.update(caption=d["caption"], note=d.get("note", ""), file=d.get("file", "table"))
    return df


# ------------------------------------------------------------------ the client side

def remote() -> bool:
    """Whether this process must ask the service (an installation, and not its service account)."""
    from .server import installation
    inst = installation()
    return inst is not None and not inst.is_service()


def _call(args: list[str]) -> str:
    from .server import installation
    from .tableservice import ask
    res = ask(args)                 # the resident service, when it runs
    if res is not None:
        if not res.get("ok"):
            raise JukiError(res.get("error") or "the table service refused")
        return res["out"]
    inst = installation()
    try:
        p = subprocess.run([str(inst.command), "table", "--format", "json", *args], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise JukiError(f"the table service did not answer: {e}") from None
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        raise JukiError((lines[-1] if lines else f"the table service failed (exit {p.returncode})").removeprefix("juki: error: "))
    return p.stdout


def query(area=None, age=(0, 100), sex="男女計", nationality=None, as_of=None, by="age", threshold=None) -> pd.DataFrame:
    """A perturbed table of residents (rows: age bands; columns: sexes and 計).  Its caption is in
    ``df.attrs["caption"]``."""
    req = request(area, age, sex, nationality, as_of, by, threshold)
    if remote():
        return from_json(_call(req.args()))
    return answer(req)[0]


def csv_text(df: pd.DataFrame, caption: str) -> str:
    """The table as CSV with its caption and the note on perturbation above it."""
    buf = io.StringIO()
    buf.write(f"# {caption}\n")
    if df.attrs.get("note"):
        buf.write(f"# 注: {df.attrs['note']}\n")
    df.to_csv(buf)
    return buf.getvalue()


class Source:
    """What the explorer draws from: published dates and one table per selection."""

    def __init__(self, db=None):
        self.db = db
        if remote():
            d = json.loads(_call(["--dates"]))
            self.ref_dates = [dt.date.fromisoformat(x) for x in d["ref_dates"]]
            self.as_of = dt.date.fromisoformat(d["as_of"])
        else:
            ds, own = dates(db)
            self.ref_dates = [dt.date.fromisoformat(x) for x in ds]
            self.as_of = dt.date.fromisoformat(own)

    def query(self, area, ages, sex, nationality, ref) -> pd.DataFrame:
        """The explorer's one call: the table (its caption, note and file name in ``attrs``)."""
        from .stats import tablebuilder as tb
        req = request(None if area == tb.ALL_AREAS else area, ages, sex,
                      None if nationality == tb.ALL_NATIONS else nationality, ref.isoformat(), "age")
        if remote():
            return from_json(_call(req.args()))
        return answer(req, self.db)[0]


def source(db=None) -> Source:
    return Source(db)
