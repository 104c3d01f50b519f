"""Every ```python block of the README runs, in order, in one namespace; its family table lists
every registered family; the set-up is the two commands."""

import os
import re

import matplotlib
import pytest

import jaxsched as js

matplotlib.use("Agg")
README = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.S | re.M)


def test_every_python_block_runs_in_order_in_one_namespace(monkeypatch):
  monkeypatch.setenv("KERAS_BACKEND", "jax")
  for peer in ("torch", "keras", "flax"):  # the converter and checkpoint blocks use them
    pytest.importorskip(peer)
  assert len(BLOCKS) >= 10
  namespace = {"__name__": "__readme__"}
  for i, code in enumerate(BLOCKS):
    exec(compile(code, f"README python block {i + 1}", "exec"), namespace)
  # a few results, checked against numbers worked out by hand
  assert namespace["curves"].shape == (4, 100)
  assert abs(float(namespace["curves"][1, 10]) / (0.1 * 0.99**10) - 1) < 1e-6
  assert namespace["losses"].shape == (9, 200)
  assert len(namespace["search"]) == 16 and len(namespace["by_family"]) == 9
  # random search over a static choice, and a grid over family: one mixed batch each
  assert {m.decay_shape for m in js.unstack(namespace["search"])} == {"linear", "cosine"}
  assert {m.family for m in js.unstack(namespace["by_family"])} >= {"cosine", "wsd"}
  assert namespace["best"] in js.unstack(namespace["by_family"])


def test_no_block_uses_ellipsis_placeholders():
  for code in BLOCKS:
    without_comments = re.sub(r"#.*", "", code)
    assert "..." not in without_comments and "Ellipsis" not in without_comments, code


def test_set_up_is_the_two_commands():
  setup = README[README.index("## Set up") : README.index("## A tour")]
  assert re.findall(r"```bash\n(.*?)\n```", setup, re.S) == [
    'pip install ".[plot]" && jaxsched sweep',
    'pip install -e ".[test]" && python -m pytest',
  ]


def test_every_family_is_documented():
  for name, cls in js.FAMILIES.items():
    if name in ("scaled", "offset", "sum", "mixed"):  # made by s * c, s + c, s1 + s2 and stack
      continue
    if not cls.__module__.startswith("jaxsched."):  # a user's family (README, test examples)
      continue
    assert f"`{name}(" in README, f"README has no entry for {name}"
