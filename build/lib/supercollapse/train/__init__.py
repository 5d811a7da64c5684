"""Training: configs, horizons, the compiled engine, sweeps and the book's named experiments.

``config -> horizon -> engine -> sweep``; :mod:`.experiments` lists the book's sweeps.
Importing this package does not import JAX; its modules :mod:`.engine` and :mod:`.sweep` do.
"""
