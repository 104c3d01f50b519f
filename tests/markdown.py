"""Markdown whose code runs: the README (``test_readme.py``) and the site's pages (``test_docs.py``).

A page's ```python blocks run in order in one namespace, as a reader would paste them; the helpers
here find the blocks and the links, and run them.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\]\(((?!https?:|#|mailto:)[^)\s]+)\)")
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.S | re.M)  # fenced blocks and inline code
IMPORTED = re.compile(r"^\s*(?:import|from)\s+(\w+)", re.M)


def read(path: Path) -> str:
  return path.read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
  """The code of every ```python block, in order."""
  return PYTHON_BLOCK.findall(text)


def imported_modules(blocks: list[str]) -> set[str]:
  """The top-level modules the blocks import (to skip a page whose peer is not installed)."""
  return {name for code in blocks for name in IMPORTED.findall(code)}


def run_blocks(blocks: list[str], name: str) -> dict:
  """Runs the blocks in order in one fresh namespace and returns it."""
  namespace = {"__name__": f"__{name}__"}
  for i, code in enumerate(blocks):
    exec(compile(code, f"{name} python block {i + 1}", "exec", dont_inherit=True), namespace)
  return namespace


def uses_placeholders(code: str) -> bool:
  """Whether code outside its comments holds ``...``: a block must run as written, not elide."""
  without_comments = re.sub(r"#.*", "", code)
  return "..." in without_comments or "Ellipsis" in without_comments


def relative_links(text: str) -> list[str]:
  """Link targets that point into the repository (no URLs, no same-page anchors), without their
  ``#anchor``."""
  return [target.partition("#")[0] for target in LINK.findall(CODE.sub("", text))]


def load_hooks():
  """docs/hooks.py (the mkdocs hooks) as a module."""
  spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
  assert spec is not None and spec.loader is not None
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module
