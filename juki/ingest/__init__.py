"""Reading a city's exports (:mod:`.load`, :mod:`.stage`, :mod:`.profiles`) and writing exports
for recipients (:mod:`.export`)."""
from .export import export  # noqa: F401
from .load import FileReport, LoadResult, load_files  # noqa: F401
