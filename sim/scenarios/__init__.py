"""The scenario library, shipped as package data: one TOML file per scenario.

``newpower run power_shift`` finds ``power_shift.toml`` here; a path still works.
"""

from pathlib import Path

#: The folder holding the library's ``.toml`` files.
LIBRARY = Path(__file__).resolve().parent


def names() -> list[str]:
    """The library's scenario names, sorted."""
    return sorted(path.stem for path in LIBRARY.glob("*.toml"))
