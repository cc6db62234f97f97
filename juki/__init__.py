"""juki — an analytical workbench for a Japanese city's resident registry (住民基本台帳).

Rooms (one job each): :mod:`juki.layouts` (the three files as data), :mod:`juki.codes` (code
tables and number formats), :mod:`juki.synth` (the synthetic city), :mod:`juki.store` (DuckDB
through ibis), :mod:`juki.privacy` (sensitivity classes enforced), :mod:`juki.stats`
(statistics), :mod:`juki.reports` (Papermill runner, HTML), :mod:`juki.cli` (the command).
"""
__version__ = "0.1.0"
