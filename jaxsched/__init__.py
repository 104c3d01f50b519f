"""jaxsched: learning-rate schedules as JAX pytrees — exact, jit/vmap/grad-ready, optax-native."""
from jaxsched.core import FAMILIES, Schedule, from_config
from jaxsched.families import (constant, cosine, exponential, inverse_sqrt, inverse_time, linear,
                               multistep, piecewise, polynomial, step, warmup_cosine)
from jaxsched.compose import clip, join, per_epoch, product, warmup

__version__ = "0.1.0"
