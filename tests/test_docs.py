"""The documentation site (docs/, mkdocs.yml): every ```python block of every page runs, in order,
in one namespace per page; the pages cover what they promise (every family, composite and public
name); the plots that docs/hooks.py draws at build time cover every family.

``mkdocs build --strict`` (CI's docs stage) checks the rest: links, anchors, the nav, the
docstrings' rendering.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

import jaxsched as js
from jaxsched import core
from tests.markdown import (
  DOCS,
  ROOT,
  imported_modules,
  load_hooks,
  python_blocks,
  read,
  relative_links,
  run_blocks,
  uses_placeholders,
)

PAGES = sorted(DOCS.glob("**/*.md"))
WITH_CODE = [p for p in PAGES if python_blocks(read(p))]
API_PAGES = sorted((DOCS / "api").glob("*.md"))
OWN = {name: cls for name, cls in js.FAMILIES.items() if cls.__module__.startswith("jaxsched.")}
FAMILIES = sorted(name for name, cls in OWN.items() if not core.is_composite(cls))
COMPOSITES = sorted(name for name, cls in OWN.items() if core.is_composite(cls))


def _name(path):
  return str(path.relative_to(DOCS))


def _page(name: str) -> str:
  return read(DOCS / name)


def _run(path, monkeypatch) -> dict:
  monkeypatch.setenv("KERAS_BACKEND", "jax")  # Keras 3 (the converters page) on JAX
  monkeypatch.setenv("MPLBACKEND", "Agg")
  blocks = python_blocks(read(path))
  for module in sorted(imported_modules(blocks)):  # a peer (torch, keras, flax) may be missing
    if importlib.util.find_spec(module) is None:
      pytest.skip(f"{_name(path)} needs {module}")
  return run_blocks(blocks, _name(path))


@pytest.mark.parametrize("path", WITH_CODE, ids=_name)
def test_every_python_block_runs_in_order_in_one_namespace(path, monkeypatch):
  _run(path, monkeypatch)


def test_the_sweeps_page_computes_what_it_says(monkeypatch):
  namespace = _run(DOCS / "sweeps.md", monkeypatch)
  # numbers worked out by hand
  assert namespace["curves"].shape == (4, 100)
  assert abs(float(namespace["curves"][1, 10]) / (0.1 * 0.99**10) - 1) < 1e-6
  assert namespace["losses"].shape == (9, 200)
  assert len(namespace["search"]) == 16 and len(namespace["by_family"]) == 9
  # random search over a static choice, and a grid over family: one mixed batch each
  assert {m.decay_shape for m in js.unstack(namespace["search"])} == {"linear", "cosine"}
  assert {m.family for m in js.unstack(namespace["by_family"])} >= {"cosine", "wsd"}
  assert namespace["best"] in js.unstack(namespace["by_family"])


def test_some_pages_have_code():
  assert {_name(p) for p in WITH_CODE} >= {
    "families.md",
    "composition.md",
    "optax.md",
    "sweeps.md",
    "search.md",
    "converters.md",
    "hypergradients.md",
    "extending.md",
    "guarantees.md",
  }


@pytest.mark.parametrize("path", WITH_CODE, ids=_name)
def test_no_block_uses_ellipsis_placeholders(path):
  for code in python_blocks(read(path)):
    assert not uses_placeholders(code), code


def test_every_family_is_documented_with_its_curve():
  page = _page("families.md")
  hooks = load_hooks()
  for name in FAMILIES:
    assert f"`{name}(" in page, f"docs/families.md has no entry for {name}"
    assert f"](plots/{name}.png)" in page, f"docs/families.md shows no curve of {name}"
    assert name in hooks.EXAMPLES, f"docs/hooks.py draws no curve of {name}"


def test_every_composite_is_documented():
  page = _page("composition.md")
  for name in COMPOSITES:  # scaled, sum and offset are named beside the arithmetic that builds them
    assert f"`{name}(" in page or f"(`{name}`" in page, f"docs/composition.md has no {name}"


def test_the_command_line_page_lists_what_jaxsched_families_prints():
  page = _page("cli.md")
  bullet = page[page.index("- `families`") :].split("\n- ")[0]
  for name in COMPOSITES:
    assert f"`{name}`" in bullet, f"docs/cli.md: `jaxsched families` also lists {name}"


def test_every_plot_is_drawn_and_every_drawn_plot_shown():
  hooks = load_hooks()
  shown = set(re.findall(r"\]\(plots/(\w+)\.png\)", "".join(read(p) for p in PAGES)))
  assert shown == set(hooks.EXAMPLES)
  png = hooks.render("constant")
  assert png.startswith(b"\x89PNG")
  for name in hooks.EXAMPLES:  # every SPEC in a legend parses (drawing them all is the build's)
    steps, curves = hooks.curves(name)
    assert steps > 0 and all(isinstance(s, js.Schedule) for _, s in curves)


def _documented(name: str, text: str) -> bool:
  return bool(
    re.search(rf"^::: jaxsched\.{name}$", text, re.M)
    or re.search(rf'^\s+heading: "jaxsched\.{name}"$', text, re.M)
    or re.search(rf"^#+ `jaxsched\.{name}`", text, re.M)
  )


def test_the_api_reference_has_every_public_name():
  text = "\n".join(read(p) for p in API_PAGES)
  missing = [name for name in js.__all__ if not _documented(name, text)]
  assert not missing, f"docs/api/*.md documents none of {missing} (add a ::: jaxsched.NAME entry)"


def test_the_api_reference_names_only_public_names():
  text = "\n".join(read(p) for p in API_PAGES)
  for name in re.findall(r"^::: jaxsched\.(\w+)$", text, re.M):
    assert name in js.__all__, f"docs/api documents jaxsched.{name}, which is not in __all__"


def test_the_front_page_is_the_readme_with_links_into_the_site():
  hooks = load_hooks()
  assert read(DOCS / "index.md").strip() == hooks.README_MARKER
  page = hooks._readme_for_the_site(read(ROOT / "README.md"))
  for target in relative_links(page):
    where = ROOT if target.startswith("colab/") else DOCS  # the notebooks: see docs/hooks.py
    assert (where / target).exists(), f"the front page links {target}, which the site lacks"


def test_every_page_links_into_the_site():
  for path in PAGES:
    for target in relative_links(read(path)):
      if target.startswith("plots/"):  # drawn at build time
        continue
      # docs/hooks.py adds the notebooks at their repository path, colab/
      where = ROOT if target.startswith("colab/") else path.parent
      assert (where / target).exists(), f"{_name(path)} links {target}, which is missing"


def test_the_notebooks_on_the_site_are_the_colab_notebooks():
  notebooks = load_hooks().NOTEBOOKS
  assert notebooks == sorted((ROOT / "colab").glob("*.ipynb")) and notebooks
  nav = read(ROOT / "mkdocs.yml")
  for path in notebooks:
    assert f"colab/{path.name}" in nav, f"mkdocs.yml's nav lacks {path.name}"


def test_numbers_on_the_command_line_page_come_from_the_results():
  page, results = _page("cli.md"), read(ROOT / "benchmarks" / "RESULTS.md")
  seconds = re.findall(r"(\d+\.\d) s", page[page.index("- `sweep`") : page.index("- `plot`")])
  assert seconds, "the main job's time"
  for value in seconds:
    assert f"{value} s" in results, f"docs/cli.md says {value} s; benchmarks/RESULTS.md does not"
