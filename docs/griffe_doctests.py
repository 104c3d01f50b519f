"""A griffe extension (mkdocs.yml: mkdocstrings' ``extensions``) that shows the docstrings'
doctest examples as Python console code.

jaxsched's docstrings hold their examples as plain ``>>>`` lines (``tests/test_api_docs.py`` runs
them), outside any ``Examples:`` section. Markdown would read them as nested quotes and their
outputs (``[0.1 0.05]``) as links, so each run of ``>>>`` lines, with its continuation and output
lines up to the next blank line, is fenced as ``pycon`` here; doctest flags (``# doctest: +SKIP``)
are dropped from what is shown. The source is not changed.
"""

from __future__ import annotations

import re

import griffe

FLAGS = re.compile(r"\s*#\s*doctest:.*$")


def fence_doctests(text: str) -> str:
  lines, out, i, fenced = text.splitlines(), [], 0, False
  while i < len(lines):
    line = lines[i]
    stripped = line.lstrip()
    if stripped.startswith("```"):
      fenced = not fenced
    if fenced or not stripped.startswith(">>>"):
      out.append(line)
      i += 1
      continue
    indent = line[: len(line) - len(stripped)]
    if out and out[-1].strip():
      out.append("")
    out.append(f"{indent}```pycon")
    while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
      out.append(FLAGS.sub("", lines[i]))
      i += 1
    out.append(f"{indent}```")
  return "\n".join(out)


def _walk(obj: griffe.Object, seen: set[int]) -> None:
  if id(obj) in seen:
    return
  seen.add(id(obj))
  if obj.docstring is not None and ">>>" in obj.docstring.value:
    obj.docstring.value = fence_doctests(obj.docstring.value)
  for member in obj.members.values():
    if not member.is_alias:
      _walk(member, seen)


class DoctestBlocks(griffe.Extension):
  def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
    _walk(pkg, set())
