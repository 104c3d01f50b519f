"""jaxsched: learning-rate schedules as JAX pytrees — exact, jit/vmap/grad-ready, optax-native."""
from jaxsched.core import FAMILIES, Schedule, checked, combine, from_config, partition, validate
from jaxsched.families import (constant, cosine, exponential, inverse_sqrt, inverse_time, linear,
                               multistep, piecewise, polynomial, step, warmup_cosine)
from jaxsched.cycles import cosine_restarts, cyclic, one_cycle, wsd
from jaxsched.compose import clip, join, per_epoch, product, warmup
from jaxsched.plateau import ReduceOnPlateauState, reduce_on_plateau
from jaxsched.optax_glue import current_lr
from jaxsched.sweeps import (choice, evaluate, grid, int_uniform, log_uniform, sample, stack, sweep,
                             uniform, unstack)
from jaxsched.plotting import plot

__version__ = "0.1.0"
