"""The API reference is the docstrings: every public name documents itself, and every example in
them runs.

- Each name in ``jaxsched.__all__`` has its own docstring; a callable's holds a doctest example
  (``>>>``) and an ``Args:`` (or, for a record type, ``Attributes:``) section with an entry
  ``name: meaning`` for every parameter of its signature. Plain data that cannot carry a
  docstring (``FAMILIES``, a dict) is documented, with a ``>>>`` example, in its module's docstring
  instead (``DOCUMENTED_IN_MODULE``).
- The doctests of every ``jaxsched`` module run here with ``doctest`` and must all pass (lines
  that need a peer library carry ``# doctest: +SKIP``). pytest's ``--doctest-modules`` is
  deliberately not switched on: it would import every module (``jaxsched.__main__`` runs the CLI)
  and every test path; this explicit test is the one place that runs them.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

import pytest

import jaxsched

# Data that cannot carry a docstring of its own (a plain dict), with the module whose docstring
# documents it instead: there, the name must appear in a ``>>>`` example.
DOCUMENTED_IN_MODULE = {"FAMILIES": "jaxsched.core"}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Modules whose examples need an optional extra: skipped, not failed, without it.
NEEDS = {"jaxsched.plotting": "matplotlib"}
# Imported as a module, ``jaxsched.__main__`` would run the CLI; it holds no docstrings to test.
MODULES = ["jaxsched"] + sorted(
  m.name
  for m in pkgutil.walk_packages(jaxsched.__path__, "jaxsched.")
  if m.name != "jaxsched.__main__"
)


def _own_doc(obj) -> str | None:
  """The docstring written for ``obj`` itself: not one inherited from a base class or a builtin
  type (a dict's), nor the signature line ``dataclasses``/``NamedTuple`` make up when none is
  written."""
  if inspect.isclass(obj) or inspect.isroutine(obj):
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
  else:  # an instance: documented by its (jaxsched) type
    kind = type(obj)
    doc = kind.__doc__ if kind.__module__.startswith("jaxsched") else None
  if not doc or not doc.strip():
    return None
  name = getattr(obj, "__name__", "")
  if inspect.isclass(obj) and re.fullmatch(rf"{re.escape(name)}\(.*\)", doc.strip(), re.S):
    return None  # made up by @dataclass / NamedTuple
  return inspect.cleandoc(doc)


def _parameters(obj) -> list[str]:
  try:
    signature = inspect.signature(obj)
  except (TypeError, ValueError):  # a builtin without a signature
    return []
  return [p.name for p in signature.parameters.values() if p.name not in ("self", "cls")]


def _sections(doc: str) -> str:
  """The text of the docstring's ``Args:``/``Attributes:`` sections (up to the next line that is
  not indented)."""
  out, inside = [], False
  for line in doc.splitlines():
    if re.fullmatch(r"(Args|Arguments|Attributes):\s*", line):
      inside = True
    elif inside and line.strip() and not line[0].isspace():
      inside = False
    elif inside:
      out.append(line)
  return "\n".join(out)


@pytest.mark.parametrize("name", jaxsched.__all__)
def test_public_name_is_documented(name):
  if name in DOCUMENTED_IN_MODULE:
    assert not callable(getattr(jaxsched, name)), f"{name} is callable: it takes its own docstring"
    module = importlib.import_module(DOCUMENTED_IN_MODULE[name])
    examples = [
      line
      for line in (module.__doc__ or "").splitlines()
      if line.lstrip().startswith(">>>") and name in line
    ]
    assert examples, f"{module.__name__}'s docstring has no >>> example using jaxsched.{name}"
    return
  obj = getattr(jaxsched, name)
  doc = _own_doc(obj)
  assert doc, f"jaxsched.{name} has no docstring of its own"
  if not callable(obj):
    return
  assert ">>>" in doc, f"jaxsched.{name}'s docstring has no doctest example (>>> lines)"
  params = _parameters(obj)
  if not params:
    return
  section = _sections(doc)
  assert section, f"jaxsched.{name}'s docstring has no Args: (or Attributes:) section"
  missing = [
    p for p in params if not re.search(rf"^\s+\**{re.escape(p)}( \([^)]*\))?:", section, re.M)
  ]
  assert not missing, (
    f"jaxsched.{name}'s Args: section has no 'name: meaning' entry for "
    f"{missing} (parameters: {params})"
  )


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests_pass(module_name):
  if module_name in NEEDS:
    pytest.importorskip(NEEDS[module_name])
  module = importlib.import_module(module_name)
  runner = doctest.DocTestRunner(optionflags=FLAGS)
  report: list[str] = []
  for test in doctest.DocTestFinder(exclude_empty=True).find(module, module_name):
    runner.run(test, out=report.append)
  result = runner.summarize(verbose=False)
  assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed:\n" + "".join(
    report
  )
