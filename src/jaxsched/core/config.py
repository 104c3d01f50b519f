"""Configs: ``Schedule.to_config()`` gives a JSON-safe dict; ``from_config`` rebuilds the schedule.
Nothing is ever evaluated or unpickled; junk is a ``ValueError``/``TypeError`` naming the family
and field, and a config nested deeper than ``MAX_DEPTH`` is refused before anything is built."""

from __future__ import annotations

import dataclasses

from jaxsched import _convert
from jaxsched.core.fields import fields_of
from jaxsched.core.registry import FAMILIES
from jaxsched.core.schedule import MAX_DEPTH, Schedule


def from_config(config: dict) -> Schedule:
  """Rebuilds a schedule from ``to_config()`` output. Never evaluates or unpickles anything.

  Junk is a ``ValueError``/``TypeError`` naming the family and field; a config nested deeper than
  ``MAX_DEPTH`` schedules is refused (checked without recursion) before anything is built.

  Args:
    config: a dict as ``Schedule.to_config()`` returns it (or as parsed from its JSON): a
      ``"family"`` key naming a registered family, and that family's fields; fields with defaults
      may be left out.

  >>> import jaxsched as js
  >>> s = js.from_config({"family": "cosine", "init_value": 0.1, "steps": 100})
  >>> s
  cosine(init_value=0.1, steps=100, end_value=0.0, exponent=1.0, begin=0)
  >>> js.from_config(s.to_config()) == s
  True
  """
  _check_config_depth(config)
  return _from_config(config, "config")


def _check_config_depth(config) -> None:
  """Refuses a config nested deeper than ``MAX_DEPTH`` schedules, walking it without recursion.
  Lists count toward a looser bound too, so that even a list that contains itself is refused."""
  stack = [(config, 1, 0)]
  while stack:
    node, depth, containers = stack.pop()
    if depth > MAX_DEPTH or containers > 4 * MAX_DEPTH:
      raise ValueError(
        f"the schedule config is nested deeper than the limit of {MAX_DEPTH} "
        f"schedules (jaxsched.core.MAX_DEPTH)"
      )
    if isinstance(node, dict):
      stack.extend(
        (v, depth + 1, containers + 1) for v in node.values() if isinstance(v, (dict, list, tuple))
      )
    elif isinstance(node, (list, tuple)):  # its items sit at the depth of the schedule holding it
      stack.extend((v, depth, containers + 1) for v in node if isinstance(v, (dict, list, tuple)))


def _from_config(config, where: str) -> Schedule:
  if not isinstance(config, dict):
    raise TypeError(
      f"{where} must be a schedule config (a dict with a 'family' key), got {type(config).__name__}"
    )
  if "family" not in config:
    raise ValueError(f"{where}: a schedule config needs a 'family' key")
  name = config["family"]
  if not isinstance(name, str):
    raise TypeError(
      f"{where}: 'family' must be a string naming a family, got "
      f"{type(name).__name__} {_convert.written(name)}"
    )
  if name not in FAMILIES:
    raise ValueError(f"unknown family {name!r}; known families: {sorted(FAMILIES)}")
  cls = FAMILIES[name]
  kinds = dict(fields_of(cls))
  kwargs = {}
  for key, value in config.items():
    if key == "family":
      continue
    if key not in kinds:
      raise ValueError(f"{name}: unknown field {key!r}; fields are {sorted(kinds)}")
    kwargs[key] = kinds[key].from_config(value, f"{name}: {key}", _from_config)
  missing = [
    f.name
    for f in dataclasses.fields(cls)
    if "kind" in f.metadata
    and f.name not in kwargs
    and f.default is dataclasses.MISSING
    and f.default_factory is dataclasses.MISSING
  ]
  if missing:
    raise ValueError(f"{name}: the config lacks the required field(s) {missing}")
  return cls(**kwargs)
