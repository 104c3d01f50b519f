"""The notebooks in colab/ run top to bottom (code cells only; shell/magic lines are Colab set-up)."""
import glob
import json
import os

import matplotlib
import pytest

matplotlib.use("Agg")
NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "colab", "*.ipynb")))


def test_there_is_a_notebook():
  assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_top_to_bottom(path):
  cells = json.load(open(path))["cells"]
  namespace = {"__name__": "__notebook__"}
  for i, cell in enumerate(cells):
    if cell["cell_type"] != "code":
      continue
    source = "".join(line for line in cell["source"] if not line.lstrip().startswith(("!", "%")))
    exec(compile(source, f"{os.path.basename(path)} cell {i}", "exec"), namespace)
  assert namespace["losses"].shape == (12, 300)
  assert float(namespace["state"][1].scale) == 0.25
