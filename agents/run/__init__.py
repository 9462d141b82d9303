"""The project's workflows on top of the agents: the warm-start (``warm_start``), a
training run from start to report (``train``), the ``code-synthesis`` command line
(``cli``) and evaluation on a Ray cluster (``ray_eval``)."""
