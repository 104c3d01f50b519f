"""One validation path (``jaxsched._convert``) and a checked mode that names rows: every defect
found by hostile inputs is a test here. The rule: a schedule, or a ValueError/TypeError that names
the field (and, for out-of-range numbers, shows the value as the user wrote it). Never
OverflowError/RecursionError."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched import _convert, core

HUGE = 2**1024  # a Python int that no float can hold

# --- overflow: never a bare OverflowError -----------------------------------------------------------

OVERFLOW = [
  (lambda: js.exponential(HUGE, 0.5), "exponential: init_value"),
  (lambda: js.inverse_time(1.0, HUGE), "inverse_time: decay_rate"),
  (lambda: js.one_cycle(0.1, 100, pct_start=HUGE), "one_cycle: pct_start"),
  (lambda: js.reduce_on_plateau(factor=HUGE), "reduce_on_plateau: factor"),
  (lambda: js.reduce_on_plateau(patience=HUGE), "reduce_on_plateau: patience"),
  (lambda: js.step(0.1, HUGE, 0.5), "step: step_size"),
  (lambda: js.piecewise([1], [0.1, HUGE]), "piecewise: values[1]"),
  (lambda: js.multistep(0.1, [1, HUGE], 0.5), "multistep: milestones[1]"),
]


@pytest.mark.parametrize("build,names", OVERFLOW, ids=[n for _, n in OVERFLOW])
def test_huge_values_are_a_named_value_error_not_overflow_error(build, names):
  with pytest.raises(ValueError) as info:
    build()
  message = str(info.value)
  assert names in message
  assert "(an integer of" in message  # the value as written, shortened, not "inf"
  assert "inf" not in message.replace("finite", "")


# --- types: complex, strings, bools, non-bool flags ---------------------------------------------------

TYPES = [
  (lambda: js.constant(1 + 2j), "constant: value", "complex"),
  (lambda: js.exponential(np.complex64(0.5), 0.9), "exponential: init_value", "complex"),
  (lambda: js.constant(np.array([0.5 + 0j])[0]), "constant: value", "complex"),
  (lambda: js.constant(np.array("0.5")), "constant: value", "string"),
  (lambda: js.constant("0.5"), "constant: value", "string"),
  (lambda: js.constant(b"0.5"), "constant: value", "string"),
  (lambda: js.piecewise([1], ["0.1", "0.2"]), "piecewise: values[0]", "string"),
  (lambda: js.piecewise(np.array(["1"]), [0.1, 0.2]), "piecewise: boundaries", "string"),
  (lambda: js.constant(np.array(True)), "constant: value", "bool"),
  (lambda: js.constant(np.bool_(True)), "constant: value", "bool"),
  (lambda: js.constant(True), "constant: value", "bool"),
  (lambda: js.piecewise([1], [0.1, True]), "piecewise: values[1]", "bool"),
  (lambda: js.multistep(0.1, [1, True], 0.5), "multistep: milestones[1]", "bool"),
  (lambda: js.step(0.1, np.array(True), 0.5), "step: step_size", "bool"),
  (lambda: js.constant(None), "constant: value", "None"),
  (lambda: js.constant(object()), "constant: value", "real number"),
  (lambda: js.exponential(0.1, 0.9, staircase=1), "exponential: staircase", "bool"),
  (lambda: js.exponential(0.1, 0.9, staircase=0), "exponential: staircase", "bool"),
  (lambda: js.exponential(0.1, 0.9, staircase="yes"), "exponential: staircase", "bool"),
  (lambda: js.per_epoch(js.constant(1.0), 10, fractional=1.0), "per_epoch: fractional", "bool"),
  (lambda: js.cyclic(0.1, 1.0, 10, mode=1), "cyclic: mode", "string"),
]


@pytest.mark.parametrize("build,names,what", TYPES, ids=[f"{n} {w}" for _, n, w in TYPES])
def test_non_numbers_are_a_named_type_error(build, names, what):
  with pytest.raises(TypeError) as info:
    build()
  assert names in str(info.value) and what in str(info.value)


def test_static_flags_keep_bools_and_config_writes_bools():
  s = js.exponential(0.1, 0.9, staircase=np.bool_(True))
  assert s.staircase is True
  config = s.to_config()
  assert config["staircase"] is True
  assert json.loads(json.dumps(config))["staircase"] is True
  with pytest.raises(TypeError, match="staircase"):
    js.from_config({**config, "staircase": 1})


def test_unknown_mode_lists_choices_and_suggests():
  with pytest.raises(ValueError) as info:
    js.cyclic(0.1, 1.0, 10, mode="trangular")
  message = str(info.value)
  assert "cyclic: mode must be one of ['triangular', 'triangular2', 'exp_range']" in message
  assert "did you mean 'triangular'?" in message


# --- out of float32's range: shown as written ----------------------------------------------------------


def test_underflow_shows_the_value_as_written():
  with pytest.raises(ValueError) as info:
    js.exponential(1.0, 1e-40)
  message = str(info.value)
  assert (
    "exponential: gamma" in message and "got 1e-40" in message and "underflows float32" in message
  )
  assert "got 0.0" not in message
  with pytest.raises(ValueError, match="got 1e-40"):
    js.exponential(1.0, np.float32(1e-40))  # a subnormal float32, as its own repr
  with pytest.raises(ValueError, match=r"values\[2\] .* got 1e-45"):
    js.piecewise([1, 2], np.array([0.1, 0.2, 1e-45]))
  # the smallest normal float32 and 0 are fine
  assert js.constant(float(np.finfo(np.float32).smallest_normal))(0) > 0
  assert js.constant(0.0)(0) == 0


def test_overflow_shows_the_value_as_written():
  with pytest.raises(ValueError) as info:
    js.constant(1e300)
  message = str(info.value)
  assert "constant: value" in message and "got 1e+300" in message and "overflows float32" in message
  assert "got inf" not in message
  with pytest.raises(ValueError, match=r"init_value must be finite in float32 .* got 3\.5e\+38"):
    js.cosine(3.5e38, 10)
  assert float(js.constant(3.4e38)(0)) == np.float32(3.4e38)


def test_dividing_by_a_tiny_number_names_the_divisor():
  with pytest.raises(ValueError, match="divisor .* got 1e-300"):
    js.constant(1.0) / 1e-300


# --- NumPy arithmetic defers to the schedule -------------------------------------------------------------


def test_numpy_defers_to_schedule_arithmetic():
  s = js.constant(1.0)
  with pytest.raises(TypeError):
    np.array([2.0]) * s  # was: a NumPy object array of schedules
  with pytest.raises(TypeError):
    s * np.array([2.0])
  for c in (np.float64(2.0), np.float32(2.0), np.array(2.0)):
    out = c * s
    assert isinstance(out, js.Schedule) and float(out(0)) == 2.0


# --- composites and configs ------------------------------------------------------------------------------


def test_join_with_junk_arguments_names_schedules():
  with pytest.raises(TypeError, match="join: schedules must be a list of jaxsched.Schedule"):
    js.join(5, [])
  with pytest.raises(TypeError, match="join: schedules must be a list"):
    js.join(js.constant(1.0), [])
  with pytest.raises(ValueError, match="join: schedules must hold at least one schedule"):
    js.join([], [])
  with pytest.raises(ValueError, match="product: schedules must hold at least one"):
    js.product()


FROM_CONFIG = [
  ({"family": []}, TypeError, "'family' must be a string"),
  ({"family": {"a": 1}}, TypeError, "'family' must be a string"),
  ({"family": None}, TypeError, "'family' must be a string"),
  ([{"family": "constant", "value": 1.0}], TypeError, "must be a schedule config"),
  ({"family": "clip", "schedule": 5}, TypeError, "clip: schedule must be a schedule config"),
  ({"family": "join", "schedules": [5], "boundaries": []}, TypeError, r"join: schedules\[0\]"),
  (
    {"family": "join", "schedules": 5, "boundaries": []},
    TypeError,
    "join: schedules must be a list",
  ),
  ({"family": "join", "schedules": [], "boundaries": []}, ValueError, "join: schedules must hold"),
  ({"family": "exponential", "init_value": 1.0}, ValueError, "exponential: .*'gamma'"),
  ({"family": "constant", "value": "0.5"}, TypeError, "constant: value"),
  ({"family": "constant", "value": [1.0]}, ValueError, "constant: value must be a scalar"),
  ({"family": "constant", "value": {"family": "constant"}}, TypeError, "constant: value"),
  (
    {"family": "step", "init_value": 1, "step_size": 2**1024, "gamma": 0.5},
    ValueError,
    "step: step_size must be an integer in",
  ),
]


@pytest.mark.parametrize("config,error,match", FROM_CONFIG, ids=[m for _, _, m in FROM_CONFIG])
def test_from_config_junk_is_a_named_error(config, error, match):
  with pytest.raises(error, match=match):
    js.from_config(config)


def _nested_clips(n):
  s = js.constant(0.5)
  for _ in range(n):
    s = js.clip(s, 0.0, 1.0)
  return s


def test_nesting_limit_is_a_value_error_at_construction():
  deepest = _nested_clips(core.MAX_DEPTH - 1)  # 64 schedules deep: allowed, and it works
  assert core.nesting_depth(deepest) == core.MAX_DEPTH
  assert float(deepest(3)) == 0.5
  assert js.from_config(deepest.to_config()) == deepest
  with pytest.raises(ValueError) as info:
    _nested_clips(90)  # was: RecursionError when called
  message = str(info.value)
  assert "clip" in message and f"limit of {core.MAX_DEPTH}" in message and "65 deep" in message


def test_from_config_depth_2000_is_a_value_error_about_depth():
  config = {"family": "constant", "value": 0.5}
  for _ in range(2000):
    config = {"family": "clip", "schedule": config}
  with pytest.raises(ValueError, match=f"nested deeper than the limit of {core.MAX_DEPTH}"):
    js.from_config(config)
  wide = {"family": "product", "schedules": [{"family": "constant", "value": 0.5}] * 500}
  assert js.from_config(wide).to_config() == wide  # width is not depth


def test_cli_spec_nested_100_deep_is_a_one_line_error():
  cli = pytest.importorskip("jaxsched.cli")
  parse = getattr(pytest.importorskip("jaxsched"), "parse", None)
  parse_spec = getattr(parse, "parse_spec", None) or cli.parse_spec
  spec = "clip(" * 100 + "constant(0.5)" + ")" * 100
  with pytest.raises(Exception) as info:
    parse_spec(spec)
  assert not isinstance(info.value, RecursionError)
  assert f"limit of {core.MAX_DEPTH}" in str(info.value)


# --- reduce_on_plateau construction ----------------------------------------------------------------------

PLATEAU = [
  (dict(factor=1 + 0j), TypeError, "factor"),
  (dict(factor=np.array("0.5")), TypeError, "factor"),
  (dict(factor=np.array(True)), TypeError, "factor"),
  (dict(patience=np.bool_(True)), TypeError, "patience"),
  (dict(cooldown=2**70), ValueError, "cooldown must be an integer in [0, 2^31-1]"),
  (dict(min_scale=1e-40), ValueError, "min_scale must be 0 or at least"),
  (dict(threshold=1e300), ValueError, "threshold must be finite in float32"),
  (dict(mode=np.array([1.0, 2.0])), TypeError, "mode must be one of ['min', 'max']"),  # fuzz
  (dict(threshold_mode=1), TypeError, "threshold_mode must be one of ['rel', 'abs']"),
  (dict(mode="mni"), ValueError, "did you mean 'min'?"),
]


@pytest.mark.parametrize("kwargs,error,message", PLATEAU, ids=[str(p[0]) for p in PLATEAU])
def test_plateau_construction_goes_through_the_one_path(kwargs, error, message):
  with pytest.raises(error) as info:
    js.reduce_on_plateau(**kwargs)
  assert message in str(info.value) and "reduce_on_plateau" in str(info.value)


# --- the _convert API itself -----------------------------------------------------------------------------


def test_convert_api_returns_float64_and_int64():
  r = _convert.host_real("f", "x", [0.1, 2], 1)
  assert r.dtype == np.float64 and r.tolist() == [0.1, 2.0]  # the doubles as written
  c = _convert.host_count("f", "n", [3.0, np.int64(4)], 1)
  assert c.dtype == np.int64 and c.tolist() == [3, 4]
  assert _convert.host_count("f", "n", 2**31 - 1).item() == 2**31 - 1
  with pytest.raises(ValueError, match="f: n must be a non-negative integer step count, got 2.5"):
    _convert.host_count("f", "n", 2.5)
  with pytest.raises(ValueError, match="f: x must be a scalar"):
    _convert.host_real("f", "x", [1.0], 0)
  with pytest.raises(ValueError, match="f: x must be a 1-D sequence, got a nested"):
    _convert.host_real("f", "x", [[1.0]], 1)
  with pytest.raises(TypeError, match="f: x must be a concrete number"):
    jax.jit(lambda v: _convert.host_real("f", "x", v))(1.0)
  assert _convert.static_flag("f", "flag", np.bool_(False), (False, True)) is False


# --- checked mode names rows -------------------------------------------------------------------------------

GAMMAS = np.linspace(0.5, 0.99, 14)


def _replace(batch, field, value):
  """A traced hyperparameter update (what a hypergradient step does): same structure, new leaf.
  (A real field is one leaf, or a (hi, lo) pair whose lo becomes 0.)"""

  def swap(path, x):
    key = jax.tree_util.keystr(path)
    if not key.startswith(f".{field}"):
      return x
    return (
      value.astype(x.dtype)
      if key in (f".{field}", f".{field}.hi", f".{field}[0]")
      else jnp.zeros_like(x)
    )

  return jax.tree_util.tree_map_with_path(swap, batch)


@jax.jit
def _hyper_step(batch, delta):
  """gamma ← gamma − delta under jit (a traced update), then the checked call."""
  gamma = jnp.asarray(GAMMAS, jnp.float32) - delta
  return js.checked(_replace(batch, "gamma", gamma), jnp.arange(4))


def test_checked_mode_names_failing_rows_and_values():
  batch = js.stack([js.exponential(1.0, float(g)) for g in GAMMAS])
  delta = np.zeros(14, np.float32)
  delta[5] = np.float32(GAMMAS[5]) + np.float32(0.25)  # row 5 becomes -0.25
  delta[11] = np.float32(GAMMAS[11])  # row 11 becomes 0.0
  err, out = _hyper_step(batch, jnp.asarray(delta))
  message = err.get()
  assert message.startswith("exponential: gamma must be > 0; rows 5 (-0.25), 11 (0.0)"), message
  assert out.shape == (14, 4)

  err, _ = _hyper_step(batch, jnp.zeros(14))
  assert err.get() is None

  delta = np.zeros(14, np.float32)
  delta[3] = 2.0
  message = _hyper_step(batch, jnp.asarray(delta))[0].get()
  assert message.startswith("exponential: gamma must be > 0; row 3 (")
  assert "," not in message.split("(`check`")[0].split("row 3")[1]

  delta = np.full(14, 2.0, np.float32)  # every row fails: capped at 8
  message = _hyper_step(batch, jnp.asarray(delta))[0].get()
  shown = message.split("; rows ")[1].split(", and")[0].split(", ")
  assert [int(r.split(" ")[0]) for r in shown] == list(range(core.ROWS_SHOWN))
  assert f"and {14 - core.ROWS_SHOWN} more rows" in message


def test_checked_mode_on_a_concrete_batch_and_a_vector_field():
  rows = [js.multistep(1.0, [1, 2, 3], 0.5)] * 12
  batch = js.stack(rows)
  milestones = np.tile(np.array([1, 2, 3], np.int32), (12, 1))
  milestones[4] = [1, -3, 3]
  milestones[7] = [-1, 2, 3]
  bad = _replace(batch, "milestones", jnp.asarray(milestones))
  message = js.checked(bad, 3)[0].get()
  assert message.startswith("multistep: milestones must be >= 0; rows 4 ("), message
  assert "7 ([-1  2  3])" in message


def test_checked_mode_unbatched_traced_value_is_shown():
  err, _ = jax.jit(lambda g: js.checked(js.exponential(0.1, g), 3))(-0.5)
  assert err.get().startswith("exponential: gamma must be > 0, got -0.5")


def test_from_config_refuses_self_referential_configs():
  loop = {"family": "clip"}
  loop["schedule"] = loop
  with pytest.raises(ValueError, match="nested deeper than the limit"):
    js.from_config(loop)
  items = []
  items.append(items)
  with pytest.raises(ValueError, match="nested deeper than the limit"):
    js.from_config({"family": "product", "schedules": items})
