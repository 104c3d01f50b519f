"""Plotting schedules with matplotlib (the ``plot`` extra: ``pip install "jaxsched[plot]"``).

matplotlib is imported only when a plot is drawn, so ``import jaxsched`` never needs it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jaxsched.batches import evaluate, unstack
from jaxsched.core import Schedule

if TYPE_CHECKING:  # matplotlib is optional (jaxsched[plot]) and imported when plot is called
  from matplotlib.axes import Axes

INSTALL_HINT = 'matplotlib is not installed; install the plot extra: pip install "jaxsched[plot]"'


def require_matplotlib():
  """Imports and returns matplotlib, or raises ImportError with the install command."""
  try:
    import matplotlib
  except ImportError as e:
    raise ImportError(INSTALL_HINT) from e
  return matplotlib


def plot(
  schedule: Schedule,
  steps: int | np.ndarray | Sequence[float],
  ax: Axes | None = None,
  label: str | Sequence[str] | None = None,
  **line_kwargs: Any,
) -> Axes:
  """Draws ``schedule(t)`` against ``t`` on ``ax`` and returns the matplotlib ``Axes``.

  - ``schedule``: one schedule, or a batch (``jaxsched.stack``/``grid``/``sample``, mixed batches
    of several families included), which draws one line per setting (row-major), labelled by
    default with each member's own ``repr``.
  - ``steps``: an int ``n`` for ``t = 0, 1, …, n − 1``, or a 1-D array of steps (ints, or floats
    for fractional steps).
  - ``ax``: the Axes to draw on; ``None`` uses ``matplotlib.pyplot.gca()``.
  - ``label``: ``None`` labels each line with its schedule's ``repr``; a string labels a single
    schedule's line (``"label[i]"`` for setting ``i`` of a batch); a list gives one label per setting.
  - ``line_kwargs`` go to ``Axes.plot`` (``color``, ``linestyle``, …).

  Call ``ax.legend()`` to show the labels; ``ax.set_yscale("log")`` for decays over decades.

  Formula: one line ``(t, schedule(t))`` per setting, ``t`` the given steps, all evaluated in one
  compiled call (``jaxsched.evaluate``).

  Peer: none built in; with optax or torch one plots by hand,
  ``plt.plot(steps, [schedule(t) for t in steps])`` (torch: stepping a scheduler and reading
  ``get_last_lr()`` each step).

  Args:
    schedule: a ``Schedule``, single or batched.
    steps: an int ``n`` (steps ``0..n − 1``) or a non-empty 1-D array of steps.
    ax: a matplotlib ``Axes``, or ``None`` for the current one.
    label: ``None``, a string, or a list of one string per setting; see above.
    line_kwargs: keyword arguments for every ``Axes.plot`` call.

  Returns:
    The ``Axes`` drawn on, with "step" and "learning rate" axis labels unless it had its own.

  >>> import jaxsched
  >>> from matplotlib.figure import Figure          # no GUI backend needed
  >>> ax = jaxsched.plot(jaxsched.cosine(0.1, 100), 100, ax=Figure().subplots(), label="cosine")
  >>> len(ax.lines), ax.lines[0].get_label(), ax.get_xlabel()
  (1, 'cosine', 'step')
  >>> batch = jaxsched.stack([jaxsched.cosine(0.1, 100), jaxsched.constant(0.05)])
  >>> ax = jaxsched.plot(batch, 100, ax=ax, label="lr", linestyle="--")
  >>> [line.get_label() for line in ax.lines]
  ['cosine', 'lr[0]', 'lr[1]']
  >>> print(f"{ax.lines[1].get_ydata()[50]:.6f}")    # half way down the cosine
  0.050000
  """
  if not isinstance(schedule, Schedule):
    raise TypeError(f"plot: expects a jaxsched.Schedule, got {type(schedule).__name__}")
  if isinstance(steps, numbers.Integral) and not isinstance(steps, bool):
    if steps < 1:
      raise ValueError(f"plot: steps must be >= 1, got {steps}")
    t = np.arange(int(steps))
  else:
    t = np.asarray(steps)
    if t.ndim != 1 or t.size == 0:
      raise ValueError(f"plot: steps must be an int or a non-empty 1-D array, got shape {t.shape}")
  require_matplotlib()
  values = np.asarray(evaluate(schedule, t)).reshape(-1, t.size)
  n = values.shape[0]
  if label is None:
    labels = [repr(s) for s in unstack(schedule)]
  elif isinstance(label, str):
    labels = [label] if not schedule.batch_shape else [f"{label}[{i}]" for i in range(n)]
  else:
    labels = [str(x) for x in label]
    if len(labels) != n:
      raise ValueError(f"plot: {len(labels)} labels for a batch of {n} settings")
  if ax is None:
    import matplotlib.pyplot as plt

    ax = plt.gca()
  for row, text in zip(values, labels, strict=True):
    ax.plot(t, row, label=text, **line_kwargs)
  if not ax.get_xlabel():
    ax.set_xlabel("step")
  if not ax.get_ylabel():
    ax.set_ylabel("learning rate")
  return ax
