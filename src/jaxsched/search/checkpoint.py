"""Resume files for searches and sweeps: one ``checkpoint.npz`` per directory, written whole.

A run saves after each complete rung, interval or chunk: its progress (a JSON record) and its
arrays (NumPy), in one ``.npz`` file. The file is written to a temporary name in the same
directory, flushed and fsynced, then renamed over the old one (``os.replace`` is atomic on POSIX
and Windows), so ``kill -9`` at any moment leaves either the previous checkpoint or the new one,
never a torn file. Leftover temporary files of a killed run are removed by the next save or load.

Nothing is pickled: arrays are read with ``allow_pickle=False`` and the record is JSON. A
checkpoint carries the *fingerprint* of the run that wrote it (the kind of run, its arguments,
digests of the batch and key, the names of the user's functions); a rerun with a different
fingerprint is refused with a ``ValueError`` naming what differs, never silently mixed.

Many processes (``jax.distributed``): every process holds the gathered state (``to_host``), process
0 alone writes, and every process reads the same directory on resume (a shared file system, as
orbax's multi-process checkpoints also need).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Checkpoint", "digest", "function_name", "flatten", "unflatten"]

FILE = "checkpoint.npz"
RECORD = "__record__"


def digest(tree: Any) -> str:
  """A SHA-256 of a pytree's structure and its leaves' dtypes, shapes and bytes (keys included)."""
  h = hashlib.sha256()
  leaves, treedef = jax.tree.flatten(tree)
  h.update(str(treedef).encode())
  for leaf in leaves:
    if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      leaf = jax.random.key_data(leaf)
    x = np.ascontiguousarray(np.asarray(leaf))
    h.update(f"{x.dtype.str}{x.shape}".encode())
    h.update(x.tobytes())
  return h.hexdigest()


def function_name(fn: Any) -> str:
  """``module.qualname`` of a user's function (a fingerprint cannot see inside its code)."""
  return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def flatten(prefix: str, tree: Any) -> dict[str, np.ndarray]:
  """A pytree's leaves as ``{prefix/0: ..., prefix/1: ...}`` NumPy arrays."""
  return {f"{prefix}/{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(tree))}


def unflatten(prefix: str, arrays: Mapping[str, np.ndarray], like: Any) -> Any:
  """The pytree of ``like``'s structure from ``flatten(prefix, ...)``'s arrays; a mismatch in the
  number of leaves or a leaf's trailing shape or dtype is a ``ValueError``. ``like``'s leaves may be
  arrays or ``jax.ShapeDtypeStruct``s; only their shapes after the first axis and dtypes count."""
  leaves, treedef = jax.tree.flatten(like)
  found = sorted(
    (k for k in arrays if k.startswith(prefix + "/")), key=lambda k: int(k.rsplit("/")[-1])
  )
  if len(found) != len(leaves):
    raise ValueError(
      f"checkpoint: {prefix} has {len(found)} arrays, but the run's state has {len(leaves)} leaves"
    )
  out = []
  for k, want in zip(found, leaves, strict=True):
    got = arrays[k]
    if not hasattr(want, "shape") or not hasattr(want, "dtype"):
      want = np.asarray(want)
    shape, dtype = tuple(want.shape), np.dtype(want.dtype)
    if got.shape[1:] != shape[1:] or got.dtype != dtype:
      raise ValueError(
        f"checkpoint: {k} is {got.dtype}{list(got.shape)}, the run's state has {dtype}{list(shape)}"
      )
    out.append(got)
  return jax.tree.unflatten(treedef, out)


class Checkpoint:
  """The resume file of one run in ``directory`` (created when missing).

  Args:
    directory: where ``checkpoint.npz`` lives.
    fingerprint: a JSON-able dict that identifies the run (its kind and arguments).
  """

  def __init__(self, directory: str | os.PathLike, fingerprint: Mapping[str, Any]):
    self.directory = Path(directory)
    self.fingerprint = json.loads(json.dumps(dict(fingerprint), sort_keys=True))
    self.path = self.directory / FILE
    if self.directory.exists() and not self.directory.is_dir():
      raise ValueError(f"checkpoint: {str(directory)!r} exists and is not a directory")

  def _sweep_temporaries(self) -> None:
    if jax.process_index() != 0 or not self.directory.is_dir():
      return
    for leftover in self.directory.glob(f".{FILE}.*.tmp"):
      with contextlib.suppress(OSError):
        leftover.unlink()

  def load(self) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """``(progress, arrays)`` of the last complete save, or ``None`` when there is none yet.

    A checkpoint of a different run (another fingerprint) is a ``ValueError`` naming the arguments
    that differ; an unreadable one is a ``ValueError`` too.
    """
    self._sweep_temporaries()
    if not self.path.exists():
      return None
    try:
      with np.load(self.path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
      record = json.loads(bytes(arrays.pop(RECORD)).decode("utf-8"))
    except Exception as e:  # zip, JSON, missing record: one clear line
      raise ValueError(f"checkpoint: cannot read {self.path} ({type(e).__name__}: {e})") from None
    theirs = record.get("fingerprint", {})
    if theirs != self.fingerprint:
      keys = sorted(set(theirs) | set(self.fingerprint))
      differ = [k for k in keys if theirs.get(k) != self.fingerprint.get(k)]
      raise ValueError(
        f"checkpoint: {self.path} belongs to a different run (it differs in: "
        f"{', '.join(differ)}); use another directory, or delete it to start over"
      )
    return record["progress"], arrays

  def save(self, progress: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Writes ``progress`` (JSON-able) and ``arrays`` whole: a temporary file, fsync, rename.
    Only process 0 writes."""
    if jax.process_index() != 0:
      return
    self.directory.mkdir(parents=True, exist_ok=True)
    record = json.dumps({"fingerprint": self.fingerprint, "progress": dict(progress)})
    payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    payload[RECORD] = np.frombuffer(record.encode("utf-8"), np.uint8)
    tmp = self.directory / f".{FILE}.{os.getpid()}.tmp"
    try:
      with open(tmp, "wb") as f:
        np.savez(f, **payload)
        f.flush()
        os.fsync(f.fileno())
      os.replace(tmp, self.path)
    finally:
      with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    with contextlib.suppress(OSError):  # make the rename itself durable
      fd = os.open(self.directory, os.O_RDONLY)
      try:
        os.fsync(fd)
      finally:
        os.close(fd)
    self._sweep_temporaries()
