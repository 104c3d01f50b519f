"""``jaxsched.custom``: a schedule from a pure function whose hyperparameters are leaves — the
answer to torch's ``LambdaLR``. It is vmappable, differentiable and accepted wherever a schedule
is; it has no config, because a function cannot be saved as data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import jax
from jax.typing import ArrayLike

from jaxsched.core import (
  RealLike,
  RealsLike,
  Schedule,
  family,
  function,
  host_real,
  is_traced,
  real,
  static,
)


@family("custom")
class Custom(Schedule):
  """``lr(t) = fn(t, **hyperparameters)``: the user's pure function of the step ``t`` (clamped,
  a float array of the result dtype).

  torch ``LambdaLR(opt, lambda k: f(k))`` with base lr ``b`` is
  ``custom(lambda t, b: b * f(t), b=b)`` when ``f`` is written with ``jax.numpy``. Made by
  ``jaxsched.custom``; its hyperparameters are one float leaf each (``s.hyperparameters``), so a
  batch of them vmaps and ``jax.grad`` reaches them. ``fn`` and the names are structure: the same
  function with new values never recompiles.
  """

  fn: Callable[..., Any] = function()
  names: tuple[str, ...] = static()
  values: RealsLike = real(rank=1)

  def formula(self, t: jax.Array) -> ArrayLike:
    return self.fn(t, **self.hyperparameters)

  @property
  def hyperparameters(self) -> dict[str, jax.Array]:
    """The hyperparameters by name, each an array (of the batch shape, in a batch)."""
    values = cast(jax.Array, self.values)  # a field holds an array
    return {name: values[..., i] for i, name in enumerate(self.names)}

  def __repr__(self):
    fn = getattr(self.fn, "__qualname__", None) or repr(self.fn)
    given = ", ".join(f"{n}={v}" for n, v in zip(self.names, self._shown(), strict=True))
    return f"custom({fn}{', ' if given else ''}{given})"

  def _shown(self):
    if self.batch_shape or is_traced(self):
      return ["<batched>" if self.batch_shape else "<traced>"] * len(self.names)
    return [repr(v) for v in cast(list, host_real(self.values, self.lo("values")))]  # rank 1

  def to_config(self) -> dict:
    raise TypeError(
      "custom: a schedule made of a Python function has no config (a function "
      "cannot be saved as data); save its hyperparameters and rebuild it with "
      "jaxsched.custom(fn, **hyperparameters)"
    )


def custom(fn: Callable[..., Any], **hyperparameters: RealLike) -> Custom:
  """A schedule ``fn(t, **hyperparameters)`` from a pure JAX function (torch ``LambdaLR``).

  Args:
    fn: a pure function of the step ``t`` (a float array of the result dtype, clamped into
      ``[0, 2^31−1]``) and the named hyperparameters, written with ``jax.numpy``.
    **hyperparameters: real scalars; each becomes a float leaf (traced, vmapped, differentiated).

  >>> import jax, jax.numpy as jnp
  >>> import jaxsched as js
  >>> s = js.custom(lambda t, base, rate: base / (1 + rate * t), base=0.1, rate=0.5)
  >>> print(f"{float(s(2)):.6g}")
  0.05
  >>> print(f"{float(jax.grad(lambda s: s(2))(s).values[1]):.6g}")   # d lr(2) / d rate
  -0.05
  """
  if not callable(fn):
    raise TypeError(f"custom: fn must be a callable, got {type(fn).__name__}")
  names = tuple(hyperparameters)
  return Custom(fn, names, [hyperparameters[n] for n in names])
