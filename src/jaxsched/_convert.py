"""One validation path for concrete user values: every constructor, ``from_config``,
``reduce_on_plateau`` and the CLI turn hyperparameters into host arrays here (README, "Bad input").

The rules, written once:

- numbers only: complex numbers, strings and bytes (also NumPy string arrays and lists of
  strings), booleans (``True``, ``np.bool_``, ``np.array(True)``), ``None`` and other objects are a
  ``TypeError`` that names the field;
- a real value must be finite and representable in the float dtype it will be stored in (float32
  unless ``jax_enable_x64``): values that overflow it (``1e300``, ``2**1024``) or underflow it
  (nonzero values below its smallest normal, ``1e-40``) are a ``ValueError`` that names the field and
  shows the value *as the user wrote it* (not its float32 rounding); never a bare ``OverflowError``;
- a step count is a whole number in ``[0, 2^31-1]`` (``ValueError`` otherwise, huge ints included);
- a static flag is exactly ``True``/``False`` (``np.bool_`` too: it is a bool, not a number; ``1`` is
  not), and a mode string is one of its choices (``ValueError`` listing them).

Values that are already traced (inside ``jit``/``vmap``) are not concrete and never come here:
the checked mode (``jaxsched.validate``) covers them.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.core
import numpy as np

INT32_MAX = 2**31 - 1

_STRINGS = (str, bytes, np.str_, np.bytes_)
_BOOLS = (bool, np.bool_)
_COMPLEX = (complex, np.complexfloating)


def written(v) -> str:
  """One scalar as the user wrote it: Python floats by their shortest repr, NumPy scalars in their
  own dtype (``np.float32(1e-40)`` shows ``1e-40``), huge ints shortened to a readable excerpt."""
  if isinstance(v, np.ndarray) and v.ndim == 0:
    v = v[()]
  if isinstance(v, _STRINGS) or v is None or isinstance(v, _BOOLS):
    return repr(v.item() if isinstance(v, np.generic) else v)
  if isinstance(v, int):
    s = str(v)
    return s if len(s) <= 24 else f"{s[:12]}...{s[-4:]} (an integer of {len(s.lstrip('-'))} digits)"
  if isinstance(v, (float, np.generic)):
    return str(v)
  text = repr(v)
  return text if len(text) <= 80 else text[:77] + "..."


def _where(name: str, index) -> str:
  return name if index is None else f"{name}[{index}]"


def _kind_words(kind: str) -> str:
  """The kind of number a field holds, in words: "real", or a count's own words."""
  return "a real number" if kind == "real" else kind


def _scalars(family: str, name: str, x, rank: int, kind: str):
  """The leaves of a (nested) Python sequence, checked for type and depth without recursion:
  ``np.asarray`` would turn ``[True, 2]`` into ``[1, 2]``, ``["0.1"]`` into text and ``[1, 2**70]``
  into objects, so each element is judged on its own first. Returns the flat list of leaves."""
  flat: list = []
  stack: list[tuple[Any, int, int | None]] = [(x, 0, None)]
  while stack:
    v, depth, index = stack.pop()
    if isinstance(v, (list, tuple)):
      if depth >= rank:
        shape = "a scalar" if rank == 0 else "a 1-D sequence"
        got = "a sequence" if rank == 0 else "a nested sequence"
        raise ValueError(f"{family}: {name} must be {shape}, got {got}")
      stack.extend((e, depth + 1, i) for i, e in reversed(list(enumerate(v))))
      continue
    flat.append(v)
    where = _where(name, index)
    if isinstance(v, jax.core.Tracer):
      raise TypeError(f"{family}: {where} must be a concrete number here, got a traced value")
    if v is None or isinstance(v, _BOOLS) or isinstance(v, _STRINGS) or isinstance(v, _COMPLEX):
      what = (
        "None"
        if v is None
        else "a bool"
        if isinstance(v, _BOOLS)
        else "a string"
        if isinstance(v, _STRINGS)
        else "a complex number"
      )
      raise TypeError(
        f"{family}: {where} must be {_kind_words(kind)}, not {what}; got {written(v)}"
      )
    if isinstance(v, (np.ndarray, jax.Array)) and np.ndim(v) + depth > rank:
      shape = "a scalar" if rank == 0 else "a 1-D sequence"
      raise ValueError(f"{family}: {name} must be {shape}, got shape {np.shape(x)}")
  return flat


def _host_array(
  family: str, name: str, x, rank: int, kind: str, dtype: Any = np.float64
) -> tuple[np.ndarray, list | None]:
  """``(array, leaves)``: the value as a NumPy array of a real dtype, and the leaves as written."""
  if isinstance(x, jax.core.Tracer):
    raise TypeError(f"{family}: {name} must be a concrete number here, got a traced value")
  if isinstance(x, (np.ndarray, jax.Array, np.generic)):
    arr = np.asarray(x)
    leaves = None
  else:
    leaves = _scalars(family, name, x, rank, kind)
    if kind != "real":
      for i, v in enumerate(leaves):
        if isinstance(v, int) and not 0 <= v <= INT32_MAX:
          where = _where(name, i if rank and isinstance(x, (list, tuple)) else None)
          raise ValueError(f"{family}: {where} must be an integer in [0, 2^31-1], got {written(v)}")
    else:
      for i, v in enumerate(leaves):
        if isinstance(v, int):
          try:
            float(v)
          except OverflowError:
            where = _where(name, i if rank and isinstance(x, (list, tuple)) else None)
            raise ValueError(f"{family}: {where} {_overflow(dtype, written(v))}") from None
    try:
      arr = np.asarray(x)
    except (TypeError, ValueError, OverflowError):
      raise TypeError(
        f"{family}: {name} must be {_kind_words(kind)}"
        f"{'' if rank == 0 else ' or a 1-D sequence of them'}, got "
        f"{written(x)}"
      ) from None
  dtype = arr.dtype
  if dtype.kind == "b":
    raise TypeError(f"{family}: {name} must be {_kind_words(kind)}, not a bool; got {written(x)}")
  if dtype.kind in "USa":
    raise TypeError(f"{family}: {name} must be {_kind_words(kind)}, not a string; got {written(x)}")
  if dtype.kind == "c":
    raise TypeError(
      f"{family}: {name} must be {_kind_words(kind)}, not a complex number; got {written(x)}"
    )
  if dtype.kind == "O":
    try:
      arr = np.vectorize(float, otypes=[np.float64])(arr) if arr.size else arr.astype(np.float64)
    except OverflowError:
      raise ValueError(f"{family}: {name} {_overflow(dtype, written(x))}") from None
    except (TypeError, ValueError):
      raise TypeError(f"{family}: {name} must be {_kind_words(kind)}, got {written(x)}") from None
  elif (
    dtype.kind not in "iuf"
    and not np.issubdtype(dtype, np.floating)
    and not (dtype.kind == "V" and jax.numpy.issubdtype(dtype, jax.numpy.floating))
  ):  # bfloat16 & co
    raise TypeError(f"{family}: {name} must be {_kind_words(kind)}, got dtype {dtype}")
  if arr.ndim != rank:
    shape = "a scalar" if rank == 0 else "a 1-D sequence"
    raise ValueError(f"{family}: {name} must be {shape}, got shape {arr.shape}")
  return arr, leaves


def _overflow(dtype, shown: str) -> str:
  tname = np.dtype(dtype).name
  return (
    f"must be finite in {tname} (|x| <= {str(np.finfo(dtype).max)}); got {shown}, which "
    f"overflows {tname}"
  )


def _leaf(x, leaves, i):
  """The i-th element (flat order) as the user wrote it."""
  if leaves is not None:
    return leaves[i]
  arr = np.asarray(x)
  return arr.reshape(-1)[i]


def _first_bad(mask) -> int | None:
  bad = np.flatnonzero(np.asarray(mask).reshape(-1))
  return int(bad[0]) if bad.size else None


def host_real(family: str, name: str, x, rank: int = 0, *, dtype: Any = np.float32) -> np.ndarray:
  """``x`` as a float64 NumPy array of ``rank`` dims (0: scalar, 1: vector), checked so that it is
  finite, and representable in ``dtype`` (no overflow, no underflow below its smallest normal).

  ``TypeError`` for non-numbers (complex, str/bytes, bool, None, objects); ``ValueError`` for a
  wrong rank or a value out of range, naming the field (``name[i]`` for a vector element) and
  showing the value as written.
  """
  arr, leaves = _host_array(family, name, x, rank, "real", dtype)
  with np.errstate(over="ignore", invalid="ignore"):
    host = arr.astype(np.float64)
    stored = host.astype(dtype)
  finfo = np.finfo(dtype)
  tname = np.dtype(dtype).name
  checks = (
    (~np.isfinite(host), "must be finite, got {}"),
    (~np.isfinite(stored), _overflow(dtype, "{}")),
    (
      (host != 0) & (np.abs(stored) < finfo.smallest_normal),
      f"must be 0 or at least {str(finfo.smallest_normal)} in magnitude ({tname}'s smallest "
      f"normal number); got {{}}, which underflows {tname}",
    ),
  )
  for mask, words in checks:
    i = _first_bad(mask)
    if i is not None:
      where = _where(name, i if rank else None)
      raise ValueError(f"{family}: {where} " + words.format(written(_leaf(x, leaves, i))))
  return host


def host_count(
  family: str, name: str, x, rank: int = 0, *, what: str = "a non-negative integer step count"
) -> np.ndarray:
  """``x`` as an int64 NumPy array of ``rank`` dims, every element a whole number in
  ``[0, 2^31-1]`` (floats such as ``3.0`` are accepted when whole). Errors as in ``host_real``;
  ``what`` names the kind of number in messages."""
  arr, leaves = _host_array(family, name, x, rank, what)
  if arr.dtype.kind not in "iu":
    with np.errstate(invalid="ignore"):
      host = arr.astype(np.float64)
      whole = np.isfinite(host) & (host == np.round(host))
    i = _first_bad(~whole)
    if i is not None:
      raise ValueError(
        f"{family}: {_where(name, i if rank else None)} must be {what}, got "
        f"{written(_leaf(x, leaves, i))}"
      )
    out_of_range = (host < 0) | (host > INT32_MAX)
  else:
    out_of_range = (arr < 0) | (arr > INT32_MAX)
  i = _first_bad(out_of_range)
  if i is not None:
    raise ValueError(
      f"{family}: {_where(name, i if rank else None)} must be an integer in "
      f"[0, 2^31-1], got {written(_leaf(x, leaves, i))}"
    )
  return arr.astype(np.int64)


def _is_flag(choices) -> bool:
  return choices is not None and len(choices) == 2 and set(map(type, choices)) == {bool}


def static_flag(family: str, name: str, x: Any, choices: Sequence[Any] | None) -> Any:
  """A static (structural) value: a flag is exactly ``True``/``False`` (Python ``bool`` or
  ``np.bool_``; an int such as ``1`` is a ``TypeError``, so that ``to_config`` never writes ``1``);
  a mode is a ``str`` from ``choices`` (``TypeError`` for a non-string, ``ValueError`` listing the
  choices, with a close match, for an unknown one). Returns the plain Python value."""
  if choices is None:
    return x
  if _is_flag(choices):
    if isinstance(x, _BOOLS):
      return bool(x)
    raise TypeError(
      f"{family}: {name} must be one of [False, True] (a bool), got {written(x)}"
      f" of type {type(x).__name__}"
    )
  if all(isinstance(c, str) for c in choices):
    if not isinstance(x, str):
      raise TypeError(
        f"{family}: {name} must be one of {list(choices)} (a string), got "
        f"{written(x)} of type {type(x).__name__}"
      )
    x = str(x)
    if x not in choices:
      close = difflib.get_close_matches(x, choices, n=1)
      hint = f" (did you mean {close[0]!r}?)" if close else ""
      raise ValueError(f"{family}: {name} must be one of {list(choices)}, got {written(x)}{hint}")
    return x
  for c in choices:  # mixed choices: equal value and type (so 1 is not True)
    if type(c) is type(x) and c == x:
      return x
  raise ValueError(f"{family}: {name} must be one of {list(choices)}, got {written(x)}")


def is_real_number(x) -> bool:
  """A Python/NumPy real scalar that is not a bool (for arithmetic such as ``s * 2``)."""
  return isinstance(x, numbers.Real) and not isinstance(x, _BOOLS)
