"""Text normalisation shared by every room that compares Japanese text (one definition).

>>> squash("個人番号 ")
'個人番号'
>>> squash("外字数（氏名）") == squash("外字数(氏名)")
True
>>> squash("１２３　ア")
'123ア'
"""
from __future__ import annotations

import unicodedata


def nfkc(s: str) -> str:
    """Unicode NFKC: full-width digits and letters become ASCII, half-width kana full-width."""
    return unicodedata.normalize("NFKC", s)


def squash(s: str) -> str:
    """NFKC with every kind of space removed: the form item names and search terms compare in."""
    return "".join(nfkc(s).split())
