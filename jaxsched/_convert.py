"""Host-side conversion of concrete user values: one place that turns what a user typed into float64
or int64 NumPy arrays, or raises a ``TypeError``/``ValueError`` that names the field.

The core splits the float64 result into the stored float leaf and its private ``lo`` word (the
user's exact double), derives per-setting constants from it on the host and validates ranges on it,
so nothing here (or there) dispatches device work.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

INT32_MAX = 2**31 - 1


def _reject_kind(family: str, name: str, x, what: str):
  if isinstance(x, (bool, np.bool_, str, bytes)) or x is None:
    raise TypeError(f"{family}: {name} must be {what}, got {x!r}")


def _check_rank(family: str, name: str, host: np.ndarray, rank: int):
  if host.ndim != rank:
    kind = "a scalar" if rank == 0 else "a 1-D sequence"
    raise ValueError(f"{family}: {name} must be {kind}, got shape {host.shape}")


def host_real(family: str, name: str, x, rank: int) -> np.ndarray:
  """``x`` as a float64 array of rank ``rank`` (Python floats are exact doubles)."""
  _reject_kind(family, name, x, "a real number")
  try:
    host = np.asarray(x)
  except (TypeError, ValueError):
    raise TypeError(f"{family}: {name} must be a real number, got {x!r}") from None
  if host.dtype.kind not in "iuf" and not jnp.issubdtype(host.dtype, jnp.floating):  # bf16: kind V
    raise TypeError(f"{family}: {name} must be a real number, got {x!r}")
  _check_rank(family, name, host, rank)
  return host.astype(np.float64)


def host_count(family: str, name: str, x, rank: int) -> np.ndarray:
  """``x`` as an int64 array of whole numbers in ``[0, 2^31-1]`` of rank ``rank``."""
  _reject_kind(family, name, x, "a non-negative integer step count")
  try:
    host = np.asarray(x)
  except (TypeError, ValueError):
    raise TypeError(f"{family}: {name} must be a non-negative integer step count, got {x!r}") from None
  if host.dtype.kind not in "iuf":
    raise TypeError(f"{family}: {name} must be a non-negative integer step count, got {x!r}")
  if host.dtype.kind == "f":
    if not np.all(np.isfinite(host)) or not np.all(host == np.round(host)):
      raise ValueError(f"{family}: {name} must be a non-negative integer step count, got {x!r}")
  if np.any(host < 0) or np.any(host > INT32_MAX):
    shown = repr(host.item()) if host.ndim == 0 else repr(host.tolist())
    raise ValueError(f"{family}: {name} must be an integer in [0, 2^31-1], got {shown}")
  _check_rank(family, name, host, rank)
  return host.astype(np.int64)
