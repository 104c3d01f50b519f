"""``python -m jaxsched``: the command line (see ``jaxsched.cli``), through the same entry point as
the ``jaxsched`` console script (``jaxsched_launcher``: a multi-process run is watched)."""

from jaxsched_launcher import main

if __name__ == "__main__":
  main()
