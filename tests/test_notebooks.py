"""The notebooks in colab/ run top to bottom in a real Jupyter kernel (nbclient), and are stored
without outputs.

Each notebook asserts its own results in its cells (a failing assert fails the run), and its first
code cell installs jaxsched only when it is not importable: here it is, so that cell does nothing.
"""

import glob
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

COLAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "colab")
NOTEBOOKS = sorted(glob.glob(os.path.join(COLAB, "*.ipynb")))


def test_the_notebooks_exist():
  assert [os.path.basename(p) for p in NOTEBOOKS] == [
    "migrating.ipynb",
    "quickstart.ipynb",
    "search.ipynb",
    "sweeps.ipynb",
  ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_stored_without_outputs_and_installs_only_when_missing(path):
  nb = nbformat.read(path, as_version=4)
  nbformat.validate(nb)
  code = [c for c in nb.cells if c.cell_type == "code"]
  for cell in code:
    assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, (
      f"{os.path.basename(path)}: strip the outputs before committing"
    )
  first = code[0].source
  assert "import jaxsched\nexcept ImportError:" in first and "%pip install" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_top_to_bottom(path, monkeypatch):
  monkeypatch.setenv("MPLBACKEND", "Agg")  # figures are drawn, never shown
  monkeypatch.setenv("KERAS_BACKEND", "jax")
  monkeypatch.delenv("XLA_FLAGS", raising=False)  # the notebooks must not rely on extra devices
  nb = nbformat.read(path, as_version=4)
  client = nbclient.NotebookClient(
    nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": COLAB}}
  )
  client.execute()  # raises CellExecutionError on any failure
  errors = [
    o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
  ]
  assert not errors
  text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
  if os.path.basename(path) == "sweeps.ipynb":  # the one-compile claim, as the notebook printed it
    assert "1 XLA compile (" in text
  if os.path.basename(path) == "search.ipynb":  # the searches ran and printed what they found
    assert "rung 4:  1 settings to step 81" in text and "from step   0: member" in text
