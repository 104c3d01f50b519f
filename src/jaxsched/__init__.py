"""jaxsched: learning-rate schedules as JAX pytrees — exact, jit/vmap/grad-ready, optax-native."""

from jaxsched import serialization as _serialization
from jaxsched.batches import evaluate, stack, unstack
from jaxsched.compose import clip, join, per_epoch, product, repeat, shift, splice, warmup
from jaxsched.core import (
  FAMILIES,
  Schedule,
  at_least_one,
  checked,
  child,
  children,
  combine,
  count,
  family,
  from_config,
  nonnegative,
  open_unit,
  partition,
  positive,
  real,
  static,
  validate,
)
from jaxsched.custom import custom
from jaxsched.cycles import cosine_restarts, cyclic, one_cycle, wsd
from jaxsched.families import (
  constant,
  cosine,
  exponential,
  inverse_sqrt,
  inverse_time,
  linear,
  multistep,
  piecewise,
  polynomial,
  step,
  warmup_cosine,
)
from jaxsched.interop import from_big_vision, from_hf, from_keras, from_t5x, from_torch
from jaxsched.optax_glue import current_lr
from jaxsched.parse import parse
from jaxsched.plateau import ReduceOnPlateauState, reduce_on_plateau
from jaxsched.plotting import plot
from jaxsched.runner import sweep
from jaxsched.search.halving import HalvingResult, Rung, halving
from jaxsched.search.hyperband import Bracket, HyperbandResult, hyperband
from jaxsched.search.pbt import LineageSegment, PBTResult, pbt
from jaxsched.search.range_test import RangeTestResult, lr_range_test
from jaxsched.spaces import choice, grid, int_uniform, log_uniform, sample, uniform

_serialization.install()  # flax.serialization support, without importing flax

__all__ = [
  # the Schedule type, the registry, config and checks
  "Schedule",
  "FAMILIES",
  "from_config",
  "parse",
  "validate",
  "checked",
  # hypergradients: the public update route
  "partition",
  "combine",
  # writing a family: the decorator, the field kinds and the checks; a schedule of a function
  "family",
  "real",
  "count",
  "static",
  "child",
  "children",
  "positive",
  "nonnegative",
  "at_least_one",
  "open_unit",
  "custom",
  # families
  "constant",
  "exponential",
  "step",
  "multistep",
  "piecewise",
  "inverse_time",
  "inverse_sqrt",
  "linear",
  "polynomial",
  "cosine",
  "warmup_cosine",
  "cosine_restarts",
  "one_cycle",
  "cyclic",
  "wsd",
  # composition
  "join",
  "splice",
  "warmup",
  "product",
  "clip",
  "per_epoch",
  "shift",
  "repeat",
  # reduce on plateau and optax glue
  "reduce_on_plateau",
  "ReduceOnPlateauState",
  "current_lr",
  # batches and sweeps
  "stack",
  "unstack",
  "grid",
  "sample",
  "uniform",
  "log_uniform",
  "int_uniform",
  "choice",
  "evaluate",
  "sweep",
  # search
  "halving",
  "hyperband",
  "HalvingResult",
  "HyperbandResult",
  "Rung",
  "Bracket",
  "plot",
  # search
  "pbt",
  "PBTResult",
  "LineageSegment",
  "lr_range_test",
  "RangeTestResult",
  # converters from peers
  "from_torch",
  "from_keras",
  "from_hf",
  "from_t5x",
  "from_big_vision",
]

__version__ = "0.1.0"
