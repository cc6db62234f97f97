"""町丁字 from address text: normalise, then the longest 町丁字 name the address starts with.

One definition in SQL (the loader runs it over millions of addresses inside DuckDB); the
Python :func:`town_of` runs the same SQL on one value, for the search and the tests.

Normalisation: full-width digits and dashes to ASCII, spaces removed, ヶ/ヵ to ケ, the
prefecture and city prefixes (千葉県, 松戸市) and a leading 大字/字 dropped, 丁目 in kanji
numerals turned into digits.  Then the longest town base (a 町域 name, or a 町丁字 name
without 丁目) that prefixes the address is taken; where that base has 丁目, the number right
after it (``3丁目``, ``3-``, ``3番``) picks the 町丁字.  An address that matches no base, or
names a 丁目 the base does not have, gives no code: statistics show it as 不詳.

>>> town_of("千葉県松戸市常盤平三丁目5番地の1")['name']
'常盤平三丁目'
>>> town_of("松戸市常盤平３－５－１")['name']
'常盤平三丁目'
>>> town_of("常盤平柳町12番地")['name']
'常盤平柳町'
>>> town_of("千葉県松戸市大字上本郷123")['name']
'上本郷'
>>> town_of("千葉県船橋市本町1丁目") is None
True
>>> town_of("常盤平99丁目") is None
True
"""
from __future__ import annotations

from functools import lru_cache

KANJI_NUMERALS = "一二三四五六七八九"
PREFIXES = ("千葉県", "松戸市")


def _kanji_to_int(s: str) -> int | None:
    """'三' -> 3, '十二' -> 12 (丁目 numbers)."""
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + KANJI_NUMERALS.index(s[1]) + 1
    if len(s) == 1:
        return KANJI_NUMERALS.index(s) + 1
    if s[1] == "十":
        return (KANJI_NUMERALS.index(s[0]) + 1) * 10 + (_kanji_to_int(s[2:]) or 0)
    return None


@lru_cache(maxsize=1)
def town_bases():
    """DataFrame (code, name, base, chome): one row per 町丁字, ``chome`` None when it has none."""
    import re

    from . import towns
    t = towns()[["code", "name", "choiki"]].copy()
    chome = []
    base = []
    for name, choiki in zip(t["name"], t["choiki"]):
        m = re.fullmatch(r"(.+?)([一二三四五六七八九十]+)丁目", name)
        if m and m.group(1) == choiki:
            base.append(choiki)
            chome.append(_kanji_to_int(m.group(2)))
        else:
            base.append(normalise_py(name))
            chome.append(None)
    t["base"] = [normalise_py(b) for b in base]
    t["chome"] = chome
    return t


def normalise_py(s: str) -> str:
    """The Python form of :func:`normalise_sql` for the table's own names (no prefixes there)."""
    return s.replace("ヶ", "ケ").replace("ヵ", "ケ")


def normalise_expr(col):
    """ibis: the normalised form of an address column (see the module doc)."""
    import ibis
    e = col.fill_null("").translate("０１２３４５６７８９－−‐―ヶヵ　 ", "0123456789----ケケ")
    for i, k in enumerate(KANJI_NUMERALS, start=1):
        e = e.replace(f"{k}丁目", f"{i}丁目")
    e = e.replace("十丁目", "10丁目")
    for p in PREFIXES:
        e = ibis.ifelse(e.startswith(p), e.substr(len(p)), e)
    return e.re_replace("^(大字|字)", "")


def normalise_sql(col: str) -> str:
    """DuckDB SQL of :func:`normalise_expr` over column ``col``, for the loader's address matching."""
    import ibis
    t = ibis.table({"__c": "string"}, name="__t")
    sql = str(ibis.to_sql(t.select(n=normalise_expr(t.__c)), dialect="duckdb"))
    body = sql.strip().split(" ", 1)[1] if sql.strip().startswith("SELECT ") else sql.strip().split("\n", 1)[1]
    return body.rsplit(' AS "n"', 1)[0].strip().replace('"t0"."__c"', col)


def match_sql(relation: str, id_col: str, text_col: str, bases: str = "__town_bases") -> str:
    """SQL giving (id, town_code) for every row of ``relation``; town_code NULL when unknown.

    ``bases`` names a relation (code, base, chome) -- :func:`register` creates it."""
    return f"""
    WITH a AS (SELECT {id_col} AS id, {normalise_sql(text_col)} AS n FROM ({relation}) r),
    lens AS (SELECT list(DISTINCT length(base)) AS ls FROM {bases}),
    pre AS (SELECT a.id, a.n, unnest(list_transform(lens.ls, l -> left(a.n, l))) AS p FROM a, lens),
    hit AS (
        SELECT pre.id, pre.n, b.base, max(length(b.base)) OVER (PARTITION BY pre.id) AS best
        FROM pre JOIN (SELECT DISTINCT base FROM {bases}) b ON b.base = pre.p
    ),
    pick AS (SELECT DISTINCT id, n, base FROM hit WHERE length(base) = best),
    num AS (
        SELECT id, base, TRY_CAST(regexp_extract(substr(n, length(base) + 1), '^([0-9]+)(丁目|-|番|の)', 1) AS INTEGER) AS chome
        FROM pick
    )
    SELECT a.id, (SELECT t.code FROM {bases} t WHERE t.base = num.base
                  AND (t.chome IS NULL OR t.chome = num.chome)
                  AND (t.chome IS NOT NULL OR NOT EXISTS (SELECT 1 FROM {bases} u WHERE u.base = num.base
                                                          AND u.chome IS NOT NULL)) LIMIT 1) AS town_code
    FROM a LEFT JOIN num ON num.id = a.id
    """


def register(con, name: str = "__town_bases") -> None:
    """Create the (code, base, chome) relation the match reads, in a DuckDB connection."""
    df = town_bases()[["code", "base", "chome"]].copy()
    df["chome"] = df["chome"].astype("Int64")
    con.register(f"{name}_df", df)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT code, base, chome::INTEGER AS chome FROM {name}_df")
    con.unregister(f"{name}_df")


def normalise(text: str) -> str:
    """The normalised form of one address text (:func:`normalise_sql`, run on the value)."""
    import duckdb
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT {normalise_sql('t')} FROM (SELECT ?::VARCHAR AS t)", [text]).fetchone()[0]
    finally:
        con.close()


def town_code(text: str | None) -> str | None:
    """The 町丁字 code an address names (the SQL definition, run on one value)."""
    if not text:
        return None
    import duckdb
    con = duckdb.connect()
    try:
        register(con)
        row = con.execute(match_sql("SELECT 1 AS id, ?::VARCHAR AS t", "id", "t"), [text]).fetchone()
        return row[1] if row else None
    finally:
        con.close()


def town_of(text: str | None) -> dict | None:
    """The 町丁字 row (code, name, choiki, postcode, branch ...) an address names, or None."""
    code = town_code(text)
    if code is None:
        return None
    from . import towns
    t = towns()
    return t.loc[t["code"] == code].iloc[0].to_dict()


# ---------------------------------------------------------------- municipality of an address

def register_municipalities(con, name: str = "__munis") -> None:
    """(code, prefix) of every municipality the code table knows: 都道府県名 + 市区町村名."""
    from . import municipalities
    m = municipalities().reset_index()
    df = m.assign(prefix=m["prefecture"] + m["name"])[["code", "prefix"]]
    con.register(f"{name}_df", df)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT code, prefix FROM {name}_df")
    con.unregister(f"{name}_df")


def municipality_of(texts, con=None):
    """ibis: (t, code) for the distinct address texts ``t`` of table ``texts``: the municipality
    (都道府県名 + 市区町村名, longest) each starts with; none for an address abroad or a
    municipality the table does not list (the same rule as :func:`municipality_match_sql`)."""
    import ibis

    from . import municipalities
    m = municipalities().reset_index()
    prefixes = sorted(set(m["prefecture"] + m["name"]))
    data = {"prefix": list(m["prefecture"] + m["name"]), "code": list(m["code"])}
    if con is None:
        munis = ibis.memtable(data)
    else:
        from ..engine import lookup
        munis = lookup(con, "juki_municipalities", data)
    d = texts.filter(texts.t.notnull()).select("t").distinct()
    bare = d.t.replace("　", "")
    cand = None
    for n in sorted({len(p) for p in prefixes}):
        part = d.select("t", pre=bare.substr(0, n))
        cand = part if cand is None else cand.union(part, distinct=False)
    hit = cand.join(munis, cand.pre == munis.prefix)
    return hit.group_by("t").aggregate(code=hit.code.argmax(hit.prefix.length()))


def municipality_match_sql(texts: str, munis: str = "__munis") -> str:
    """SQL of (t, code) for the distinct address texts ``t`` of relation ``texts``: the
    municipality (都道府県名 + 市区町村名, longest) each starts with; none for an address abroad or
    a municipality the table does not list."""
    return f"""
    WITH d AS (SELECT DISTINCT t FROM ({texts}) x WHERE t IS NOT NULL),
    lens AS (SELECT list(DISTINCT length(prefix)) AS ls FROM {munis}),
    p AS (SELECT d.t, unnest(list_transform(lens.ls, l -> left(replace(d.t, '　', ''), l))) AS pre FROM d, lens)
    SELECT p.t, arg_max(m.code, length(m.prefix)) AS code FROM p JOIN {munis} m ON m.prefix = p.pre GROUP BY p.t
    """
