"""Writing a family is public API: a user's family, declared in a few lines with ``js.family`` and
``js.real``/``count``/``static``, gets everything a built-in one has; ``js.custom`` makes a schedule
of a pure function. References are float64 NumPy of the same formula."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental import checkify

import jaxsched as js


@js.family("bump_decay")
class BumpDecay(js.Schedule):
  """peak · exp(−½((t − center)/width)²) + floor."""

  peak: float = js.real()
  center: int = js.count()
  width: float = js.real(checks=[js.positive])
  floor: float = js.real(0.0)
  shape: str = js.static("gauss", choices=("gauss", "flat"))

  def formula(self, t):  # t: the clamped step, a float array of the result dtype
    z = (t - self.center) / self.width
    bump = jnp.exp(-0.5 * z * z) if self.shape == "gauss" else jnp.where(jnp.abs(z) <= 1, 1.0, 0.0)
    return self.peak * bump + self.floor


def ref_bump(t, peak, center, width, floor=0.0, shape="gauss"):
  z = (np.asarray(t, np.float64) - center) / width
  bump = np.exp(-0.5 * z * z) if shape == "gauss" else (np.abs(z) <= 1).astype(np.float64)
  return peak * bump + floor


S = BumpDecay(0.1, 500, 120.0, floor=1e-4)
T = np.array([0, 1, 379, 380, 381, 499, 500, 501, 1000, 2**24 + 1, 2**31 - 1])


def test_formula_against_float64():
  np.testing.assert_allclose(
    np.asarray(S(T), np.float64), ref_bump(T, 0.1, 500, 120.0, 1e-4), rtol=1e-6
  )
  flat = BumpDecay(0.1, 500, 120.0, shape="flat")
  np.testing.assert_allclose(
    np.asarray(flat(T), np.float64), ref_bump(T, 0.1, 500, 120.0, shape="flat"), rtol=1e-6
  )


def test_the_formula_sees_float_steps_of_the_result_dtype():
  seen = []

  @js.family("_probe_steps")
  class Probe(js.Schedule):
    v: float = js.real()

    def formula(self, t):
      seen.append(t.dtype)
      return t * 0 + self.v

  try:
    Probe(0.5)(jnp.int32(3))
    Probe(0.5)(2**40)
    assert set(seen) == {jnp.dtype(jnp.float32)}
    assert float(Probe(0.5)(-5)) == 0.5
  finally:
    del js.FAMILIES["_probe_steps"]


def test_repr_parse_and_config_round_trip():
  assert repr(S) == ("bump_decay(peak=0.1, center=500, width=120.0, floor=0.0001, shape='gauss')")
  assert js.parse(repr(S)) == S
  assert js.parse("bump_decay(0.1, 500, 120.0, floor=0.0001)") == S
  assert js.from_config(S.to_config()) == S
  assert S.to_config() == {
    "family": "bump_decay",
    "peak": 0.1,
    "center": 500,
    "width": 120.0,
    "floor": 0.0001,
    "shape": "gauss",
  }


@pytest.mark.parametrize(
  "kwargs,error,words",
  [
    (dict(peak=0.1, center=5, width=-1.0), ValueError, "bump_decay: width must be > 0"),
    (dict(peak=0.1, center=5, width=1.0, shape="box"), ValueError, "shape must be one of"),
    (dict(peak=0.1, center=2.5, width=1.0), ValueError, "center"),
    (dict(peak="a", center=5, width=1.0), TypeError, "peak"),
    (dict(peak=float("nan"), center=5, width=1.0), ValueError, "peak must be finite"),
    (
      dict(peak=0.1, center=-1, width=1.0),
      ValueError,
      r"center must be an integer in \[0, 2\^31-1\]",
    ),
  ],
)
def test_construction_errors_name_the_field(kwargs, error, words):
  with pytest.raises(error, match=words):
    BumpDecay(**kwargs)


def test_grid_sample_stack_mixed_and_unstack():
  batch = js.grid(BumpDecay, {"peak": [0.1, 0.2], "width": [50.0, 100.0]}, center=300)
  rows = js.unstack(batch)
  assert [(r.to_config()["peak"], r.to_config()["width"]) for r in rows] == [
    (0.1, 50.0),
    (0.1, 100.0),
    (0.2, 50.0),
    (0.2, 100.0),
  ]
  values = np.asarray(js.evaluate(batch, T))
  for row, s in zip(values, rows, strict=True):
    np.testing.assert_array_equal(row, np.asarray(s(T)))
  drawn = js.sample(
    BumpDecay, jax.random.key(0), 5, {"width": js.log_uniform(10.0, 1000.0)}, peak=0.1, center=100
  )
  assert drawn.batch_shape == (5,)
  assert all(10.0 <= float(s.width) <= 1000.0 for s in js.unstack(drawn))
  mixed = js.stack([S, js.cosine(0.1, 1000), BumpDecay(0.2, 10, 5.0, shape="flat")])
  got = np.asarray(js.evaluate(mixed, T))
  for row, s in zip(
    got, [S, js.cosine(0.1, 1000), BumpDecay(0.2, 10, 5.0, shape="flat")], strict=True
  ):
    np.testing.assert_allclose(row, np.asarray(s(T)), rtol=1e-6)
  assert js.unstack(mixed)[0] == S


def test_sweep_matches_settings_run_alone():
  batch = js.grid(BumpDecay, {"peak": [0.05, 0.1, 0.2]}, center=20, width=10.0)

  def run(schedule):
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule)
    w = jnp.ones(3)
    state = opt.init(w)
    for _ in range(5):
      updates, state = opt.update(2 * w, state, w)
      w = optax.apply_updates(w, updates)
    return jnp.sum(w * w)

  out = np.asarray(js.sweep(run, batch, progress=False))
  alone = [float(jax.jit(run)(s)) for s in js.unstack(batch)]
  np.testing.assert_allclose(out, alone, rtol=1e-6)


def test_jit_argument_never_retraces_on_new_values():
  @jax.jit
  @chex.assert_max_traces(n=1)
  def lr(s, t):
    return s(t)

  a = lr(S, 400)
  b = lr(BumpDecay(0.3, 10, 7.0, floor=0.5), 400)
  assert float(a) != float(b)
  np.testing.assert_allclose(float(b), ref_bump(400, 0.3, 10, 7.0, 0.5), rtol=1e-6)


def test_grad_matches_finite_differences():
  t = jnp.asarray(450.0)
  grads = jax.grad(lambda s: s(t), allow_int=True)(S)
  for name, value in (("peak", 0.1), ("width", 120.0), ("floor", 1e-4)):  # float64 differences
    h = 1e-6 * max(abs(value), 1.0)
    kw = dict(peak=0.1, center=500, width=120.0, floor=1e-4)
    up, down = dict(kw, **{name: value + h}), dict(kw, **{name: value - h})
    fd = (ref_bump(450, **up) - ref_bump(450, **down)) / (2 * h)
    np.testing.assert_allclose(float(getattr(grads, name)), fd, rtol=1e-4)
  params, rest = js.partition(S)
  assert sorted(params) == ["floor", "peak", "width"]
  moved = js.combine(dict(params, width=60.0), rest)
  assert moved == BumpDecay(0.1, 500, 60.0, floor=1e-4)


def test_checked_mode_names_the_failing_rows():
  widths = jnp.array([1.0, -2.0, 3.0, 0.0])
  build = jax.vmap(lambda w: BumpDecay(0.1, 5, w))  # traced: construction cannot check

  @jax.jit
  def check(w):
    return checkify.checkify(lambda w: js.validate(build(w)))(w)[0]

  message = str(check(widths).get())
  assert "bump_decay: width must be > 0" in message and "rows 1 (-2.0), 3 (0.0)" in message
  assert check(jnp.ones(4)).get() is None


def test_flax_serialization_round_trip():
  serialization = pytest.importorskip("flax.serialization")
  blob = serialization.to_bytes(S)
  restored = serialization.from_bytes(BumpDecay(1.0, 1, 1.0), blob)
  assert restored == S


def test_in_optax_and_current_lr():
  opt = optax.inject_hyperparams(optax.adamw)(learning_rate=S)
  w = jnp.ones(2)
  state = opt.init(w)
  for _ in range(3):
    updates, state = opt.update(w, state, w)
  assert js.current_lr(state) == S(2)
  joined = optax.join_schedules([S, js.constant(0.01)], [100])
  assert float(joined(5)) == float(S(5))


def test_a_family_needs_a_schedule_and_declared_fields():
  with pytest.raises(TypeError, match="Schedule subclass"):
    js.family("_not_a_schedule")(object)
  with pytest.raises(ValueError, match="registered twice"):
    js.family("bump_decay")(type("Again", (js.Schedule,), {"formula": lambda s, t: t}))


# --- js.custom -------------------------------------------------------------------------------------


def inverse(t, base, rate):
  return base / (1 + rate * t)


C = js.custom(inverse, base=0.1, rate=0.5)


def test_custom_value_batches_and_jit():
  np.testing.assert_allclose(
    np.asarray(C(T), np.float64), 0.1 / (1 + 0.5 * T.astype(np.float64)), rtol=1e-6
  )
  batch = js.stack([C, js.custom(inverse, base=0.2, rate=0.1)])
  np.testing.assert_allclose(
    np.asarray(js.evaluate(batch, T))[1],
    np.asarray(js.custom(inverse, base=0.2, rate=0.1)(T)),
    rtol=1e-6,
  )
  mixed = js.stack([C, js.cosine(0.1, 10)])
  np.testing.assert_allclose(np.asarray(js.evaluate(mixed, T))[0], np.asarray(C(T)), rtol=1e-6)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def lr(s, t):
    return s(t)

  lr(C, 3)
  assert float(lr(js.custom(inverse, base=0.3, rate=1.0), 1)) == pytest.approx(0.15, rel=1e-6)


def test_custom_grad_and_repr_and_no_config():
  g = jax.grad(lambda s: s(2.0))(C)
  np.testing.assert_allclose(np.asarray(g.values), [1 / 2.0, -0.1 * 2.0 / 2.0**2], rtol=1e-6)
  assert repr(C) == "custom(inverse, base=0.1, rate=0.5)"
  assert set(C.hyperparameters) == {"base", "rate"}
  with pytest.raises(TypeError, match="cannot be saved as data"):
    C.to_config()
  with pytest.raises(TypeError, match="cannot be saved as data"):
    (C * 2).to_config()
  with pytest.raises(TypeError, match="fn must be a callable"):
    js.custom(3.0, base=0.1)
  with pytest.raises(ValueError, match="finite"):
    js.custom(inverse, base=float("inf"), rate=0.5)
  opt = optax.inject_hyperparams(optax.sgd)(learning_rate=C)
  state = opt.init(jnp.ones(2))
  _, state = opt.update(jnp.ones(2), state)
  assert js.current_lr(state) == C(0)
