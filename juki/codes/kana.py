"""Kana rules: katakana form checks and 清音化 (the search form of a reading).

清音化 drops 濁点/半濁点 and turns small kana into large ones, as the national standard's
fuzzy search does.

>>> seion('ガッコウ　タロウ')
'カツコウ　タロウ'
>>> seion('パピプペポ')
'ハヒフヘホ'
>>> is_katakana('ヤマダ　ハナコ'), is_katakana('やまだ')
(True, False)
>>> hira_to_kata('やまだ')
'ヤマダ'
"""
import re

#: 清音化: each kana of VOICED becomes the kana at the same place in PLAIN (also used in SQL
#: ``translate()`` by the quality rules and the search, so the rule exists once).
VOICED = "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォッャュョヮヵヶ"
PLAIN = "カキクケコサシスセソタチツテトハヒフヘホハヒフヘホウアイウエオツヤユヨワカケ"
_TABLE = str.maketrans(VOICED, PLAIN)
_KATA = re.compile(r"^[ァ-ヶー　]+$")


def seion(s: str) -> str:
    return s.translate(_TABLE)


def is_katakana(s: str) -> bool:
    return bool(s) and bool(_KATA.match(s))


def hira_to_kata(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in s)
