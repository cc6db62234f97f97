"""One data language above the store, and a house without import cycles.

* SQL text and ``duckdb.connect`` live only where DuckDB is the point (the store, loading and
  writing files, generation, the DDL the layouts render); everything else speaks ibis.  Modules
  not yet converted are listed by name in ``NOT_YET``: the list may only shrink (a module
  that no longer holds SQL must leave it), and no other module may start to hold SQL.
* The import graph, deferred (function-level) imports included, has no cycle.
"""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "juki"

#: Where raw DuckDB is the point: the store itself, reading CSV exports and writing files,
#: the generator's bulk writes, the layouts' DDL.
DUCKDB_ROOMS = {"store.py", "ingest/load.py", "ingest/stage.py", "ingest/export.py", "synth/build.py",
                "layouts/render.py", "codes/address.py", "bench.py"}
#: Still SQL text, to be turned into ibis (issue 22): the list may only shrink.
NOT_YET: set = set()
#: Cycles through deferred (function-level) imports, to be broken (issue 22): may only shrink.
KNOWN_CYCLES: list = []

SQL = re.compile(r"\b(SELECT|INSERT INTO|CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW)|ATTACH|COPY \(|DELETE FROM|UPDATE \w+ SET)\b")
CONNECT = re.compile(r"(?<!ibis\.)\bduckdb\.connect\(")


def _modules():
    return {p.relative_to(ROOT).as_posix(): p for p in sorted(ROOT.rglob("*.py"))}


def test_sql_text_and_duckdb_connect_only_where_duckdb_is_the_point():
    holding = set()
    for rel, p in _modules().items():
        text = p.read_text(encoding="utf-8")
        if SQL.search(text) or CONNECT.search(text):
            holding.add(rel)
    stray = holding - DUCKDB_ROOMS - NOT_YET
    assert not stray, f"SQL text or duckdb.connect outside the store and the loaders: {sorted(stray)} (write ibis)"
    converted = NOT_YET - holding
    assert not converted, f"no SQL left in {sorted(converted)}: take them off NOT_YET"


def test_the_rules_statistics_and_engine_speak_ibis_only():
    """The rooms issue 22 converted first stay converted (no entry in NOT_YET may come from here)."""
    for folder in ("quality", "stats", "codes"):
        for rel in _modules():
            if rel.startswith(folder + "/") and rel not in DUCKDB_ROOMS:
                assert rel not in NOT_YET, rel
    for rel in ("quality/rules.py", "quality/base.py", "quality/engine.py", "quality/review.py", "quality/outcome.py", "quality/display.py",
                "quality/drilldown.py", "engine.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert not SQL.search(text) and "duckdb" not in text.replace("DuckDB", "").replace('"duckdb"', "").lower() \
            or rel == "engine.py", rel


def _graph(top_only: bool) -> dict:
    mods = {}
    for rel, p in _modules().items():
        name = "juki." + rel[:-3].replace("/", ".")
        mods[name.removesuffix(".__init__")] = p
    g = {}
    for name, p in mods.items():
        pkg = name if p.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(p.read_text(encoding="utf-8"))
        nodes = tree.body if top_only else list(ast.walk(tree))
        deps = set()
        for n in nodes:
            if isinstance(n, ast.ImportFrom):
                base = pkg
                for _ in range(max(n.level - 1, 0)):
                    base = base.rsplit(".", 1)[0]
                mod = (f"{base}.{n.module}" if n.module else base) if n.level else n.module
                for a in n.names:
                    deps.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod)
            elif isinstance(n, ast.Import):
                deps.update(a.name for a in n.names)
        g[name] = {d for d in deps if d in mods and d != name}
    return g


def _cycles(g: dict) -> list[list[str]]:
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in g:
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_import_cycles():
    assert _cycles(_graph(top_only=True)) == []
    found = _cycles(_graph(top_only=False))
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, f"import cycles: {new}"
    gone = [c for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"broken cycles still listed in KNOWN_CYCLES: {gone}"


def test_test_files_follow_the_packages():
    """A package's tests live in ``tests/<package>/``; tests of top-level modules and of the whole
    house stay in ``tests/``.  A folder there that names no package of juki is a misplaced room."""
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name not in ("data", "__pycache__")}
    assert folders, "no package folders under tests/"
    assert not [f for f in folders if not (ROOT / f / "__init__.py").exists()], folders
    assert all((tests / f / "__init__.py").exists() for f in folders)
