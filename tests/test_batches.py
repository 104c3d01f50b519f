"""Batches (``jaxsched.batches``; README, "Sweeps"): ``stack``/``unstack``/``evaluate``, and mixed
batches: one batch across families, static choices, None vs a value and vector lengths, equal
setting by setting to its members; and every batch helper speaking it."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from jaxsched.batches import Mixed
from jaxsched.core import evaluate_compiled as _evaluate

# Reference values: single schedules, each through one jitted call (eager evaluation would compile
# every primitive of every formula separately, which is slow on CI).
_single = jax.jit(lambda s, t: s(t))


def _loop(batch, t):
  return np.stack([_single(s, t) for s in js.unstack(batch)])


def _configs(batch):
  return [s.to_config() for s in js.unstack(batch)]


# --- stack, unstack -------------------------------------------------------------------------------


def test_unstack_gives_the_inputs_back_and_stack_inverts_it():
  inputs = [
    js.multistep(0.1, [10, 20], 0.5),
    js.multistep(0.2, [5, 30], 0.1),
    js.multistep(0.3, [0, 0], 0.9),
  ]
  batch = js.stack(inputs)
  assert batch.batch_shape == (3,)
  singles = js.unstack(batch)
  assert [s.to_config() for s in singles] == [s.to_config() for s in inputs]
  assert all(a == b for a, b in zip(singles, inputs, strict=True))
  assert js.stack(singles) == batch
  assert js.unstack(inputs[0]) == [inputs[0]]


def test_unstack_of_a_two_axis_batch_is_row_major():
  rows = [
    js.grid(js.step, {"init_value": [0.1, 0.2, 0.3]}, step_size=10, gamma=g) for g in (0.5, 0.7)
  ]
  batch = js.stack(rows)
  assert batch.batch_shape == (2, 3)
  assert js.evaluate(batch, np.arange(5)).shape == (2, 3, 5)
  got = [(c["gamma"], c["init_value"]) for c in _configs(batch)]
  assert got == [(g, a) for g in (0.5, 0.7) for a in (0.1, 0.2, 0.3)]


def test_composites_stack():
  inputs = [js.warmup(js.cosine(v, 100), 10) for v in (0.1, 0.2)]
  batch = js.stack(inputs)
  assert _configs(batch) == [s.to_config() for s in inputs]


@pytest.mark.parametrize(
  "a, b, words",
  [
    (js.exponential(0.1, 0.9), js.step(0.1, 10, 0.9), "family 'exponential' vs 'step'"),
    (js.exponential(0.1, 0.9), js.exponential(0.1, 0.9, staircase=True), "staircase"),
    (
      js.exponential(0.1, 0.9),
      js.exponential(0.1, 0.9, end_value=0.01),
      "end_value: None vs a value",
    ),
    (
      js.multistep(0.1, [1, 2], 0.5),
      js.multistep(0.1, [1, 2, 3], 0.5),
      "milestones: length 2 vs 3",
    ),
    (js.warmup(js.cosine(0.1, 10), 5), js.warmup(js.linear(0.1, 0, 10), 5), "schedule: family"),
    (js.warmup(js.cosine(0.1, 10), 5), js.warmup(js.cosine(0.1, 10), 5, shape="cosine"), "shape"),
  ],
)
def test_stacking_batches_of_different_structures_names_the_difference(a, b, words):
  assert js.unstack(js.stack([a, b])) == [a, b]  # single schedules: a mixed batch
  with pytest.raises(
    ValueError, match="schedule 1"
  ) as info:  # batches: no new axis across structures
    js.stack([js.stack([a, a]), js.stack([b, b])])
  assert words in str(info.value)


def test_stack_rejects_empty_and_non_schedules():
  with pytest.raises(ValueError):
    js.stack([])
  with pytest.raises(TypeError):
    js.stack([js.constant(1.0), 1.0])


# --- evaluate -------------------------------------------------------------------------------------


def test_evaluate_matches_single_calls_and_compiles_once_per_structure():
  steps = jnp.arange(0, 400, 3)
  first = js.grid(
    js.warmup_cosine, {"peak_value": [0.1, 0.3, 1.0]}, warmup_steps=20, total_steps=300
  )
  second = js.grid(
    js.warmup_cosine, {"peak_value": [2.0, 0.5, 0.7]}, warmup_steps=50, total_steps=350
  )
  before = _evaluate._cache_size()
  values = js.evaluate(first, steps)
  assert _evaluate._cache_size() == before + 1
  other = js.evaluate(second, steps)
  assert _evaluate._cache_size() == before + 1  # new values, same structure: no recompile
  assert values.shape == (3,) + steps.shape
  for batch, got in ((first, values), (second, other)):
    np.testing.assert_allclose(got, _loop(batch, steps), rtol=1e-6)
  assert js.evaluate(js.constant(2.0), 5).shape == ()


# --- mixed batches --------------------------------------------------------------------------------

# One member of every family of the README's "Families" table (so every pairing shares one batch)
# and a composite, with the structural variants a mixed batch must separate: static flags and modes,
# None vs a value, vector lengths. Each comes with the steps its formula switches at. (Composites of
# cosine are left out: each formula costs a compile here and one in the reference, and the grid test
# below mixes warmup(cosine) and warmup(wsd).)
MEMBERS = [
  (js.constant(0.3), []),
  (js.exponential(0.1, 0.9, decay_steps=5, begin=10), [10, 15]),
  (js.exponential(1.0, 0.99, decay_steps=3, staircase=True, end_value=0.95), [3, 6, 15]),
  (js.step(0.1, 30, 0.1), [30, 60]),
  (js.multistep(0.1, [20, 40], 0.5), [20, 40]),
  (js.multistep(0.1, [10, 25, 25, 50], 0.3), [10, 25, 50]),
  (js.piecewise([15, 35], [1.0, 0.5, 0.1]), [15, 35]),
  (js.inverse_time(0.1, 0.5, decay_steps=7, staircase=True), [7, 14]),
  (js.inverse_sqrt(0.1, 100.0, warmup_steps=20), [20]),
  (js.linear(0.1, 0.01, 50, begin=10), [10, 60]),
  (js.polynomial(0.1, 0.001, 40, 2.0, begin=5), [5, 45]),
  (js.polynomial(0.1, 0.001, 25, 1.5, cycle=True), [25, 50]),
  (js.cosine(0.1, 80, end_value=0.001), [80]),
  (js.warmup_cosine(0.1, 10, 90, init_value=0.001, end_value=1e-4), [10, 90]),
  (js.cosine_restarts(0.1, 20, period_mult=2.0, max_cycles=3), [20, 60, 140]),
  (js.one_cycle(0.1, 100), [29, 99]),
  (js.one_cycle(0.1, 100, anneal="linear", three_phase=True), [29, 58, 99]),
  (js.cyclic(0.01, 0.1, 10, mode="triangular2"), [10, 20, 40]),
  (js.wsd(0.1, 10, 30, 20), [10, 40, 60]),
  (js.wsd(0.1, 10, 30, 20, warmup_shape="sqrt", decay_shape="cosine"), [10, 40, 60]),
  (js.per_epoch(js.step(0.1, 2, 0.5), 7), [14, 28]),  # a composite (cheap to compile)
]
SCHEDULES = [s for s, _ in MEMBERS]
STEPS = np.array(
  sorted(
    {0, 1, 2, 2**24 + 1, 2**31 - 1}
    | {x for _, bs in MEMBERS for b in bs for x in (b - 1, b, b + 1)}
  ),
  np.int32,
)


def _relative(got, want):
  """Max relative error, exact zeros required where the member is exactly zero."""
  got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
  assert np.all((got == 0) == (want == 0)), (got, want)
  nz = want != 0
  return float(np.max(np.abs(got[nz] - want[nz]) / np.abs(want[nz]), initial=0.0))


@pytest.fixture(scope="module")
def batch():
  return js.stack(SCHEDULES)


def test_every_family_pairing_equals_its_members_at_the_boundaries(batch):
  assert isinstance(batch, Mixed) and batch.batch_shape == (len(SCHEDULES),)
  assert len(batch.groups) == len(SCHEDULES)  # every member has its own structure
  got = np.asarray(batch(STEPS))  # eager call = one jitted program, the batch its argument
  assert got.shape == (len(SCHEDULES), STEPS.size)
  for i, s in enumerate(SCHEDULES):
    want = np.asarray(_single(s, STEPS))
    assert np.all(np.isfinite(want))
    assert _relative(got[i], want) <= 2e-7, (i, s)


def test_unstack_repr_len_and_config_round_trip(batch):
  members = js.unstack(batch)
  assert len(batch) == len(members) == len(SCHEDULES)
  for got, want in zip(members, SCHEDULES, strict=True):
    assert type(got) is type(want) and got == want
    assert got.to_config() == want.to_config()
    assert js.from_config(got.to_config()) == want
  assert js.stack(members) == batch  # canonical group order: the same batch
  text = repr(batch)
  assert text.startswith(f"mixed[{len(SCHEDULES)}](") and all(repr(s) in text for s in SCHEDULES)
  with pytest.raises(ValueError, match="unstack"):
    batch.to_config()
  row = jax.tree.map(lambda x: x[3], batch)  # one setting of the batch, unbatched
  assert row.to_config() == SCHEDULES[3].to_config() and repr(row) == f"mixed({SCHEDULES[3]!r})"
  assert js.stack([row, SCHEDULES[5]]) == js.stack([SCHEDULES[3], SCHEDULES[5]])


def test_same_structure_is_still_a_plain_batch_and_batches_do_not_mix():
  plain = js.stack([js.cosine(0.1, 10), js.cosine(0.2, 20)])
  assert type(plain) is type(js.cosine(0.1, 10)) and plain.batch_shape == (2,)
  other = js.stack([js.linear(0.1, 0.0, 10), js.linear(0.2, 0.0, 10)])
  with pytest.raises(ValueError, match="unstack"):
    js.stack([plain, other])


def test_one_compiled_program_for_new_values_of_the_same_mix():
  a = js.stack(
    [
      js.linear(0.1, 0.0, 100),
      js.wsd(0.1, 10, 50, 40),
      js.exponential(0.1, 0.99),
      js.linear(0.3, 0.01, 50),
    ]
  )
  b = js.stack(
    [
      js.exponential(0.5, 0.9, begin=3),
      js.wsd(0.2, 5, 10, 80),
      js.linear(0.7, 0.1, 20),
      js.wsd(0.05, 0, 0, 10),
    ]
  )  # same structures, another order and values
  f = jax.jit(chex.assert_max_traces(lambda s, t: s(t), n=1))  # a retrace fails the call
  t = jnp.arange(0, 120, 11)
  got_a, got_b = f(a, t), f(b, t)
  closed = jax.jit(lambda t: a(t))(t)  # closed over: constant-folded leaves
  for row, s in zip(np.asarray(closed), js.unstack(a), strict=True):
    assert _relative(row, _single(s, t)) <= 2e-7
  before = _evaluate._cache_size()
  js.evaluate(a, t)
  js.evaluate(b, t)
  assert _evaluate._cache_size() <= before + 1
  for got, batch in ((got_a, a), (got_b, b)):
    for row, s in zip(np.asarray(got), js.unstack(batch), strict=True):
      assert _relative(row, _single(s, t)) <= 2e-7


def test_gradients_flow_only_through_each_settings_own_group():
  members = [
    js.exponential(0.1, 0.95),
    js.linear(0.2, 0.01, 30),
    js.exponential(0.3, 0.9),
    js.wsd(0.1, 5, 10, 10),
  ]
  batch = js.stack(members)
  t = jnp.arange(0, 40, 3)
  grads = jax.grad(lambda b: jnp.sum(b(t)), allow_int=True)(batch)
  floating = lambda tree: [
    x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)
  ]
  which = np.asarray(batch.which)
  for i, s in enumerate(members):
    own = jax.grad(lambda s: jnp.sum(s(t)), allow_int=True)(s)
    for g, group_grad in enumerate(grads.groups):
      rows = [np.asarray(x[i]) for x in floating(group_grad)]
      assert all(np.all(np.isfinite(r)) for r in rows)
      if g == which[i]:
        for r, o in zip(rows, floating(own), strict=True):
          np.testing.assert_allclose(r, o, rtol=1e-6)
      else:
        assert all(np.all(r == 0) for r in rows)  # placeholders get nothing
  # closed form: d/d init_value of sum_t 0.1·0.95^t is sum_t 0.95^t
  exp_group = grads.groups[which[0]]
  np.testing.assert_allclose(
    floating(exp_group)[0][0], np.sum(0.95 ** np.arange(0, 40, 3.0)), rtol=1e-6
  )


def test_stack_inside_jit_of_traced_members():
  f = jax.jit(
    lambda a, t: js.stack([js.step(a, 10, 0.5), js.linear(a, 0.0, 100), js.step(a, 50, 0.1)])(t)
  )
  t = jnp.array([0, 49, 50, 51, 99, 100, 101])
  got = np.asarray(f(0.1, t))
  for row, s in zip(
    got, [js.step(0.1, 10, 0.5), js.linear(0.1, 0.0, 100), js.step(0.1, 50, 0.1)], strict=True
  ):
    assert _relative(row, _single(s, t)) <= 2e-7


def test_grid_over_family_and_static_choices():
  families = {"cosine": lambda lr: js.cosine(lr, 100), "wsd": lambda lr: js.wsd(lr, 10, 50, 40)}
  batch = js.grid(
    lambda family, lr, shape: js.warmup(families[family](lr), 5, shape=shape),
    {"family": list(families), "lr": [0.1, 0.2], "shape": ["linear", "cosine"]},
  )
  members = js.unstack(batch)
  assert len(batch) == 8 and len(batch.groups) == 4  # 2 families x 2 static shapes
  peak = lambda c: c.get("peak_value", c.get("init_value"))
  got = [(m.schedule.family, peak(m.to_config()["schedule"]), m.shape) for m in members]
  assert got == [(f, lr, sh) for f in families for lr in (0.1, 0.2) for sh in ("linear", "cosine")]


def test_sample_with_a_static_choice_and_a_family_factory():
  key = jax.random.key(0)
  batch = js.sample(
    lambda family, lr: js.linear(lr, 0.0, 100) if family == "linear" else js.exponential(lr, 0.99),
    key,
    12,
    {"family": js.choice(["linear", "exponential"]), "lr": js.log_uniform(1e-3, 1e-1)},
  )
  members = js.unstack(batch)
  assert {m.family for m in members} == {"linear", "exponential"}
  t = np.arange(0, 120, 13)
  values = np.asarray(js.evaluate(batch, t))
  for row, m in zip(values, members, strict=True):
    assert _relative(row, _single(m, t)) <= 2e-7


def test_plot_draws_a_mixed_batch():
  matplotlib = pytest.importorskip("matplotlib")
  matplotlib.use("Agg")
  from matplotlib.figure import Figure

  members = [
    js.linear(0.1, 0.0, 50),
    js.wsd(0.1, 5, 20, 20, decay_shape="cosine"),
    js.constant(0.05),
  ]
  ax = js.plot(js.stack(members), 60, ax=Figure().subplots())
  lines = ax.get_lines()
  assert [l.get_label() for l in lines] == [repr(m) for m in members]
  for line, m in zip(lines, members, strict=True):
    assert _relative(line.get_ydata(), _single(m, np.arange(60))) <= 2e-7
