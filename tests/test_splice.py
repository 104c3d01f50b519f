"""js.splice: join whose pieces read the global step (the lineage of population-based training).

Against a float64 NumPy reference written from the formula (``t < b₀: s₀(t)``; ``bᵢ₋₁ ≤ t < bᵢ:
sᵢ(t)``) at b−1, b, b+1 of every boundary, a dense stretch and the large steps; config, repr and
flax-free round trips; the jit, vmap and grad routes; bad input.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched as js
from tests import reference as ref
from tests.cases import LARGE, T

B1, B2 = 100, 2**24 + 1
PIECES = [
  (js.cosine(0.1, 1000, end_value=1e-3), lambda t: ref.cosine(t, 0.1, 1000, end_value=1e-3)),
  (js.exponential(0.05, 0.9999), lambda t: ref.exponential(t, 0.05, 0.9999)),
  (js.linear(0.02, 1e-5, T), lambda t: ref.linear(t, 0.02, 1e-5, T)),
]


def _reference(t):
  t = np.asarray(t, np.int64)
  a, b, c = (f(t) for _, f in PIECES)
  return np.where(t < B1, a, np.where(t < B2, b, c))


def _steps():
  pts = set(range(64)) | set(LARGE)
  for b in (B1, B2):
    pts |= {b - 1, b, b + 1}
  return np.array(sorted(pts), np.int64)


def test_matches_the_float64_reference_at_boundaries_and_large_steps():
  s = js.splice([p for p, _ in PIECES], [B1, B2])
  t = _steps()
  ref.assert_rel(s(t.astype(np.int32)), _reference(t), rtol=1e-6)
  # each piece at the global step: the same bits as the piece alone on its range
  for lo, hi, (piece, _) in zip([0, B1, B2], [B1, B2, T + 1], PIECES, strict=True):
    inside = t[(t >= lo) & (t < hi)].astype(np.int32)
    np.testing.assert_array_equal(s(inside), piece(inside))


def test_is_join_with_each_piece_moved_to_its_global_range():
  # linear(0.1, 0, 100) at the global step t >= 10 is linear(0.09, 0, 90) at the local step t − 10
  t = np.arange(0, 120)
  spliced = js.splice([js.constant(0.1), js.linear(0.1, 0.0, 100)], [10])(t)
  joined = js.join([js.constant(0.1), js.linear(0.09, 0.0, 90)], [10])(t)
  np.testing.assert_allclose(spliced, joined, rtol=1e-6, atol=1e-9)
  assert not np.allclose(spliced, js.join([js.constant(0.1), js.linear(0.1, 0.0, 100)], [10])(t))


def test_one_piece_equal_boundaries_and_a_zero_boundary():
  only = js.splice([js.cosine(0.1, 50)], [])
  t = np.arange(60)
  np.testing.assert_array_equal(only(t), js.cosine(0.1, 50)(t))
  s = js.splice([js.constant(1.0), js.constant(2.0), js.constant(3.0)], [5, 5])
  np.testing.assert_array_equal(s(np.array([4, 5, 6])), [1.0, 3.0, 3.0])
  s = js.splice([js.constant(1.0), js.constant(2.0)], [0])
  np.testing.assert_array_equal(s(np.array([0, 1])), [2.0, 2.0])


def test_round_trips_through_config_json_and_repr():
  import json

  s = js.splice(
    [js.warmup(js.cosine(0.1, 90), 10), js.exponential(0.03, 0.99, end_value=1e-4)], [50]
  )
  assert js.from_config(json.loads(json.dumps(s.to_config()))) == s
  assert js.parse(repr(s)) == s
  assert repr(s).startswith("splice(schedules=[warmup(")
  t = np.array([0, 49, 50, 51, 2**31 - 1])
  np.testing.assert_array_equal(js.parse(repr(s))(t), s(t))


def test_jit_vmap_and_traced_boundaries():
  s = js.splice([js.constant(0.1), js.linear(0.1, 0.0, 100)], [10])
  t = jnp.arange(0, 40)
  np.testing.assert_array_equal(jax.jit(lambda s: s(t))(s), s(t))
  batch = js.stack([s, js.splice([js.constant(0.2), js.linear(0.2, 0.0, 50)], [20])])
  got = jax.vmap(lambda s: s(t))(batch)
  np.testing.assert_array_equal(got[0], s(t))
  traced = jax.jit(lambda b: js.splice([js.constant(1.0), js.constant(2.0)], jnp.stack([b]))(t))
  np.testing.assert_array_equal(traced(jnp.int32(7)), np.where(np.arange(40) < 7, 1.0, 2.0))


def test_gradients_reach_only_the_active_piece():
  s = js.splice(
    [js.polynomial(0.1, 0.0, 5, power=0.5), js.polynomial(0.1, 0.0, 500, power=0.5)], [5]
  )
  g = jax.grad(lambda s: s(20), allow_int=True)(s)
  assert float(g.schedules[0].init_value) == 0.0  # the inactive first piece
  with jax.enable_x64(True):
    f = lambda v: js.splice([js.constant(0.1), js.cosine(v, 100)], [10])(30)
    got = jax.grad(f)(jnp.float64(0.3))
    want = (f(0.3 + 1e-6) - f(0.3 - 1e-6)) / 2e-6
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_works_as_an_optax_learning_rate():
  optax = pytest.importorskip("optax")
  s = js.splice([js.constant(0.1), js.constant(0.01)], [2])
  opt = optax.sgd(s)
  params = jnp.zeros(())
  state = opt.init(params)
  moves = []
  for _ in range(4):
    updates, state = opt.update(jnp.ones(()), state, params)
    moves.append(float(updates))
  np.testing.assert_allclose(moves, [-0.1, -0.1, -0.01, -0.01], rtol=1e-6)


@pytest.mark.parametrize(
  "build,match",
  [
    (lambda: js.splice([js.constant(1.0), js.constant(2.0)], [1, 2]), "len\\(boundaries\\)"),
    (lambda: js.splice([js.constant(1.0), js.constant(2.0)], [-1]), "boundaries"),
    (lambda: js.splice([js.constant(1.0)] * 3, [5, 2]), "non-decreasing"),
    (lambda: js.splice([], []), "schedules"),
  ],
)
def test_bad_input_names_the_parameter(build, match):
  with pytest.raises(ValueError, match=match):
    build()


def test_a_list_of_non_schedules_is_a_type_error():
  with pytest.raises(TypeError, match="schedules"):
    js.splice([js.constant(1.0), 2.0], [1])
