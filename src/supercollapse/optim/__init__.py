"""Optimisers: Adam with µP per-layer learning rates (:mod:`.optimizers`) and the paper's
learning-rate schedules (:mod:`.schedules`)."""
