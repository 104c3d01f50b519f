"""The registry of families: ``@family`` fills ``FAMILIES`` (name -> class) and runs the hooks
other modules add (flax serialization registers every new family this way)."""

from __future__ import annotations

from collections.abc import Callable

FAMILIES: dict[str, type] = {}
FAMILY_HOOKS: list[Callable[[type], None]] = []  # run on every new family


def composite(name: str):
  """A registered composite by name: arithmetic builds composites without importing their module."""
  return FAMILIES[name]
