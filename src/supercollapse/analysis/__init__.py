"""Analysis of stored curves, NumPy and SciPy only (no JAX): the input, a ladder of curves
(:mod:`.ladder`), power-law fits (:mod:`.fits`),
compute frontiers and horizon laws (:mod:`.frontier`), collapse metrics (:mod:`.collapse`),
like-for-like verdicts over one seed protocol and seed count (:mod:`.seeds`),
forecasts and alarms from the universal curve (:mod:`.forecast`), the noise model
(:mod:`.noise_model`), theory (:mod:`.theory`), recipe gates (:mod:`.recipe`), learning-rate
transfer (:mod:`.transfer`), learning-rate sensitivity (:mod:`.instability`) and the diagnostic
:func:`~supercollapse.analysis.diagnose.check_scaling` (:mod:`.diagnose`)."""
