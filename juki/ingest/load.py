"""Loading a city's exports: one or several CSV files (or a folder) in one transaction.

Each file is recognised by its header (PIA item names, column ids, or a vendor profile's
names; an unknown header gives one line naming the closest items), read in bounded memory
(:mod:`.stage`), parsed by DuckDB, typed in SQL, completed with what exports do not carry, and
checked by the same row checks as the quality review (:func:`juki.quality.rules.row_checks`,
evaluated by :mod:`juki.quality.engine`).  Rows that fail go to ``quarantine`` (file, line,
every reason, raw text); the rest load.  Rows read = loaded + quarantined, always.

Derived when an export lacks them, and said so in the load report and the load log:

* 履歴番号 -- the order of a person's records (処理年月日, 異動年月日, then file order), after
  any the store already holds; a "current data" export (one row a person) gets 1;
* 更新順番号 of the 本人確認情報 -- time-stamp order, after the store's;
* 町丁字 (``town_code``, and the 本人確認情報's 大字・字コード) -- from the address text
  (:mod:`juki.codes.address`); an address that names no 町丁字 stays empty (統計では「不詳」);
* the precision of partial dates (不詳日: 平成3年不詳, 19910000 ...).

The store records what it holds: every load appends to ``load_log`` (file, SHA-256, encoding,
rows read/loaded/quarantined, profile, operator, time, reference date, what was derived) and
sets the reference date (``--as-of``, or the latest 処理年月日 with a warning).
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic, engine, store
from ..codes import address
from ..codes.era import parse_partial
from ..errors import JukiError
from ..layouts import LAYOUTS, Layout
from ..quality.engine import any_failing, failures
from ..quality.rules import row_checks
from . import profiles
from .stage import RAW_LIMIT, Staged, stage

#: DuckDB's memory while loading: large files spill to disk beside the store instead.
LOAD_MEMORY = "1536MB"
FULLWIDTH = ("０１２３４５６７８９－／：．", "0123456789-/:.")
NUMERIC_FORMAT = ("^[0-9", "^T[0-9")
#: Derived code column <- the address text it is matched from (:mod:`juki.codes.address`).
FROM_ADDRESS = {"jumin": {"town_code": "genjusho"}, "honnin": {"aza_code": "jusho"}}
#: System columns an export may lack and that stay empty then (送付日: set when a batch is sent).
MAY_LACK = {"sofusaki": ("sent_date",)}


@dataclass
class FileReport:
    file: str
    table: str
    encoding: str
    sha256: str = ""
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    derived: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def __str__(self):
        head = (f"{self.file}: {self.read:,} rows read = {self.loaded:,} loaded + {self.quarantined:,} quarantined "
                f"into {self.table} ({self.encoding})")
        lines = [head] + [f"  {n:,} × {r}" for r, n in self.reasons.most_common(12)]
        lines += [f"  derived: {d}" for d in self.derived] + [f"  note: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class LoadResult:
    files: list[FileReport]
    as_of: dt.date
    warnings: list = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)


def expand(paths_) -> list[Path]:
    out = []
    for p in map(Path, paths_):
        if p.is_dir():
            found = sorted(x for x in p.iterdir() if x.suffix.lower() in (".csv", ".txt") and x.is_file())
            if not found:
                raise JukiError(f"no CSV file in folder {p}")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise JukiError(f"cannot read {p}: no such file")
    return out


def map_header(header: list[str], table: str | None, prof: profiles.Profile) -> tuple[str, list[str]]:
    """(table, columns) for a header; the table is recognised when not given."""
    candidates = [table] if table else list(LAYOUTS)
    best = None
    for t in candidates:
        cols = [prof.column(t, h) for h in header]
        unknown = [h for h, c in zip(header, cols) if c is None]
        if not unknown:
            dup = [c for c, n in Counter(cols).items() if n > 1]
            if dup:
                raise JukiError(f"duplicated column(s) in the header: {', '.join(dup)}")
            return t, cols
        if best is None or len(unknown) < len(best[1]):
            best = (t, unknown)
    t, unknown = best
    hint = prof.closest(t, unknown[0])
    file = LAYOUTS[t].file
    raise JukiError(f"unknown column {unknown[0]!r} for {file}" + (f" (closest: {', '.join(hint)})" if hint else "")
                    + (f"; {len(unknown) - 1} more unknown" if len(unknown) > 1 else "")
                    + ("" if prof.name != "pia" else "; a vendor's names need --profile"))


def load_files(paths_, table: str | None = None, db=None, encoding: str | None = None, replace: bool = False,
               profile: str | None = None, as_of: dt.date | None = None) -> LoadResult:
    """Load CSV exports (files or folders) into the store in one transaction."""
    from ..access import guard
    files = expand(paths_)
    if table is not None and table not in LAYOUTS:
        raise JukiError(f"unknown table {table!r}; known: {', '.join(LAYOUTS)}")
    prof = profiles.load(profile)
    with guard.entry("load", ",".join(f.name for f in files)[:200],
                     params={"files": len(files), "replace": replace, "profile": prof.name}) as g:
        result = _load(files, table, db, encoding, replace, prof, as_of, g.operator)
        g.records = result.loaded
        g.detail = "; ".join(f"{f.file}: read {f.read}, loaded {f.loaded}, quarantined {f.quarantined}"
                             for f in result.files)[:300]
    return result


def _load(files, table, db, encoding, replace, prof, as_of, operator) -> LoadResult:
    path = store.db_path(db)
    store.check_writable(path)
    tmpdir = Path(tempfile.mkdtemp(prefix=".juki-load-", dir=path.resolve().parent))
    con = store.open_duckdb(path, read_only=False, memory=LOAD_MEMORY)
    try:
        store.create_schema(con)
        address.register(con)
        staged = []
        for i, f in enumerate(files):
            st = stage(f, tmpdir / f"stage{i}.csv", encoding)
            t, cols = map_header(st.header, table, prof)
            staged.append((f, st, LAYOUTS[t], cols))
        con.execute("BEGIN TRANSACTION")
        reports, cleared = [], set()
        now = dt.datetime.now()
        for i, (f, st, lay, cols) in enumerate(staged):
            if replace and lay.table not in cleared:
                con.execute(f"DELETE FROM {lay.table}")
                cleared.add(lay.table)
            reports.append(_load_one(con, i, f, st, lay, cols, prof, now))
        result = LoadResult(reports, _reference_date(con, as_of, reports))
        for r in reports:
            con.execute("INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [now, r.file, r.sha256, r.encoding, r.table, prof.name, r.read, r.loaded, r.quarantined,
                         operator, result.as_of, "; ".join(r.derived), "; ".join(r.warnings)])
        from ..log import oplog
        store.set_meta(con, {"source": "load", "as_of": result.as_of.isoformat(),
                             "loaded_at": now.isoformat(timespec="seconds"), "oplog_head": oplog.head()})
        atomic.killpoint("load_before_commit")
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except Exception:
            pass
        raise
    finally:
        con.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return result


def _reference_date(con, as_of, reports) -> dt.date:
    if as_of:
        return as_of
    row = con.execute("SELECT max(shori_date) FROM jumin").fetchone()
    d = row[0] if row and row[0] else None
    if d is None:
        d = con.execute("SELECT max(shori_date) FROM sofusaki").fetchone()[0] or \
            con.execute("SELECT max(CAST(time_stamp AS DATE)) FROM honnin").fetchone()[0]
    if d is None:
        raise JukiError("nothing was loaded that says what date the store describes: give --as-of YYYY-MM-DD")
    reports[0].warnings.append(f"no --as-of given: the reference date is the latest 処理年月日 loaded, {d}")
    return d


# ---------------------------------------------------------------- one file

def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _norm_digits(v: str) -> str:
    """Full-width digits and signs to ASCII (translate() is slow: only strings with a non-ASCII byte)."""
    return f"CASE WHEN strlen({v}) = length({v}) THEN {v} ELSE translate({v}, {_q(FULLWIDTH[0])}, {_q(FULLWIDTH[1])}) END"


def _fast_date(v: str) -> str:
    return f"CAST(try_strptime({_norm_digits(v)}, ['%Y%m%d', '%Y-%m-%d', '%Y/%m/%d']) AS DATE)"


def _csv(st: Staged, cols: list[str], rejects: str | None = None) -> str:
    """The stage file as a DuckDB relation of text columns.  Read each time it is needed rather
    than kept as a table (a re-read costs seconds; a 3.7M-row copy in memory costs spilling):
    with ``rejects`` malformed records go to that table, else they are skipped."""
    colspec = ", ".join(["'_line': 'BIGINT'"] + [f"'{c}': 'VARCHAR'" for c in cols])
    errors = (f"store_rejects=true, rejects_table='{rejects}', rejects_scan='{rejects}_scan'" if rejects
              else "ignore_errors=true")
    return (f"read_csv('{st.path}', columns={{{colspec}}}, header=false, auto_detect=false, delim=',', quote='\"', "
            f"escape='\"', {errors}, strict_mode=true, null_padding=false, parallel=true)")


def _load_one(con, i: int, f: Path, st: Staged, lay: Layout, cols: list[str], prof, now) -> FileReport:
    rep = FileReport(f.name, lay.table, st.encoding, st.sha256)
    typed, rej = f"__typed{i}", f"__rej{i}"
    text = _csv(st, cols)
    present = set(cols)
    missing = [c for c in lay.columns if c not in present]
    derivable = {*FROM_ADDRESS.get(lay.table, {}), *MAY_LACK.get(lay.table, ()),
                 *(c for (t, c) in SEQUENCES if t == lay.table)}
    derive = [c for c in missing if c in derivable or c.endswith("_prec")]
    required_missing = [lay.item(c).name for c in missing if c not in derive and not lay.item(c).nullable]
    if required_missing:
        raise JukiError(f"{f.name}: required item(s) missing from the file: {', '.join(required_missing[:5])}"
                        + (" …" if len(required_missing) > 5 else "") + " (map them with --profile)")
    absent = [c for c in missing if c not in derive]
    if absent:
        rep.warnings.append(f"{len(absent)} item(s) absent from the file, loaded as empty: "
                            + ", ".join(lay.item(c).name for c in absent[:5]) + (" …" if len(absent) > 5 else ""))
    slow_dates = _date_map(con, text, lay, present, i)
    from_address = _address_map(con, text, lay, present, i)
    exprs, errors, joins = _typed_columns(lay, present, prof, i, slow_dates, from_address)
    # one pass: type, number what the export lacks, and flag the rows failing a row check of
    # the quality review (a cheap first pass; the engine names their rules below)
    checks = row_checks(lay.table)
    seq_replace, seq_joins, _ = _sequences(lay, present)
    con.execute(f"""CREATE TEMP TABLE {typed} AS
        WITH t AS (SELECT _line, {', '.join(exprs)}, list_filter([{', '.join(errors) or 'NULL'}], x -> x IS NOT NULL)
                   AS _type_errors FROM {_csv(st, cols, rejects=rej)} r {' '.join(joins)})
        SELECT t.*{seq_replace} FROM t {seq_joins}""")
    ib = engine.backend(con)
    staged = ib.table(typed)
    ib.create_table(f"__suspect{i}", staged.filter((staged._type_errors.length() > 0) | any_failing(staged, checks))
                    .select("_line", "_type_errors"), temp=True)
    quarantine = [(line, why, body) for line, why, body in st.broken]
    for (csv_line, etype) in con.execute(f"SELECT DISTINCT ON (line) csv_line, error_type FROM {rej} ORDER BY line").fetchall():
        body = (csv_line or "").lstrip("\r\n")
        num, _, rest = body.partition(",")
        why = {"MISSING COLUMNS": "fewer fields than the header (truncated or misquoted row)",
               "TOO MANY COLUMNS": "more fields than the header (truncated or misquoted row)"}.get(etype, f"unreadable row ({etype})")
        quarantine.append((int(num) if num.isdigit() else 0, why, rest.rstrip("\r\n")[:RAW_LIMIT]))
    rep.derived = _derive(con, typed, lay, present)
    # the engine names the rules each flagged row breaks; plus repeated keys
    descr = {r.id: r.description for r in checks}
    staged = ib.table(typed)
    ib.create_table(f"__fails{i}", failures(staged.semi_join(ib.table(f"__suspect{i}"), "_line"), ["_line"], checks,
                                            as_text=False), temp=True)
    con.execute(f"""CREATE TEMP TABLE __bad{i} AS
        WITH f AS (SELECT _line, list(rule ORDER BY rule) AS rules FROM __fails{i} GROUP BY _line),
        d AS ({_duplicates(typed, lay, present)}),
        b AS (SELECT _line FROM __suspect{i} UNION SELECT _line FROM d)
        SELECT b._line, s._type_errors, f.rules, d._dup FROM b
        LEFT JOIN __suspect{i} s USING (_line) LEFT JOIN f USING (_line) LEFT JOIN d USING (_line)""")
    con.execute(f"DROP TABLE __suspect{i}; DROP TABLE __fails{i}")
    has_bad = con.execute(f"SELECT count(*) FROM __bad{i}").fetchone()[0] > 0
    bad = [] if not has_bad else con.execute(f"""
        SELECT b._line, b._type_errors, b.rules, b._dup, array_to_string(list_transform([{', '.join('r.' + c for c in cols)}],
               x -> CASE WHEN x IS NULL THEN '' WHEN regexp_matches(x, '[",\\n]') THEN '"' || replace(x, '"', '""') || '"'
                         ELSE x END), ',') AS raw
        FROM __bad{i} b JOIN {text} r USING (_line) ORDER BY b._line""").fetchall()
    for line, type_errors, rules, dupe, rawtext in bad:
        reasons = list(type_errors or [])
        if not reasons:  # a row that could not be typed is not checked further
            reasons = [descr[r] for r in (rules or [])]
        if dupe and not reasons:
            reasons = [dupe]
        quarantine.append((line, "; ".join(reasons)[:500], rawtext[:RAW_LIMIT]))
    bad_lines = [line for line, *_ in bad]
    con.execute(f"INSERT INTO {lay.table} ({', '.join(lay.columns)}) SELECT {', '.join(lay.columns)} FROM {typed} "
                f"ANTI JOIN __bad{i} USING (_line)")
    if quarantine:
        con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
                        [(now, f.name, line, lay.table, why, body) for line, why, body in quarantine])
    rep.read = st.read          # records in the stage file (typed or rejected by the parser) + set aside
    rep.quarantined = len(quarantine)
    rep.loaded = int(con.execute(f"SELECT count(*) FROM {typed}").fetchone()[0]) - len(bad_lines)
    rep.reasons = Counter(why.split("; ")[0] for _, why, _ in quarantine)
    if rep.read != rep.loaded + rep.quarantined:  # the invariant: nothing is lost
        raise RuntimeError(f"{f.name}: row accounting broken: {rep.read} != {rep.loaded} + {rep.quarantined}")
    for t in (typed, f"__bad{i}", f"__dates{i}", f"__addr{i}"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return rep


def _date_map(con, text: str, lay: Layout, present: set, i: int) -> set:
    """Every distinct date text of the file, parsed once: the plain forms (YYYYMMDD, YYYY-MM-DD,
    YYYY/MM/DD) in SQL, everything else (era text, partial dates ...) by
    :func:`juki.codes.era.parse_partial`, the one definition of date forms (tests check that the
    two agree).  Returns the date columns holding any text of the second kind: only those rows
    join the map; the others are typed inline."""
    import pyarrow as pa
    dates = [i_.column for i_ in lay.items if i_.type == "DATE" and i_.column in present]
    con.execute(f"CREATE OR REPLACE TEMP TABLE __dates{i} (t VARCHAR, d DATE, prec VARCHAR, err VARCHAR)")
    if not dates:
        return set()
    con.execute(f"""CREATE OR REPLACE TEMP TABLE __datecols{i} AS SELECT DISTINCT c, t FROM (
                        SELECT unnest({[*dates]!r}) AS c, unnest([{', '.join(dates)}]) AS t FROM {text})
                    WHERE t IS NOT NULL AND t <> ''""")
    con.execute(f"INSERT INTO __dates{i} SELECT DISTINCT t, {_fast_date('t')}, NULL, NULL FROM __datecols{i}")
    values = con.execute(f"SELECT t FROM __dates{i} WHERE d IS NULL").fetchall()
    rows = {"t": [], "d": [], "prec": [], "err": []}
    for (v,) in values:
        try:
            d, prec = parse_partial(v)
            err = None
        except ValueError as e:
            d, prec, err = None, None, str(e)
        rows["t"].append(v)
        rows["d"].append(d)
        rows["prec"].append(prec)
        rows["err"].append(err)
    if not values:
        return set()
    con.register("__parsed", pa.table({"t": pa.array(rows["t"], pa.string()), "d": pa.array(rows["d"], pa.date32()),
                                       "prec": pa.array(rows["prec"], pa.string()),
                                       "err": pa.array(rows["err"], pa.string())}))
    con.execute(f"UPDATE __dates{i} SET d = p.d, prec = p.prec, err = p.err FROM __parsed p WHERE p.t = __dates{i}.t")
    slow = con.execute(f"SELECT DISTINCT c FROM __datecols{i} SEMI JOIN __parsed USING (t)").fetchall()
    con.unregister("__parsed")
    return {c for (c,) in slow}


def _address_map(con, text: str, lay: Layout, present: set, i: int) -> dict:
    """Match every distinct address text of the file against the 町丁字 table once (into
    ``__addr{i}``); returns {derived column: address column} for the columns derived from it."""
    todo = {c: a for c, a in FROM_ADDRESS.get(lay.table, {}).items() if c not in present and a in present}
    for a in todo.values():   # one per table at most
        con.execute(f"CREATE OR REPLACE TEMP TABLE __addr{i} AS " + address.match_sql(
            f"SELECT DISTINCT nullif({a}, '') AS t FROM {text} WHERE nullif({a}, '') IS NOT NULL", "t", "t"))
    return todo


def _typed_columns(lay: Layout, present: set, prof, i: int, slow_dates: set | None = None,
                   from_address: dict | None = None) -> tuple[list[str], list[str], list[str]]:
    """SQL select expressions typing each column, SQL expressions of the typing errors, and the
    joins they read: the parsed-date map (only for the date columns in ``slow_dates``; plain
    dates are parsed inline) and the address map of the columns in ``from_address``."""
    slow_dates = set(slow_dates or ())
    exprs, errors, joins = [], [], []
    for a in (from_address or {}).values():
        joins.append(f"LEFT JOIN __addr{i} am ON am.id = nullif(r.{a}, '')")
    values = prof.values.get(lay.table, {})
    for item in lay.all_columns:
        c = item.column
        if c.endswith("_prec"):
            continue
        if c in (from_address or {}):
            exprs.append(f"CAST(am.town_code AS {item.type}) AS {c}")
            continue
        if c not in present:
            exprs.append(f"CAST(NULL AS {item.type}) AS {c}")
            if item.partial:
                exprs.append(f"CAST(NULL AS VARCHAR) AS {c}_prec")
            continue
        v = f"nullif(r.{c}, '')"
        if c in values:
            cases = " ".join(f"WHEN {_q(k)} THEN {_q(x)}" for k, x in values[c].items())
            v = f"(CASE {v} {cases} ELSE {v} END)"
        name = _q(item.name)
        if item.type == "DATE" and c not in slow_dates:
            d = _fast_date(v)
            exprs.append(f"{d} AS {c}")
            if item.partial:
                exprs.append(f"CAST(NULL AS VARCHAR) AS {c}_prec")    # a full date
            errors.append(f"CASE WHEN {v} IS NOT NULL AND {d} IS NULL THEN {name} || ': not a date' END")
        elif item.type == "DATE":
            alias = f"dm_{c}"
            joins.append(f"LEFT JOIN __dates{i} {alias} ON {alias}.t = {v}")
            d, prec, err = f"{alias}.d", f"{alias}.prec", f"{alias}.err"
            if item.partial:
                exprs += [f"{d} AS {c}", f"{prec} AS {c}_prec"]
                errors.append(f"CASE WHEN {err} IS NOT NULL THEN {name} || ': ' || {err} END")
            else:
                exprs.append(f"CASE WHEN {prec} IS NULL THEN {d} END AS {c}")
                errors.append(f"CASE WHEN {err} IS NOT NULL OR {prec} IS NOT NULL "
                              f"THEN {name} || ': ' || coalesce({err}, 'not a full date (年月日のすべてが必要)') END")
        elif item.type in ("INTEGER", "BIGINT"):
            n = f"TRY_CAST(trim({_norm_digits(v)}) AS {item.type})"
            exprs.append(f"{n} AS {c}")
            errors.append(f"CASE WHEN {v} IS NOT NULL AND {n} IS NULL THEN {name} || ': not a whole number' END")
        elif item.type == "TIME":
            t = f"CAST(try_strptime({_norm_digits(v)}, ['%H:%M:%S', '%H%M%S', '%H:%M']) AS TIME)"
            exprs.append(f"{t} AS {c}")
            errors.append(f"CASE WHEN {v} IS NOT NULL AND {t} IS NULL THEN {name} || ': not a time (HH:MM:SS)' END")
        elif item.type == "TIMESTAMP":
            t = f"TRY_CAST(replace({_norm_digits(v)}, '/', '-') AS TIMESTAMP)"
            exprs.append(f"{t} AS {c}")
            errors.append(f"CASE WHEN {v} IS NOT NULL AND {t} IS NULL THEN {name} || ': not a date and time' END")
        else:
            numeric = bool(item.format and item.format.startswith(NUMERIC_FORMAT))
            exprs.append(f"{_norm_digits(v) if numeric else v} AS {c}")
    return exprs, errors, joins


#: Sequence numbers an export may lack: (table, column) -> (SQL over the typed rows ``t`` and the
#: store's highest number so far ``e.m``, the join giving ``e``, how the load report says it).
SEQUENCES = {
    ("jumin", "rireki_no"): (
        "coalesce(e.m, 0) + row_number() OVER (PARTITION BY t.atena_no "
        "ORDER BY t.shori_date NULLS LAST, t.ido_date NULLS LAST, t._line)",
        "LEFT JOIN (SELECT atena_no, max(rireki_no) AS m FROM jumin GROUP BY atena_no) e ON e.atena_no = t.atena_no",
        "履歴番号 from the order of each person's records (処理年月日, 異動年月日, file order)"),
    ("honnin", "koshin_jun_no"): (
        "coalesce(e.m, 0) + row_number() OVER (ORDER BY t.time_stamp NULLS LAST, t._line)",
        "CROSS JOIN (SELECT max(koshin_jun_no) AS m FROM honnin) e",
        "更新順番号 from the time stamps (file order for ties)"),
}


def _sequences(lay: Layout, present: set) -> tuple[str, str, list[str]]:
    """SQL (REPLACE clause, joins) numbering what the export lacks, and how it is said."""
    replace, joins, said = [], [], []
    for (table, c), (expr, join, how) in SEQUENCES.items():
        if table == lay.table and c not in present:
            replace.append(f"CAST({expr} AS {lay.item(c).type}) AS {c}")
            joins.append(join)
            said.append(how)
    return (f" REPLACE ({', '.join(replace)})" if replace else ""), " ".join(joins), said


def _derive(con, typed: str, lay: Layout, present: set) -> list[str]:
    """What was derived while typing (address matches, sequences), as the load report says it."""
    done = []
    for c, a in FROM_ADDRESS.get(lay.table, {}).items():
        if c not in present and a in present:       # matched while typing (_address_map)
            n = con.execute(f"SELECT count(*) FROM {typed} WHERE {c} IS NULL AND {a} IS NOT NULL").fetchone()[0]
            done.append(f"{lay.item(c).name} from {lay.item(a).name} (the address names no 町丁字 in {n:,} rows: 不詳)")
    return done + _sequences(lay, present)[2]


def _duplicates(typed: str, lay: Layout, present: set) -> str:
    """SQL of (_line, reason) for rows that repeat a key (or, with a derived key, a whole record:
    rows are grouped by a hash of the record first, then compared in full within the few groups
    that share one)."""
    derived_key = [k for k in lay.key if k not in present]
    if derived_key:
        items = ", ".join(i.column for i in lay.items if i.column in present)
        return (f"SELECT _line, 'duplicate record in the file' AS _dup FROM (SELECT _line, row_number() OVER "
                f"(PARTITION BY {items} ORDER BY _line) AS k FROM {typed} WHERE hash({items}) IN "
                f"(SELECT hash({items}) FROM {typed} GROUP BY 1 HAVING count(*) > 1)) WHERE k > 1")
    key = ", ".join(lay.key)
    return (f"SELECT _line, CASE WHEN k > 1 THEN 'duplicate row key in the file' ELSE 'row key already in the table' END AS _dup "
            f"FROM (SELECT s._line, row_number() OVER (PARTITION BY {', '.join('s.' + k for k in lay.key)} ORDER BY s._line) AS k, "
            f"e.{lay.key[0]} IS NOT NULL AS clash FROM {typed} s LEFT JOIN (SELECT DISTINCT {key} FROM {lay.table}) e "
            f"USING ({key})) WHERE k > 1 OR clash")
