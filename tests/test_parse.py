"""js.parse: the language of the CLI's SPEC arguments as a public, safe function."""

import json

import numpy as np
import pytest

import jaxsched as js
from jaxsched import core
from tests.cases import CASES
from tests.test_config import COMPOSITES

EXTRA = [js.shift(js.cosine(0.1, 100), 25), js.repeat(js.linear(0.1, 0.0, 10), 12)]


def _examples():
  return [c["factory"](**c["kwargs"]) for c in CASES] + COMPOSITES + EXTRA


# jaxsched's own families (a user's family from another test file registers too); custom holds a
# function, which a SPEC cannot spell (its repr names it: tests/test_extension.py)
OWN = sorted(
  n for n, c in core.FAMILIES.items() if c.__module__.startswith("jaxsched.") and n != "custom"
)


@pytest.mark.parametrize("family", OWN)
def test_repr_parses_back_for_every_family(family):
  examples = [s for s in _examples() if s.family == family]
  assert examples, f"no example of {family} in tests/cases.py or tests/test_config.COMPOSITES"
  for s in examples:
    assert js.parse(repr(s)) == s
    assert js.parse(json.dumps(s.to_config())) == s


def test_positional_arguments_and_product_sugar():
  assert js.parse("cosine(0.1, 1000, end_value=0.01)") == js.cosine(0.1, 1000, end_value=0.01)
  assert js.parse("product(constant(2.0), step(1.0, 10, 0.5))") == js.product(
    js.constant(2.0), js.step(1.0, 10, 0.5)
  )
  assert js.parse("cosine(1e-3 * 4, 10 * 10)") == js.cosine(4e-3, 100)
  assert js.parse("linear(-0.5, 0.5, 10)") == js.linear(-0.5, 0.5, 10)


def test_multiplication_and_division():
  c = js.cosine(0.1, 100)
  assert js.parse("cosine(0.1,100) * 2") == c * 2
  assert js.parse("2 * cosine(0.1,100)") == 2 * c
  assert js.parse("cosine(0.1, 100) / 4") == c / 4
  assert js.parse("cosine(0.1, 100) * exponential(1.0, 0.99)") == c * js.exponential(1.0, 0.99)
  t = np.arange(0, 120, 7)
  np.testing.assert_allclose(js.parse("-cosine(0.1, 100)")(t), -c(t), rtol=1e-7)
  with pytest.raises(ValueError, match="divide by a schedule"):
    js.parse("cosine(0.1, 100) / constant(2.0)")
  with pytest.raises(ValueError, match="zero"):
    js.parse("cosine(0.1, 100) / 0")


needs_add = pytest.mark.skipif(
  not hasattr(js.Schedule, "__add__"), reason="Schedule.__add__ (s + c) is not in this jaxsched yet"
)


@needs_add
def test_addition_and_subtraction():
  c, w = js.cosine(0.1, 100), js.warmup(js.cosine(0.1, 100), 10)
  t = np.array([0, 1, 9, 10, 11, 50, 109, 110, 111, 2**31 - 1])
  cases = {
    "warmup(cosine(0.1,100),10) + 0.001": w(t) + 0.001,
    "0.001 + cosine(0.1, 100)": c(t) + 0.001,
    "cosine(0.1, 100) - 0.001": c(t) - 0.001,
    "cosine(0.1, 100) + warmup(cosine(0.1,100),10)": c(t) + w(t),
    "cosine(0.1, 100) - exponential(0.1, 0.9)": c(t) - js.exponential(0.1, 0.9)(t),
  }
  for spec, want in cases.items():
    s = js.parse(spec)
    assert isinstance(s, js.Schedule)
    np.testing.assert_allclose(s(t), want, rtol=1e-6, atol=1e-9, err_msg=spec)
    assert js.parse(repr(s)) == s


@pytest.mark.parametrize(
  "spec, words",
  [
    (
      "cosine(0.1,1000,end_val=0.01)",
      [
        "unknown field 'end_val'",
        "did you mean 'end_value'?",
        "init_value, steps, end_value, exponent, begin",
      ],
    ),
    ("cosin(0.1, 1000)", ["unknown family 'cosin'", "did you mean 'cosine'?"]),
    ("nosuch(1)", ["unknown family 'nosuch'", "Known families"]),
    (
      "exponential(0.1, 1000, 0.96)",
      ["at most 2 positional arguments (init_value, gamma)", "3 were given", "decay_steps"],
    ),
    ("cosine(0.1)", ["missing required field steps"]),
    ("cosine(0.1, steps=10, steps=20)", ["given twice"]),
    ("cosine(0.1, 10, init_value=0.2)", ["both by position and by name"]),
    ("cosine(0.1, -5)", ["steps"]),
    ("0.5", ["not a schedule"]),
  ],
)
def test_messages_name_the_problem(spec, words):
  with pytest.raises(ValueError) as info:
    js.parse(spec)
  message = str(info.value)
  assert "\n" not in message
  for w in words:
    assert w in message


@pytest.mark.parametrize(
  "spec",
  [
    "__import__('os').system('true')",
    "os.system('true')",
    "cosine(init_value=x, steps=1)",
    "cosine(*[0.1, 10])",
    "cosine(**{'init_value': 0.1})",
    "cosine(0.1, 10) ** 2",
    "lambda: 0",
    "cosine(init_value=(lambda: 0.1)(), steps=10)",
    "cosine(0.1, steps=[].__class__)",
    "cosine(0.1, 10).__class__",
    "[cosine(0.1, 10)][0]",
    "cosine(0.1, 10) @ 2",
    "9**9**9",
    "cosine(0.1, 10) if 1 else 0",
    "",
    "{'family': 'cosine'",
  ],
)
def test_nothing_is_evaluated(spec):
  with pytest.raises(ValueError):
    js.parse(spec)


def test_cli_parses_with_it():
  from jaxsched import cli

  assert cli.parse_spec("cosine(0.1,100) * 2") == js.cosine(0.1, 100) * 2
  with pytest.raises(cli.CliError, match="did you mean 'end_value'"):
    cli.parse_spec("cosine(0.1,1000,end_val=0.01)")


def test_a_factorys_alternative_keywords_parse_like_the_call():
  """one_cycle(epochs=, steps_per_epoch=) (torch's OneCycleLR form) goes through the factory."""
  assert js.parse("one_cycle(0.1, epochs=10, steps_per_epoch=100)") == js.one_cycle(0.1, 1000)
  with pytest.raises(ValueError, match=r"either total_steps or .*not both"):
    js.parse("one_cycle(0.1, 1000, epochs=10, steps_per_epoch=100)")
  with pytest.raises(ValueError, match=r"unknown field 'bogus'.*epochs, steps_per_epoch"):
    js.parse("one_cycle(0.1, epochs=10, steps_per_epoch=100, bogus=1)")
