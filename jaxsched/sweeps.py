"""Transitional, to be deleted: ``jaxsched.interop.torch`` (another engineer's file, being edited)
still imports ``stack`` from here. The batches now live in ``jaxsched.batches``, the search spaces
in ``jaxsched.spaces`` and the runner in ``jaxsched.runner``; once that import reads ``from
jaxsched.batches import stack``, delete this module."""
from jaxsched.batches import stack  # noqa: F401
