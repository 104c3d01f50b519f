"""The package as installed: the version written once (``jaxsched.__version__``, which setuptools
reads) is the one the metadata reports and the one CHANGELOG.md has a section for; the license and
``py.typed`` travel with it. (CI's build stage also compares the wheel's files with src/.)"""

import importlib.metadata
import inspect
import json
import re
import sys
from pathlib import Path

import jaxsched
from tests.markdown import ROOT, read

VERSION = jaxsched.__version__


def _distribution() -> importlib.metadata.Distribution:
  """The installed distribution. The checkout's root is on ``sys.path`` for ``tests`` only: a
  stale ``jaxsched.egg-info`` there (an in-tree build from before the src layout) is not it."""
  path = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
  return next(iter(importlib.metadata.distributions(name="jaxsched", path=path)))


def _editable() -> bool:
  direct_url = _distribution().read_text("direct_url.json")
  return bool(direct_url) and json.loads(direct_url).get("dir_info", {}).get("editable", False)


def test_the_installed_version_is_jaxsched_version():
  assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
  assert importlib.metadata.version("jaxsched") == VERSION
  assert _distribution().version == VERSION


def test_the_changelog_has_a_section_for_the_version():
  changelog = read(ROOT / "CHANGELOG.md")
  sections = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
  assert sections[0] == "Unreleased", "Keep a Changelog: Unreleased comes first"
  assert VERSION in sections, f"CHANGELOG.md has no section for {VERSION}"
  assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)


def test_the_license_and_py_typed_are_installed():
  metadata = _distribution().metadata
  assert metadata["License-Expression"] == "Apache-2.0"
  assert (Path(jaxsched.__file__).parent / "py.typed").is_file()
  if not _editable():  # a wheel: the license text sits in its .dist-info
    files = _distribution().files or []
    licenses = [f for f in files if f.name == "LICENSE"]
    assert licenses, "the LICENSE file is not in the installed distribution"
    assert licenses[0].read_text() == read(ROOT / "LICENSE")


def test_the_console_script_is_declared():
  scripts = importlib.metadata.entry_points(group="console_scripts")
  assert [e.value for e in scripts if e.name == "jaxsched"] == ["jaxsched_launcher:main"]


def _public_callables():
  """Every function in ``jaxsched.__all__``, and the public methods the classes there define."""
  for name in jaxsched.__all__:
    obj = getattr(jaxsched, name)
    if inspect.isfunction(obj):
      yield name, obj
    elif inspect.isclass(obj):
      for attr, member in vars(obj).items():
        if inspect.isfunction(member) and not attr.startswith("_"):
          yield f"{name}.{attr}", member


def test_the_public_api_is_annotated():
  """py.typed promises types: every parameter of every public callable, and its return, carries
  an annotation (a user's family is checked by its author's own checker, not here)."""
  missing = []
  for name, fn in _public_callables():
    sig = inspect.signature(fn)
    bare = [
      p.name
      for p in sig.parameters.values()
      if p.annotation is inspect.Parameter.empty and p.name not in ("self", "cls")
    ]
    if bare or sig.return_annotation is inspect.Signature.empty:
      missing.append((name, bare, sig.return_annotation is inspect.Signature.empty))
  assert len(list(_public_callables())) > 50  # the walk found them (77 when written)
  assert not missing, missing
