"""Small real training tasks in the search protocol (``init``, ``update``, ``score``), for examples,
tests and benchmarks. Each imports what it needs when it is built: ``digits`` needs scikit-learn,
which is in jaxsched's ``test`` and ``bench`` extras, not its runtime dependencies."""
