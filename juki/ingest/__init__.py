"""Reading registry exports (encodings, era dates, quarantine) and writing them back."""
from .export import export  # noqa: F401
from .load import LoadReport, load  # noqa: F401
