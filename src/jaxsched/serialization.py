"""Schedules serialize the Flax way: ``flax.serialization.to_bytes({"schedule": s})`` and
``from_bytes(target, data)``, with flax an optional peer that jaxsched never imports.

What is saved is a schedule's *data*: one entry per leaf field (``real``, ``count``), nested per
child, as Flax saves a ``flax.struct.dataclass``, plus the private leaves ``_lo`` (the low words of
the user's doubles) and ``_derived`` (per-setting constants), so the restored pytree, batches
included, equals the saved one. Structure (the family, mode strings, flags such
as ``staircase``, the number of children) belongs to the *target* of ``from_bytes``, as it does for
every Flax pytree, so the target must be a schedule of the same structure (any values). A restored
schedule passes the same range checks as a constructed one. ``ReduceOnPlateauState`` is a
``NamedTuple``, which Flax serializes natively. Orbax needs nothing: a schedule is a keyed pytree.

How the registration happens, without importing flax (about 0.1 s, and not a dependency):

- if ``flax.serialization`` is already imported when jaxsched is, every family registers at once;
- otherwise a finder on ``sys.meta_path`` waits for ``flax.serialization`` to be imported, lets
  the normal import run, registers every family right after it, and removes itself;
- a family defined later (``@jaxsched.core.family``) registers through ``core.FAMILY_HOOKS``;
- ``register_flax()`` does it all explicitly (idempotent), for anyone who imports flax in an
  unusual way (e.g. a custom importer that bypasses ``sys.meta_path``).
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import warnings

from jaxsched import core

_MODULE = "flax.serialization"
_lock = threading.Lock()
_registered: set[type] = set()


_PRIVATE = ("_lo", "_derived")  # the low words of the user's doubles; per-setting constants


def _data_names(cls) -> list[str]:
  return [name for name, kind in core.fields_of(cls) if not kind.static]


def _to_state_dict(schedule: core.Schedule) -> dict:
  from flax import serialization

  state = {
    name: serialization.to_state_dict(getattr(schedule, name))
    for name in _data_names(type(schedule))
  }
  # saved too, so that a restored schedule (or batch) equals the saved one
  for name, value in zip(_PRIVATE, core.private_leaves(schedule), strict=True):
    state[name] = serialization.to_state_dict(value)
  return state


def _from_state_dict(target: core.Schedule, state) -> core.Schedule:
  from flax import serialization

  cls = type(target)
  fields = _data_names(cls) + list(_PRIVATE)
  if not isinstance(state, dict) or set(state) != set(fields):
    got = sorted(state) if isinstance(state, dict) else type(state).__name__
    raise ValueError(
      f"{cls.family}: the saved state does not fit this schedule at "
      f"{serialization.current_path()!r}: fields are {fields}, saved {got} "
      "(from_bytes needs a target of the same family and structure)"
    )
  private = dict(zip(_PRIVATE, core.private_leaves(target), strict=True))
  data = [
    serialization.from_state_dict(
      private[name] if name in private else getattr(target, name), state[name], name=name
    )
    for name in fields
  ]
  restored = core.from_leaves(target, data)
  restored.raise_if_out_of_range(prefix="restored ")
  return core.specialised(restored)


def _register_class(serialization, cls) -> None:
  with _lock:
    if cls in _registered:
      return
    serialization.register_serialization_state(cls, _to_state_dict, _from_state_dict, override=True)
    _registered.add(cls)


def _on_new_family(cls) -> None:
  module = sys.modules.get(_MODULE)
  if module is not None:
    _register_class(module, cls)


def register_flax(serialization=None) -> None:
  """Registers every schedule family with ``flax.serialization`` (importing it if needed), and
  every family defined later too. Idempotent; jaxsched calls it by itself (module docstring)."""
  if serialization is None:
    from flax import serialization
  for cls in list(core.FAMILIES.values()):
    _register_class(serialization, cls)
  if _on_new_family not in core.FAMILY_HOOKS:
    core.FAMILY_HOOKS.append(_on_new_family)


class _Loader(importlib.abc.Loader):
  """Runs the real loader of ``flax.serialization``, then registers the families."""

  def __init__(self, loader, finder):
    self._loader, self._finder = loader, finder

  def create_module(self, spec):
    return self._loader.create_module(spec)

  def exec_module(self, module):
    module.__loader__ = self._loader
    spec = getattr(module, "__spec__", None)
    if spec is not None:
      spec.loader = self._loader
    self._loader.exec_module(module)
    self._finder.remove()
    try:
      register_flax(module)
    except Exception as e:  # never break the user's flax import; say why instead
      warnings.warn(
        f"jaxsched could not register its schedules with flax.serialization ({e}); "
        "call jaxsched.serialization.register_flax() after importing flax",
        stacklevel=2,
      )

  def __getattr__(self, name):  # get_code, get_filename, is_package, resource readers ...
    return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
  """Waits on ``sys.meta_path`` for ``flax.serialization``; finds it with the other finders."""

  def find_spec(self, fullname, path, target=None):
    if fullname != _MODULE:
      return None
    for finder in list(sys.meta_path):
      if finder is self or not hasattr(finder, "find_spec"):
        continue
      spec = finder.find_spec(fullname, path, target)
      if spec is not None:
        break
    else:
      return None
    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
      spec.loader = _Loader(spec.loader, self)
    return spec

  def remove(self):
    try:
      sys.meta_path.remove(self)
    except ValueError:
      pass


def install() -> None:
  """Called once by ``import jaxsched``: register now, or when flax.serialization is imported."""
  if _MODULE in sys.modules:
    register_flax(sys.modules[_MODULE])
  elif not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
