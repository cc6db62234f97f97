"""Running notebooks through Papermill and rendering self-contained HTML reports."""
from .runner import RunResult, run_notebook  # noqa: F401
