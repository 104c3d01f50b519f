"""Schedules and plateau states serialize the Flax way and checkpoint with Orbax;
resuming mid-run gives the identical lr sequence and identical parameters."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js
from tests.cases import CASES
from tests.test_config import COMPOSITES

serialization = pytest.importorskip("flax.serialization")

EXTRA = [
  js.cosine(0.1, 100) + 1e-4,
  0.2 - js.linear(0.0, 0.1, 50),
  js.cosine(0.1, 100) - js.constant(1e-3),
  js.one_cycle(0.1, epochs=3, steps_per_epoch=7),
]


def _inverse(t, base, rate):
  return base / (1 + rate * t)


EXTRA.append(js.custom(_inverse, base=0.1, rate=0.5))


def _one_per_family():
  every = [c["factory"](**c["kwargs"]) for c in CASES] + COMPOSITES + EXTRA
  first = {}
  for s in every:
    first.setdefault(s.family, s)
  return list(first.values()) + [COMPOSITES[0], COMPOSITES[1]]  # join, warmup: nested twice


def _blank(s):
  """A target of the same structure whose every value differs, so the values must come from the
  bytes (``from_bytes`` takes structure from its target, as for any Flax pytree)."""
  return jax.tree.map(lambda x: jnp.asarray(x) + jnp.ones((), jnp.asarray(x).dtype), s)


def test_every_family_is_covered():
  builtin = {n for n, c in js.FAMILIES.items() if c.__module__.startswith("jaxsched.")}
  assert {s.family for s in _one_per_family()} == builtin


@pytest.mark.parametrize("s", _one_per_family(), ids=lambda s: s.family)
def test_flax_round_trip_for_every_family_and_composite(s):
  data = serialization.to_bytes(s)
  assert serialization.from_bytes(s, data) == s
  back = serialization.from_bytes(_blank(s), data)
  assert back == s and type(back) is type(s) and repr(back) == repr(s)
  nested = serialization.to_bytes({"schedule": s, "step": 3})
  assert serialization.from_bytes({"schedule": _blank(s), "step": 0}, nested)["schedule"] == s


def test_restored_schedule_evaluates_identically_and_batches_round_trip():
  s = js.warmup(js.constant(0.1), 10) * 0.5 + 1e-5
  back = serialization.from_bytes(_blank(s), serialization.to_bytes(s))
  t = np.array([0, 1, 9, 10, 11, 99, 100, 101, 2**31 - 1])
  np.testing.assert_array_equal(back(t), s(t))
  batch = js.stack([js.exponential(0.1, 0.9), js.exponential(0.2, 0.99)])
  assert serialization.from_bytes(_blank(batch), serialization.to_bytes(batch)) == batch


def test_state_dict_is_the_leaf_fields_and_mismatches_are_named():
  s = js.warmup(js.constant(0.1), 5)
  state = serialization.to_state_dict(s)
  # the public leaf fields, and the private leaves: the user's doubles and the derived constants
  assert set(state) == {"schedule", "warmup_steps", "init_value", "_lo", "_derived"}
  assert set(state["schedule"]) == {"value", "_lo", "_derived"}
  with pytest.raises(
    ValueError,
    match=r"cosine: the saved state does not fit this schedule.*"
    r"fields are \['init_value', 'steps'",
  ):
    serialization.from_bytes({"s": js.cosine(0.1, 10)}, serialization.to_bytes({"s": s}))


def test_restoring_out_of_range_values_is_refused_like_construction():
  good, bad = js.exponential(0.1, 0.9), js.exponential(0.1, 0.9)
  bad = jax.tree.map(
    lambda x: -abs(np.asarray(x)) if np.issubdtype(np.asarray(x).dtype, np.floating) else x, bad
  )  # gamma <= 0, init < 0
  with pytest.raises(ValueError, match="restored exponential: gamma must be > 0"):
    serialization.from_bytes(good, serialization.to_bytes(bad))


def _plateau_after(metrics, **config):
  tx = js.reduce_on_plateau(**config)
  state = tx.init({})
  for m in metrics:
    _, state = tx.update({}, state, value=m)
  return tx, state


def test_flax_round_trip_of_reduce_on_plateau_state():
  _, state = _plateau_after(
    [3.0, 2.0, 2.5, 2.6, 2.7],
    factor=0.5,
    patience=1,
    cooldown=2,
    mode="min",
    threshold_mode="abs",
    accumulation_steps=1,
  )
  assert float(state.scale) == 0.5
  _, blank = _plateau_after([], factor=0.1, patience=7, mode="max")
  back = serialization.from_bytes(blank, serialization.to_bytes(state))
  nested = serialization.from_bytes({"plateau": blank}, serialization.to_bytes({"plateau": state}))
  for restored in (back, nested["plateau"]):
    assert type(restored) is js.ReduceOnPlateauState
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state), strict=True):
      np.testing.assert_array_equal(a, b)


def test_orbax_checkpoint_round_trip(tmp_path):
  ocp = pytest.importorskip("orbax.checkpoint")
  s = js.join([js.linear(0.0, 0.1, 10), js.cosine(0.1, 90)], [10]) - 1e-5
  _, state = _plateau_after([1.0, 2.0, 3.0], factor=0.5, patience=0)
  tree = {"schedule": s, "plateau": state}
  with ocp.StandardCheckpointer() as ckpt:
    ckpt.save(tmp_path / "ckpt", tree)
    ckpt.wait_until_finished()
    back = ckpt.restore(
      tmp_path / "ckpt",
      jax.tree.map(ocp.utils.to_shape_dtype_struct, {"schedule": _blank(s), "plateau": state}),
    )
  assert back["schedule"] == s
  for a, b in zip(jax.tree.leaves(back["plateau"]), jax.tree.leaves(state), strict=True):
    np.testing.assert_array_equal(a, b)


# --- resuming mid-run --------------------------------------------------------------------------------


def _optimizer(schedule):
  return optax.chain(
    optax.inject_hyperparams(optax.adamw)(learning_rate=schedule, weight_decay=1e-3),
    js.reduce_on_plateau(factor=0.5, patience=1),
  )


@jax.jit
def _step(schedule, params, state, k):
  """One update; the schedule is an argument, so every run (and the resumed one) shares this
  compiled program."""
  x = jnp.linspace(-1, 1, 24).reshape(8, 3)
  y = jnp.array([1.0, -1.0, 0.5, 2.0, 0.0, 1.5, -0.5, 0.25])
  loss = lambda p: jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
  tx, grads = _optimizer(schedule), jax.grad(loss)(params)
  updates, state = jax.lax.cond(  # a decision every 4th update, none between
    k % 4 == 3,
    lambda: tx.update(grads, state, params, value=loss(params)),
    lambda: tx.update(grads, state, params),
  )
  return optax.apply_updates(params, updates), state, js.current_lr(state)


def _run(schedule, params, state, ks):
  state = _optimizer(schedule).init(params) if state is None else state
  lrs = []
  for k in ks:
    params, state, lr = _step(schedule, params, state, k)
    lrs.append(np.asarray(lr))
  return params, state, lrs


@pytest.mark.parametrize("how", ["flax", "orbax"])
def test_resume_from_checkpoint_gives_identical_lrs_and_params(how, tmp_path):
  schedule = js.warmup(js.cosine(3e-2, 40, end_value=1e-4), 8)
  params0 = {"w": jnp.zeros(3), "b": jnp.zeros(())}
  full_params, full_state, full_lrs = _run(schedule, params0, None, range(48))
  assert float(full_state[1].scale) < 1  # the plateau reduced on the way: resumed too

  params, state, lrs = _run(schedule, params0, None, range(20))
  checkpoint = {"params": params, "opt_state": state, "schedule": schedule}
  # The resumed process knows only the structure: a fresh schedule and state of the same shape.
  stranger = js.warmup(js.cosine(1.0, 40, end_value=0.5), 3)
  target = {
    "params": params0,
    "opt_state": _optimizer(stranger).init(params0),
    "schedule": stranger,
  }
  if how == "flax":
    restored = serialization.from_bytes(target, serialization.to_bytes(checkpoint))
  else:
    ocp = pytest.importorskip("orbax.checkpoint")
    with ocp.StandardCheckpointer() as ckpt:
      ckpt.save(tmp_path / "ckpt", checkpoint)
      ckpt.wait_until_finished()
      restored = ckpt.restore(
        tmp_path / "ckpt", jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
      )
  assert restored["schedule"] == schedule
  params, _, more = _run(
    restored["schedule"], restored["params"], restored["opt_state"], range(20, 48)
  )
  np.testing.assert_array_equal(np.array(lrs + more), np.array(full_lrs))
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(full_params), strict=True):
    np.testing.assert_array_equal(a, b)


# --- registration without importing flax -------------------------------------------------------------

_SCRIPT = textwrap.dedent("""
    import sys
    {first}
    assert ("flax" in sys.modules) == {flax_first}, "jaxsched must not import flax by itself"
    import flax.serialization as fs
    import jaxsched as js
    from jaxsched.core import Schedule, family, real
    s = js.warmup(js.cosine(0.1, 10), 3)
    assert fs.from_bytes(s, fs.to_bytes(s)) == s

    @family("my_constant")                  # a family defined after flax: registers too
    class Mine(Schedule):
      value: float = real()
      def formula(self, t):
        return t * 0 + self.value
    m = Mine(0.25)
    assert fs.from_bytes(Mine(1.0), fs.to_bytes(m)) == m
    import jaxsched.serialization as ser
    assert not any(isinstance(f, ser._Finder) for f in sys.meta_path)   # the hook removed itself
    print("ok")
""")


def test_flax_registration_is_lazy_and_covers_later_families():
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  runs = {
    flax_first: subprocess.Popen(
      [
        sys.executable,
        "-c",
        _SCRIPT.format(
          first="import flax" if flax_first else "import jaxsched", flax_first=flax_first
        ),
      ],
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
      env=env,
      cwd=root,
    )
    for flax_first in (False, True)
  }  # both orders at once: one wait, not two
  for flax_first, run in runs.items():
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0 and out.strip().endswith("ok"), (flax_first, err[-2000:])
