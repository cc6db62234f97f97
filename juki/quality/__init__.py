"""Data-quality rules over the three files (rules as data; SQL evaluated in DuckDB)."""
