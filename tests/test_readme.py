"""The README is the front page: every ```python block runs, in order, in one namespace; the set-up
is the two commands; its links resolve and reach every page of the site. The detailed content
lives in docs/ and is checked by ``test_docs.py``."""

import re

import numpy as np

import jaxsched as js
from tests.markdown import (
  DOCS,
  ROOT,
  python_blocks,
  read,
  relative_links,
  run_blocks,
  uses_placeholders,
)

README = read(ROOT / "README.md")
BLOCKS = python_blocks(README)


def test_every_python_block_runs_in_order_in_one_namespace():
  assert BLOCKS, "the README has a tour"
  namespace = run_blocks(BLOCKS, "README")
  # a few results, checked against numbers worked out by hand
  assert namespace["lrs"].shape == (10_000,)
  assert namespace["curves"].shape == (4, 100)
  assert abs(float(namespace["curves"][1, 10]) / (0.1 * 0.99**10) - 1) < 1e-6
  assert float(namespace["s"](500)) == np.float32(3e-4)  # the peak after the warmup
  assert js.parse(repr(namespace["s"])) == namespace["s"]


def test_no_block_uses_ellipsis_placeholders():
  for code in BLOCKS:
    assert not uses_placeholders(code), code


def test_set_up_is_the_two_commands():
  setup = README[README.index("## Set up") : README.index("## A tour")]
  assert re.findall(r"```bash\n(.*?)\n```", setup, re.S) == [
    'pip install ".[plot]" && jaxsched sweep',
    'pip install ".[test]" && python -m pytest',
  ]


def test_links_resolve():
  for target in relative_links(README):
    assert (ROOT / target).exists(), f"README links {target}, which is not in the repository"


def test_links_every_page_of_the_site():
  linked = {(ROOT / t).resolve() for t in relative_links(README)}
  pages = [p for p in sorted(DOCS.glob("*.md")) if p.name not in ("index.md", "changelog.md")]
  pages.append(DOCS / "api" / "index.md")
  missing = [str(p.relative_to(ROOT)) for p in pages if p.resolve() not in linked]
  assert not missing, f"the README does not link {missing}"
