"""jaxsched: learning-rate schedules as JAX pytrees — exact, jit/vmap/grad-ready, optax-native."""
from jaxsched.core import FAMILIES, Schedule, from_config
from jaxsched.families import (constant, cosine, exponential, inverse_sqrt, inverse_time, linear,
                               multistep, piecewise, polynomial, step, warmup_cosine)
from jaxsched.compose import clip, join, per_epoch, product, warmup

__version__ = "0.1.0"
from jaxsched.core import checked, validate
from jaxsched.optax_glue import current_lr
from jaxsched.sweeps import (choice, evaluate, grid, int_uniform, log_uniform, sample, stack, sweep,
                            uniform, unstack)
from jaxsched.plotting import plot
from jaxsched.cycles import cosine_restarts, cyclic, one_cycle, wsd
from jaxsched.plateau import ReduceOnPlateauState, reduce_on_plateau
