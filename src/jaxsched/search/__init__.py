"""Search: finding a schedule, not only evaluating many (SPEC.md §9).

Every search trains through the same protocol (``training``): ``init(schedule, key)``,
``update(state, schedule, step)`` and ``score(state, schedule)``, compiled over a batch as one
vmapped, sharded program per segment; ``checkpoint`` writes the resume files.
"""
