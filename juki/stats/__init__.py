"""Population statistics that never touch the individual number.

Everything here reads the de-identified analysis store (:mod:`juki.analysis`) only:
:class:`.stattable.StatTable` (tables, 不詳, units), :mod:`.suppression` (official tables),
:mod:`.ckm` (the cell-key method for ad-hoc tables), :mod:`.policy` (floors analysts cannot
lower), :mod:`.population` (stocks on a reference date), :mod:`.movements` (flows),
:mod:`.official` (the 総務省 annual survey, balanced, and the monthly 町丁字 table),
:mod:`.excel` (the survey's workbook), :mod:`.dp` (an optional OpenDP release) and
:mod:`.explore` (the analysts' explorer).
"""
