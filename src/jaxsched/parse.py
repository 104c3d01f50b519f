"""Schedules as strings: ``jaxsched.parse("warmup(cosine(0.1, 1000), 50) * 2")``.

The language is Python call syntax restricted to what a config file needs, read with ``ast`` and
never evaluated:

- calls of registered family names, ``cosine(0.1, 1000, end_value=1e-5)``; positional arguments
  fill the family's leading parameters in order (those before its ``*``), as in Python;
  ``product(a, b)`` takes its schedules positionally;
- literals: numbers, strings, ``True``/``False``/``None``, lists and tuples; arithmetic on numbers
  (``1e-3 * 4``, ``-0.5``);
- schedule arithmetic: ``s * c``, ``c * s``, ``s1 * s2``, ``s / c``, ``-s``, and ``s + c``,
  ``c + s``, ``s - c``, ``s1 + s2``, ``s1 - s2`` (the same Python operators on ``Schedule``);
- a JSON config, ``{"family": "cosine", ...}`` (``to_config`` output).

``parse(repr(s)) == s`` for every single (not batched) schedule. Anything else — names, attribute
access, subscripts, lambdas, ``*args``/``**kwargs`` — is a ``ValueError`` naming what was found.
Unknown families and fields get a "did you mean ...?" and the list of valid fields.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import json
import numbers
import operator
from typing import cast

from jaxsched import core

_ALLOWED = "numbers, strings, True/False/None, lists, schedule calls and + - * / between them"

_OPERATORS = {
  ast.Add: ("+", operator.add),
  ast.Sub: ("-", operator.sub),
  ast.Mult: ("*", operator.mul),
  ast.Div: ("/", operator.truediv),
}


class ParseError(ValueError):
  """A SPEC that is not a schedule; the message says where and why, on one line."""


def parse(spec: str) -> core.Schedule:
  """The schedule written in ``spec``: a call such as ``"warmup(cosine(0.1, 1000), 50)"``, with
  arithmetic (``"cosine(0.1, 100) * 2"``, ``"warmup(cosine(0.1, 100), 10) + 0.001"``), or a JSON
  config string. Safe for untrusted config files: parsed with ``ast``, nothing is evaluated or
  imported. Raises ``ValueError`` (a ``ParseError``, defined in the ``jaxsched.parse`` module) with
  a one-line reason.

  Formula: ``parse(spec)(t) == eval(spec, vars(jaxsched))(t)`` for every ``spec`` the language
  accepts (but nothing is evaluated), and ``parse(repr(s)) == s`` and
  ``parse(json.dumps(s.to_config())) == s`` for every single (not batched) schedule ``s``.

  Peer equivalents: t5x/gin config strings and Hugging Face ``get_scheduler(name, ...)`` are the
  closest (a name picks the schedule); ``jaxsched.from_t5x`` and ``jaxsched.from_hf`` convert
  those. torch, Keras and optax have no string form (Keras's ``serialize`` dict is
  ``jaxsched.from_keras``'s input).

  Args:
    spec: the schedule as text: a family call with positional and keyword arguments, nested
      calls, ``+ - * /`` between schedules and numbers, or a JSON config object (the output of
      ``json.dumps(schedule.to_config())``). Leading and trailing whitespace is ignored.

  Returns:
    The ``jaxsched.Schedule`` that ``spec`` describes.

  >>> import jaxsched
  >>> s = jaxsched.parse("warmup(cosine(0.1, 1000), 50) * 2")
  >>> [f"{float(v):.6f}" for v in s([0, 25, 50])]
  ['0.000000', '0.100000', '0.200000']
  >>> s == 2 * jaxsched.warmup(jaxsched.cosine(0.1, 1000), 50)
  True
  >>> jaxsched.parse(repr(s)) == s
  True
  >>> e = jaxsched.parse('{"family": "exponential", "init_value": 0.1, "gamma": 0.5}')
  >>> print(f"{float(e(2)):.6f}")
  0.025000
  >>> jaxsched.parse("cosin(0.1, 1000)")
  Traceback (most recent call last):
  ...
  jaxsched.parse.ParseError: SPEC 'cosin(0.1, 1000)': unknown family 'cosin'; did you mean ...
  """
  if not isinstance(spec, str):
    raise TypeError(f"parse: spec must be a string, got {type(spec).__name__}")
  text = spec.strip()
  if not text:
    raise ParseError("empty SPEC")
  if text.startswith("{"):
    return config_from_json(text, repr(spec))
  try:
    tree = ast.parse(text, mode="eval")
  except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
    reason = getattr(e, "msg", None) or e
    raise ParseError(
      f"cannot parse SPEC {spec!r}: expected a call like cosine(init_value=0.1, "
      f"steps=1000) or a JSON config ({reason})"
    ) from None
  try:
    value = _Reader(spec).read(tree.body)
  except RecursionError:
    raise ParseError(f"SPEC {spec!r} is nested too deeply") from None
  if not isinstance(value, core.Schedule):
    raise ParseError(
      f"SPEC {spec!r} is a {type(value).__name__}, not a schedule: expected a call "
      "like cosine(init_value=0.1, steps=1000)"
    )
  return value


def config_from_json(text: str, shown: str) -> core.Schedule:
  """A schedule from config JSON text (``to_config()`` output); errors name the SPEC as ``shown``
  (the SPEC itself, or the file the CLI read it from)."""
  try:
    config = json.loads(text)
  except json.JSONDecodeError as e:
    raise ParseError(f"SPEC {shown} is not valid JSON: {e}") from None
  except RecursionError:  # the decoder recurses per level: thousands of levels are refused here
    raise ParseError(
      f"SPEC {shown} is nested deeper than the limit of {core.MAX_DEPTH} schedules"
    ) from None
  try:
    return core.from_config(config)
  except (ValueError, TypeError) as e:
    raise ParseError(f"SPEC {shown}: {_one_line(e)}") from None


def _one_line(e: BaseException) -> str:
  return " ".join(str(e).split()) or type(e).__name__


def _suggest(word: str, options) -> str:
  close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
  return f"; did you mean {close[0]!r}?" if close else ""


def _is_number(x) -> bool:
  return isinstance(x, numbers.Real) and not isinstance(x, bool)


class _Reader:
  def __init__(self, text: str):
    self.text = text

  def fail(self, message: str):
    raise ParseError(f"SPEC {self.text!r}: {message}")

  def read(self, node: ast.AST):
    if isinstance(node, ast.Call):
      return self.call(node)
    if isinstance(node, ast.BinOp):
      return self.binop(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
      value = self.read(node.operand)
      if isinstance(node.op, ast.UAdd) and (_is_number(value) or isinstance(value, core.Schedule)):
        return value
      if _is_number(value):
        return -value
      if isinstance(value, core.Schedule):
        return value * -1.0
      self.fail(f"cannot negate {ast.unparse(node.operand)!r}")
    if isinstance(node, (ast.List, ast.Tuple)):
      items = [self.read(e) for e in node.elts]
      return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Constant) and isinstance(
      node.value, (int, float, complex, str, bool, type(None))
    ):
      return node.value
    self.fail(f"{ast.unparse(node)!r} is not allowed (only {_ALLOWED})")

  def binop(self, node: ast.BinOp):
    if type(node.op) not in _OPERATORS:
      self.fail(f"operator in {ast.unparse(node)!r} is not allowed (only + - * /)")
    symbol, apply = _OPERATORS[type(node.op)]
    left, right = self.read(node.left), self.read(node.right)
    if not all(_is_number(x) or isinstance(x, core.Schedule) for x in (left, right)):
      self.fail(f"{symbol} needs numbers or schedules on both sides in {ast.unparse(node)!r}")
    if symbol == "/" and isinstance(right, core.Schedule):
      self.fail(f"cannot divide by a schedule in {ast.unparse(node)!r}")
    try:
      result = apply(left, right)
    except ZeroDivisionError:
      self.fail(f"division by zero in {ast.unparse(node)!r}")
    except TypeError:
      kinds = " and ".join(
        "a schedule" if isinstance(x, core.Schedule) else "a number" for x in (left, right)
      )
      self.fail(f"{symbol} is not supported between {kinds} in {ast.unparse(node)!r}")
    except ValueError as e:
      self.fail(f"{ast.unparse(node)!r}: {_one_line(e)}")
    return result

  def call(self, node: ast.Call):
    if not isinstance(node.func, ast.Name):
      self.fail(f"only calls of a family name are allowed, got {ast.unparse(node.func)!r}")
    name = node.func.id
    if name not in core.FAMILIES:
      self.fail(
        f"unknown family {name!r}{_suggest(name, core.FAMILIES) or '.'} Known families: "
        f"{', '.join(core.FAMILIES)}"
      )
    args = []
    for a in node.args:
      if isinstance(a, ast.Starred):
        self.fail("*arguments are not allowed")
      args.append(self.read(a))
    kwargs = {}
    for kw in node.keywords:
      if kw.arg is None:
        self.fail("**arguments are not allowed")
      if kw.arg in kwargs:
        self.fail(f"{name}: {kw.arg} is given twice")
      kwargs[kw.arg] = self.read(kw.value)
    return self.construct(name, args, kwargs)

  def construct(self, name: str, args: list, kwargs: dict) -> core.Schedule:
    """``FAMILIES[name](*args, **kwargs)`` with the user's view of its parameters: positional
    arguments fill the leading (not keyword-only) fields; a family whose first field holds
    schedules takes them positionally, ``product(a, b)``."""
    cls = core.FAMILIES[name]
    fields = [f for f in dataclasses.fields(cls) if f.init and "kind" in f.metadata]
    names = [f.name for f in fields]
    # a public factory may take peers' alternative keywords too (one_cycle's epochs= and
    # steps_per_epoch=, as torch's OneCycleLR): those calls go through it, and it checks them
    factory = _factory(name, cls)
    alternatives = [k for k in _keywords(factory) if k not in names]
    for key in kwargs:
      if key not in names and key not in alternatives:
        self.fail(
          f"{name}: unknown field {key!r}{_suggest(key, names) or '.'} Fields of {name}: "
          f"{', '.join(names + alternatives)}"
        )
    if any(k in alternatives for k in kwargs):
      try:
        return cast(core.Schedule, factory(*args, **kwargs))
      except (ValueError, TypeError) as e:
        self.fail(_one_line(e))
    first = fields[0] if fields else None
    if (
      first is not None
      and first.metadata["kind"].variadic
      and args
      and first.name not in kwargs
      and all(isinstance(a, core.Schedule) for a in args)
    ):
      args = [tuple(args)]
    positional = [f.name for f in fields if not f.kw_only]
    if len(args) > len(positional):
      keyword_only = [f.name for f in fields if f.kw_only]
      hint = f"; pass {', '.join(keyword_only)} by name" if keyword_only else ""
      self.fail(
        f"{name} takes at most {len(positional)} positional argument"
        f"{'s' if len(positional) != 1 else ''} ({', '.join(positional)}), "
        f"{len(args)} were given{hint}"
      )
    # fewer arguments than fields is the usual case: the rest take their defaults
    given = dict(zip(positional, args, strict=False))
    for key in kwargs:
      if key in given:
        self.fail(f"{name}: {key} is given both by position and by name")
    given.update(kwargs)
    missing = [
      f.name
      for f in fields
      if f.name not in given
      and f.default is dataclasses.MISSING
      and f.default_factory is dataclasses.MISSING
    ]
    if missing:
      self.fail(
        f"{name}: missing required field{'s' if len(missing) > 1 else ''} "
        f"{', '.join(missing)} (fields of {name}: {', '.join(names)})"
      )
    try:
      return cls(**given)
    except (ValueError, TypeError) as e:
      self.fail(_one_line(e).replace(f"{cls.__name__}.__init__()", name))


def _factory(name: str, cls):
  """The public constructor of a family: ``jaxsched.<name>`` where it is a function, else the class."""
  import jaxsched

  factory = getattr(jaxsched, name, None)
  return factory if callable(factory) and not isinstance(factory, type) else cls


def _keywords(factory) -> list[str]:
  """The named parameters of a factory (not ``*args``/``**kwargs``)."""
  try:
    parameters = inspect.signature(factory).parameters.values()
  except (TypeError, ValueError):
    return []
  return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
