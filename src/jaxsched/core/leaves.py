"""User values to leaves and back: a real hyperparameter becomes one float array plus the low word
of the user's double, a step count an int32 array; ``show`` and ``host_real`` give them back as
written. Concrete values go through ``jaxsched._convert`` (the one validation path)."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

from jaxsched import _convert, _df


def is_traced(x) -> bool:
  """Whether any leaf of ``x`` is a tracer (inside ``jit``, ``vmap``, ``grad``, ...)."""
  return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def default_float():
  return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))  # float32, or float64 under x64


_HOST_LEAVES = contextvars.ContextVar("jaxsched_host_leaves", default=False)


@contextlib.contextmanager
def host_leaves():
  """Inside, construction keeps leaves as NumPy arrays (no transfer per leaf: ~30-80 us each).
  ``grid``/``sample`` build their settings this way and ``stack`` moves each batched leaf once."""
  token = _HOST_LEAVES.set(True)
  try:
    yield
  finally:
    _HOST_LEAVES.reset(token)


def leaf(x) -> jax.Array | np.ndarray:
  """A host (NumPy) value as a device leaf: a plain transfer, no compiled conversion program."""
  if _HOST_LEAVES.get():
    return np.asarray(x)
  return jax.device_put(np.asarray(x))


def is_device(x) -> bool:
  return isinstance(x, (jax.Array, jax.core.Tracer)) and not isinstance(x, np.ndarray)


def _one_array(x: Any) -> Any:
  """A list of traced scalars as one traced vector; any other value as it is."""
  return jnp.asarray(x) if isinstance(x, (list, tuple)) and is_traced(x) else x


def to_real(name: str, family: str, x: Any, rank: int) -> tuple[Any, Any]:
  """``(value, lo)``: the stored float array and the private low word of the user's double."""
  if isinstance(x, _df.DF):
    hi, lo = x
    if not is_traced(x):
      exact = _df.join_host(np.asarray(hi), np.asarray(lo))
      return to_real(name, family, exact, rank)
    return hi, jnp.broadcast_to(jnp.asarray(lo, hi.dtype), hi.shape)
  x = _one_array(x)
  if is_traced(x):
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
      raise TypeError(f"{family}: {name} must be a real number, got dtype {x.dtype}")
    dtype = (
      jnp.promote_types(x.dtype, default_float())
      if jnp.issubdtype(x.dtype, jnp.floating)
      else default_float()
    )
    x = x.astype(dtype)
    return x, jnp.zeros_like(x)
  dtype = default_float()
  if is_device(x) and jnp.issubdtype(x.dtype, jnp.floating):
    dtype = jnp.promote_types(x.dtype, dtype)
  host = _convert.host_real(family, name, np.asarray(x) if is_device(x) else x, rank, dtype=dtype)
  hi, lo = _df.split_host(host, dtype)
  return leaf(hi), leaf(lo)


def to_count(name: str, family: str, x: Any, rank: int) -> jax.Array | np.ndarray:
  x = _one_array(x)
  if is_traced(x):
    if jnp.issubdtype(x.dtype, jnp.floating):  # (a traced value is never a Python or NumPy bool)
      raise TypeError(f"{family}: {name} must be an integer step count, got a traced {x.dtype}")
    return x.astype(jnp.int32)
  host = _convert.host_count(family, name, np.asarray(x) if is_device(x) else x, rank)
  return leaf(host.astype(np.int32))


def _show(x) -> str:
  x = np.asarray(x)
  return repr(x.item()) if x.ndim == 0 else repr(x.tolist())


def _shortest(hi, lo) -> float:
  """The shortest decimal double that splits back to the very same (hi, lo) pair."""
  exact = float(_df.join_host(hi, lo))
  dtype = np.asarray(hi).dtype
  for digits in range(1, 18):
    candidate = float(f"{exact:.{digits}g}")
    c_hi, c_lo = _df.split_host(candidate, dtype)
    if c_hi == hi and c_lo == lo:
      return candidate
  return exact


def host_real(hi: Any, lo: Any) -> float | list:
  """A concrete real field as a Python float (or nested list), as the user would have written it."""
  hi, lo = np.asarray(hi), np.asarray(lo)
  if hi.ndim == 0:
    return _shortest(hi, lo)
  return [host_real(h, low) for h, low in zip(hi, lo, strict=True)]


def show(x) -> str:
  """A leaf for an error message: its value, or ``<traced>`` (checkify messages see tracers).
  A concrete real pair shows the shortest decimal that gives it back, as the user wrote it."""
  if is_traced(x):
    return "<traced>"
  if isinstance(x, _df.DF):
    return repr(host_real(x.hi, x.lo))
  return _show(x)


def isfinite(x):
  return jnp.isfinite(x) if is_device(x) else np.isfinite(np.asarray(x))
