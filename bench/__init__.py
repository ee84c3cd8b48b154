"""Benchmarks of the platform: the nightly pipeline at scale (``python -m bench.run``)
and focused figures (``bench.scoring``, ``bench.context_uplift``)."""
