"""A schedule's leaves: one public array per hyperparameter, the user's exact double kept for
``to_config``, ``repr`` and ``==``, private derived leaves outside ``==`` and ``hash``, derived on
the host (constructing a concrete schedule compiles nothing).
"""

import jax
import jax.numpy as jnp

import jaxsched as js


def test_one_public_array_per_hyperparameter():
  s = js.exponential(0.1, 0.999999, decay_steps=3)
  assert isinstance(s.gamma, jax.Array) and s.gamma.dtype == jnp.float32 and s.gamma.shape == ()
  assert s.to_config()["gamma"] == 0.999999
  assert "gamma=0.999999" in repr(s)
  # derived leaves are private: they do not enter == or hash
  other = js.exponential(0.1, 0.999999, decay_steps=3)
  object.__setattr__(
    other, "_derived", {k: jax.tree.map(lambda x: x + 1, v) for k, v in other._derived.items()}
  )
  assert other == s and hash(other) == hash(s)


def test_constructing_concrete_schedules_compiles_nothing():
  # Validation and derivation run in NumPy on the host: no jitted program is built for them.
  jax.clear_caches()
  with jax.log_compiles(True):
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    try:
      js.cosine_restarts(0.1, 10, period_mult=1.5, decay=0.9)
      js.one_cycle(0.1, 1000, three_phase=True)
      js.exponential(0.1, 0.99, decay_steps=3, end_value=1e-3)
      js.warmup(js.cosine(0.1, 100, exponent=2.0), 10)
    finally:
      logger.removeHandler(handler)
  assert not [r for r in records if "Compiling" in r.getMessage()]
