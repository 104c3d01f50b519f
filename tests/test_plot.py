"""Library plotting: ``jaxsched.plot`` (matplotlib from the ``plot`` extra)."""

import sys

import numpy as np
import pytest

import jaxsched as js

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402


def _ax():
  return Figure().subplots()


def test_plot_one_schedule():
  s = js.warmup_cosine(0.1, 10, 100)
  ax = js.plot(s, 120, ax=_ax())
  (line,) = ax.get_lines()
  np.testing.assert_array_equal(line.get_xdata(), np.arange(120))
  np.testing.assert_allclose(line.get_ydata(), js.evaluate(s, np.arange(120)), rtol=1e-6)
  assert line.get_label() == repr(s)
  assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"


def test_plot_a_batch_draws_one_line_per_setting():
  batch = js.grid(js.exponential, {"init_value": [0.1, 0.01], "gamma": [0.9, 0.99]})
  t = np.linspace(0, 20, 41)  # fractional steps too
  ax = js.plot(batch, t, ax=_ax(), label="exp")
  lines = ax.get_lines()
  assert [l.get_label() for l in lines] == ["exp[0]", "exp[1]", "exp[2]", "exp[3]"]
  for line, s in zip(lines, js.unstack(batch), strict=True):
    np.testing.assert_allclose(line.get_ydata(), js.evaluate(s, t), rtol=1e-6)
  ax = js.plot(batch, 5, ax=_ax(), label=list("abcd"), color="k")
  assert [l.get_label() for l in ax.get_lines()] == list("abcd")
  assert {l.get_color() for l in ax.get_lines()} == {"k"}
  with pytest.raises(ValueError, match="labels"):
    js.plot(batch, 5, ax=_ax(), label=["a"])


def test_plot_defaults_to_the_current_axes():
  import matplotlib.pyplot as plt

  plt.figure()
  try:
    ax = js.plot(js.constant(0.5), 3)
    assert ax is plt.gca()
  finally:
    plt.close("all")


def test_plot_bad_arguments():
  with pytest.raises(ValueError):
    js.plot(js.constant(0.5), 0, ax=_ax())
  with pytest.raises(TypeError):
    js.plot(lambda t: t, 5, ax=_ax())


def test_plot_without_matplotlib(monkeypatch):
  monkeypatch.setitem(sys.modules, "matplotlib", None)
  with pytest.raises(ImportError, match=r'pip install "jaxsched\[plot\]"'):
    js.plot(js.constant(0.5), 3)
