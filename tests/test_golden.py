"""Golden tables from the peers themselves (torch, Keras, Optax, HF; see make_golden.py).

Each case holds a peer call, the jaxsched config equal to it (the README's "peer equivalent"
columns), steps and float64 values.
"""

import glob
import json
import os

import jax
import numpy as np
import pytest

import jaxsched as js
from tests.reference import assert_rel

DATA = os.path.join(os.path.dirname(__file__), "data")
FILES = sorted(
  f
  for f in glob.glob(os.path.join(DATA, "golden_*.json"))
  if not f.endswith(("golden_plateau.json", "golden_meta.json"))
)
CASES = [(os.path.basename(f)[7:-5], c) for f in FILES for c in json.load(open(f))]
evaluate = jax.jit(lambda s, t: s(t))


def test_golden_tables_are_present():
  peers = {peer for peer, _ in CASES}
  assert {"torch", "keras", "optax", "hf"} <= peers
  assert len(CASES) >= 40


@pytest.mark.parametrize("peer,case", CASES, ids=[f"{p}:{c['peer'][:60]}" for p, c in CASES])
def test_matches_peer(peer, case):
  s = js.from_config(case["config"])
  steps = np.asarray(case["steps"], np.int32)
  assert_rel(evaluate(s, steps), np.asarray(case["values"], np.float64), rtol=1e-6)
