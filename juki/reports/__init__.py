"""Running notebooks through Papermill and rendering self-contained HTML reports."""
from .runner import RunResult, notebook_parameters, run_dir, run_notebook  # noqa: F401
from . import summary  # noqa: F401,E402
