"""個人番号 (12-digit individual number), a thin layer over python-stdnum's ``jp.in_``.

The check digit rule (総務省令第85号 第5条) is python-stdnum's; this module only adds what
the workbench needs around it: vectorised generation for the synthetic city and masking.

>>> is_valid('621498320257')
True
>>> is_valid('621498320258')
False
>>> calc_check_digit('12345678901')
'8'
>>> mask('621498320257')
'********0257'
>>> mask(None)
''
"""
from stdnum.jp import in_ as _in

compact = _in.compact
calc_check_digit = _in.calc_check_digit
validate = _in.validate
is_valid = _in.is_valid
format = _in.format  # noqa: A001


def mask(number, keep: int = 4) -> str:
    """Show only the last ``keep`` digits (the usual screen masking)."""
    if not number:
        return ""
    s = str(number)
    return "*" * (len(s) - keep) + s[-keep:] if keep else "*" * len(s)


def from_base(base11: str) -> str:
    """Complete 11 base digits with their check digit."""
    return base11 + calc_check_digit(base11)


def check_digits_array(bases):
    """Vectorised check digits for an (n, 11) integer numpy array of base digits.

    Same rule as stdnum (weights 6,5,4,3,2,7,6,5,4,3,2; r = s mod 11; 0 if r <= 1 else 11 - r),
    used by the generator for 500,000 numbers at once; tests compare it with stdnum.
    """
    import numpy as np
    weights = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
    r = (bases * weights).sum(axis=1) % 11
    return np.where(r <= 1, 0, 11 - r)
