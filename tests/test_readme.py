"""The README's tour runs as written, and its family table lists every registered family."""
import os
import re

import jaxsched as js

README = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()


def test_tour_runs():
  tour = README[README.index("## A tour"):]
  code = re.search(r"```python\n(.*?)```", tour, re.S).group(1)
  namespace = {}
  exec(compile(code, "README tour", "exec"), namespace)
  assert namespace["curves"].shape == (4, 100)
  # d/dγ of 0.1·γ^100 at γ = 0.99, worked by hand: 0.1·100·0.99^99
  assert abs(float(namespace["d_gamma"]) / (0.1 * 100 * 0.99**99) - 1) < 1e-5


def test_every_family_is_documented():
  for name in js.FAMILIES:
    if name in ("scaled",):           # made by s * c, documented under arithmetic
      continue
    assert f"`{name}(" in README, f"README has no entry for {name}"
