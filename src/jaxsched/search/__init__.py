"""Search: finding a schedule, not only evaluating many (SPEC.md §9).

Every search trains through the same protocol (``training``): ``init(schedule, key)``,
``update(state, schedule, step)`` and ``score(state, schedule)``, compiled over a batch as one
vmapped, sharded program of a fixed width whose start, length and fresh flag are arguments;
``halving`` (successive halving, ``jaxsched.halving``) and ``hyperband`` (Li et al.'s brackets of
it, ``jaxsched.hyperband``) run on it; ``checkpoint`` writes the resume files. Nothing is imported
here, so ``jaxsched.runner`` can use ``checkpoint`` without a cycle.
"""
