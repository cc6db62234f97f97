import json
import re
import unicodedata
from pathlib import Path

import duckdb
import pytest

from juki.layouts import CLASSES, LAYOUTS, get, render

BETTEN2 = Path(__file__).resolve().parents[1] / "data" / "betten2.txt"


def _norm(s):
    return "".join(unicodedata.normalize("NFKC", s).split())


def betten2_lists():
    """The three item lists of 別添2 as copied from the PIA: {file name: [item names]}."""
    lines = BETTEN2.read_text(encoding="utf-8").splitlines()
    out = {}
    for head, body in zip(lines[0::2], lines[1::2]):
        name = re.sub(r"^\(\d\)\s*", "", head).strip()
        items = [re.sub(r"^\d+\.\s*", "", x).strip() for x in body.split("、")]
        out[name] = items
    return out


def test_item_counts():
    assert [len(lay.items) for lay in LAYOUTS.values()] == [48, 36, 61]


@pytest.mark.parametrize("table", list(LAYOUTS))
def test_names_equal_betten2(table):
    lay = LAYOUTS[table]
    expected = betten2_lists()[lay.file]
    assert [_norm(i.name) for i in lay.items] == [_norm(x) for x in expected]
    assert [i.no for i in lay.items] == list(range(1, len(expected) + 1))


@pytest.mark.parametrize("table", list(LAYOUTS))
def test_columns_are_unique_snake_case_and_key_exists(table):
    lay = LAYOUTS[table]
    cols = lay.columns
    assert len(cols) == len(set(cols))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in cols)
    assert all(k in cols for k in lay.key) and len(lay.key) >= 2
    assert all(i.sensitivity in CLASSES for i in lay.all_columns)


def test_individual_number_is_classed_and_identifying():
    for lay in LAYOUTS.values():
        nums = [i for i in lay.items if _norm(i.name) == "個人番号"]
        assert all(i.sensitivity == "individual_number" and i.identifying for i in nums)
    assert get("jumin").item("conveni_pin_hash").sensitivity == "secret"


def test_applies_predicates_and_formats_are_valid_sql(tmp_path):
    con = duckdb.connect()
    for lay in LAYOUTS.values():
        con.execute(render.ddl(lay))
        for i in lay.all_columns:
            if i.applies:
                con.execute(f"SELECT count(*) FROM {lay.table} WHERE {i.applies}")
            if i.format:
                re.compile(i.format)
                con.execute(f"SELECT regexp_full_match('x', '{i.format}')")


def test_code_tables_referenced_exist():
    from juki import codes
    for lay in LAYOUTS.values():
        for i in lay.all_columns:
            if i.code:
                assert codes.rows(i.code), (lay.table, i.column, i.code)


def test_json_shape():
    data = json.loads(render.as_json())
    assert [d["table"] for d in data] == ["jumin", "honnin", "sofusaki"]
    for d in data:
        assert set(d) >= {"file", "table", "key", "items"}
        for it in d["items"]:
            assert set(it) >= {"no", "name", "column", "type", "class", "nullable"}
            assert isinstance(it["no"], int) and isinstance(it["nullable"], bool)


def test_markdown_lists_every_item():
    md = render.as_markdown()
    for lay in LAYOUTS.values():
        assert lay.file in md
        for i in lay.items:
            assert f"| {i.name} |" in md


def test_generated_docs_are_current():
    doc = Path(__file__).resolve().parents[2] / "docs" / "layouts.md"
    assert doc.read_text(encoding="utf-8") == render.as_markdown(), "run: juki layouts --format markdown > docs/layouts.md"
