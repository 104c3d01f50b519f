"""Bring your schedule: converters from torch, Keras, Hugging Face, t5x and big_vision.

Each peer has one small module holding a table from the peer's names to jaxsched's families and
composites; every converter returns an ordinary ``Schedule`` (vmappable, with a config, usable in
optax) whose ``repr`` is the native jaxsched expression. None of them imports its peer.
"""

from jaxsched.interop.big_vision import from_big_vision
from jaxsched.interop.hf import from_hf
from jaxsched.interop.keras import from_keras
from jaxsched.interop.t5x import from_t5x
from jaxsched.interop.torch import from_torch

__all__ = ["from_big_vision", "from_hf", "from_keras", "from_t5x", "from_torch"]
