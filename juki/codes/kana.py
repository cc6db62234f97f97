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

_VOICED = str.maketrans(
    "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォッャュョヮヵヶ",
    "カキクケコサシスセソタチツテトハヒフヘホハヒフヘホウアイウエオツヤユヨワカケ",
)
_KATA = re.compile(r"^[ァ-ヶー　]+$")


def seion(s: str) -> str:
    return s.translate(_VOICED)


def is_katakana(s: str) -> bool:
    return bool(s) and bool(_KATA.match(s))


def hira_to_kata(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in s)
