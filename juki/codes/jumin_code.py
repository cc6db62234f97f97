"""住民票コード (11 digits: 10 digits + a check digit by a formula the minister sets).

The formula is not public, so only the 11-digit form is checked; no formula is invented
(hence no ``calc_check_digit`` here: the quality rules check the layout's format only).

>>> is_valid('12345678901')
True
>>> is_valid('1234567890')
False
>>> mask('12345678901')
'***********'
>>> mask_tail('12345678901')
'*******8901'
"""
import re

_FORM = re.compile(r"^[0-9]{11}$")


def compact(number: str) -> str:
    return str(number).replace(" ", "").replace("-", "")


def is_valid(number) -> bool:
    return bool(number) and bool(_FORM.match(compact(number)))


def mask(number) -> str:
    return "*" * 11 if number else ""


def mask_tail(number, keep: int = 4) -> str:
    """The last ``keep`` digits, to tell records apart on a reviewer's page."""
    s = str(number or "")
    return "*" * (len(s) - keep) + s[-keep:] if s else ""
