"""Benchmarks of the platform: the nightly pipeline at scale (``python -m recsys_bench.run``)
and focused figures (``recsys_bench.scoring``, ``recsys_bench.context_uplift``)."""
