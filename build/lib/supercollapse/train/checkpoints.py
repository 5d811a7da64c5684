"""Mid-run Orbax checkpoints of a group of runs (:func:`~supercollapse.train.engine.train_many`
with ``checkpoint_dir``): a long run resumes from its last evaluation point and, on CPU, ends
bit for bit where an uninterrupted run ends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import TrainConfig

if TYPE_CHECKING:
    from .engine import Trainer


def group_checkpoint_dir(root: str | Path, configs: Sequence[TrainConfig]) -> Path:
    """Where :func:`~supercollapse.train.engine.train_many` keeps the checkpoints of one group under ``root``."""
    ident = "-".join(c.run_id() for c in configs)
    return Path(root) / hashlib.sha1(ident.encode()).hexdigest()[:12]


class Checkpoints:
    """Orbax checkpoints of one group of runs in ``directory`` (the latest one is kept).

    A checkpoint holds the parameters and optimiser state, the evaluation index it was
    taken at, and the curves and divergence flags logged so far. ``directory`` also holds
    ``runs.json``, the run ids and seeds of the group: a directory of other runs is refused.
    """

    def __init__(self, directory: str | Path, trainer: Trainer):
        import orbax.checkpoint as ocp  # imported here: only checkpointed runs need it

        self.ocp = ocp
        self.dir = Path(directory).absolute()
        self.dir.mkdir(parents=True, exist_ok=True)
        ident = {"runs": [[trainer.configs[i].run_id(), s] for i, s in trainer.runs]}
        tag = self.dir / "runs.json"
        if tag.exists() and json.loads(tag.read_text()) != ident:
            raise ValueError(f"{self.dir}: holds checkpoints of other runs "
                             f"({tag.read_text().strip()}); use another checkpoint_dir")
        tag.write_text(json.dumps(ident))
        self.manager = ocp.CheckpointManager(
            self.dir / "states", options=ocp.CheckpointManagerOptions(
                max_to_keep=1, enable_async_checkpointing=False))

    def save(self, index: int, trainer: Trainer, logs: dict, diverged: np.ndarray,
             stopped: np.ndarray) -> None:
        tree = {"leaves": {f"{k:05d}": a for k, a in enumerate(trainer.state_leaves())},
                "logs": {k: np.asarray(v) for k, v in logs.items()},
                "diverged": diverged.astype(np.int8), "stopped": stopped.astype(np.int64),
                "step": np.int64(trainer.step)}
        self.manager.save(index, args=self.ocp.args.StandardSave(tree))
        self.manager.wait_until_finished()

    def restore(self, trainer: Trainer, logs: dict, diverged: np.ndarray,
                stopped: np.ndarray) -> int:
        """Load the latest checkpoint into ``trainer``, ``logs``, ``diverged`` and
        ``stopped`` (in place); return its evaluation index, or -1 if there is none."""
        index = self.manager.latest_step()
        if index is None:
            return -1
        tree = self.manager.restore(index, args=self.ocp.args.StandardRestore())
        leaves = [np.asarray(tree["leaves"][k]) for k in sorted(tree["leaves"])]
        trainer.load_state(leaves, int(tree["step"]))
        for k in logs:
            logs[k][...] = np.asarray(tree["logs"][k])
        diverged[...] = np.asarray(tree["diverged"]).astype(bool)
        stopped[...] = np.asarray(tree["stopped"])
        return int(index)

    def close(self) -> None:
        self.manager.close()
