"""A ladder: one loss curve per model size, all seeds, the input of every analysis function.

:func:`supercollapse.results.to_ladder` builds one from stored runs; :class:`Ladder` builds one
from arrays. It is a sequence of ``(compute, losses[seeds, evals])`` pairs, one per size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..train.config import SEED_PROTOCOLS


class Ladder(Sequence):
    """Loss curves of several model sizes: ``ladder[i]`` is ``(compute, losses)`` of size ``i``.

    ``curves``: a list of ``(compute, losses)`` pairs, or ``{size: (compute, losses)}`` (sizes
    from the keys, sorted); ``losses`` of shape ``(n_seeds, n_evals)`` (or ``(n_evals,)``).
    ``sizes``: parameter counts (NaN where unknown); ``labels``: a name per size;
    ``decay``: whether the learning rate decayed to the end (``None``: unknown);
    ``seed_protocol``: how the seeds drew their data (``"independent"``: each its own stream;
    ``"shared_data"``: one data order, the paper's); ``samples``: training samples at each
    evaluation (``None``: ``compute / (6 size)``). A slice is a ladder of those sizes, and
    ``a + b`` the ladder of the sizes of both.

    >>> lad = Ladder({2e3: ([1.0, 2.0], [[3.0, 2.0]]), 1e3: ([1.0, 2.0], [[4.0, 3.0]])})
    >>> len(lad), lad.sizes.tolist(), lad.labels, (lad[1:] + lad[:1]).sizes.tolist()
    (2, [1000.0, 2000.0], ('p=1e+03', 'p=2e+03'), [2000.0, 1000.0])
    >>> c, L = lad[0]
    >>> L.tolist()
    [[4.0, 3.0]]
    """

    def __init__(self, curves: Mapping | Sequence, *, sizes: ArrayLike | None = None,
                 labels: Sequence[str] | None = None, decay: bool | None = None,
                 seed_protocol: str = "independent",
                 samples: Sequence[ArrayLike] | None = None):
        if isinstance(curves, Ladder):
            raise ValueError("Ladder: already a Ladder (slice it, or use with_seeds)")
        if isinstance(curves, Mapping):
            if sizes is not None:
                raise ValueError("Ladder: a dict {size: (compute, losses)} carries its sizes")
            keys = sorted(curves)
            if not all(np.isscalar(k) and float(k) > 0 for k in keys):
                raise ValueError(f"Ladder: dict keys must be positive sizes, got {keys}")
            sizes, curves = [float(k) for k in keys], [curves[k] for k in keys]
            if labels is None:
                labels = [f"p={p:.3g}" for p in sizes]
        pairs = list(curves)
        for i, item in enumerate(pairs):
            if not (isinstance(item, Sequence) and len(item) == 2):
                raise ValueError(f"Ladder: size {i} is not a (compute, losses) pair; build a "
                                 "ladder of runs with supercollapse.results.to_ladder(runs)")
        n = len(pairs)
        self.compute = tuple(np.asarray(c, dtype=float) for c, _ in pairs)
        self.losses = tuple(_losses(i, L) for i, (_, L) in enumerate(pairs))
        self.sizes = np.full(n, np.nan) if sizes is None else np.asarray(sizes, dtype=float)
        self.labels = (tuple(f"size {i}" for i in range(n)) if labels is None
                       else tuple(str(s) for s in labels))
        if self.sizes.shape != (n,) or len(self.labels) != n:
            raise ValueError(f"Ladder: sizes and labels need one entry per size ({n})")
        if seed_protocol not in SEED_PROTOCOLS:
            raise ValueError(f"Ladder: unknown seed_protocol {seed_protocol!r}; choose one of "
                             f"{SEED_PROTOCOLS}")
        self.decay, self.seed_protocol = decay, seed_protocol
        self.samples = None if samples is None else tuple(np.asarray(t, float) for t in samples)

    def __len__(self) -> int:
        return len(self.compute)

    def __iter__(self) -> Iterator[tuple[NDArray[np.float64], NDArray[Any]]]:
        return iter(zip(self.compute, self.losses, strict=True))

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            idx = range(len(self))[i]
            return self._subset(list(idx))
        return self.compute[i], self.losses[i]

    def __add__(self, other: Ladder) -> Ladder:
        """The sizes of both ladders (of one seed protocol), this one's first."""
        if not isinstance(other, Ladder):
            return NotImplemented
        if other.seed_protocol != self.seed_protocol:
            raise ValueError(f"Ladder: cannot join seed protocols {self.seed_protocol!r} and "
                             f"{other.seed_protocol!r}")
        decay = self.decay if self.decay == other.decay else None
        samples = (None if self.samples is None or other.samples is None
                   else self.samples + other.samples)
        return Ladder(list(self) + list(other), sizes=np.r_[self.sizes, other.sizes],
                      labels=self.labels + other.labels, decay=decay,
                      seed_protocol=self.seed_protocol, samples=samples)

    def __repr__(self) -> str:
        return (f"Ladder({len(self)} sizes {list(self.labels)}, seeds "
                f"{[L.shape[0] for L in self.losses]}, {self.seed_protocol})")

    def _subset(self, idx: Sequence[int], losses: Sequence | None = None) -> Ladder:
        pairs = [(self.compute[i], self.losses[i] if losses is None else losses[k])
                 for k, i in enumerate(idx)]
        return Ladder(pairs, sizes=self.sizes[list(idx)], labels=[self.labels[i] for i in idx],
                      decay=self.decay, seed_protocol=self.seed_protocol,
                      samples=None if self.samples is None else [self.samples[i] for i in idx])

    def select(self, keep: Sequence[int] | ArrayLike) -> Ladder:
        """The ladder of the sizes at positions ``keep``: indices, or a boolean mask with one
        entry per size (e.g. the sizes past a transient gate).

        >>> lad = Ladder({1e3: ([1.0], [[3.0]]), 2e3: ([1.0], [[2.0]]), 4e3: ([1.0], [[1.0]])})
        >>> lad.select([False, True, True]).sizes.tolist(), lad.select([2, 0]).sizes.tolist()
        ([2000.0, 4000.0], [4000.0, 1000.0])
        """
        keep = np.asarray(keep)
        if keep.dtype == bool:
            if keep.shape != (len(self),):
                raise ValueError(f"Ladder.select: a mask needs one entry per size ({len(self)}), "
                                 f"got shape {keep.shape}")
            keep = np.flatnonzero(keep)
        return self._subset([int(i) for i in keep])

    def sizes_known(self) -> bool:
        """Whether every size has a positive parameter count."""
        return bool(np.all(self.sizes > 0))

    def with_seeds(self, seeds: Sequence[int]) -> Ladder:
        """The ladder with only the seeds at positions ``seeds`` of every size."""
        seeds = list(seeds)
        return self._subset(range(len(self)), [L[seeds] for L in self.losses])

    def samples_of(self, i: int) -> NDArray[np.float64]:
        """Training samples at each evaluation of size ``i`` (``compute / (6 size)`` unless
        stored)."""
        if self.samples is not None:
            return self.samples[i]
        return self.compute[i] / (6.0 * self.sizes[i])


def _losses(i: int, L: ArrayLike) -> NDArray[Any]:
    try:
        return np.atleast_2d(np.asarray(L, dtype=float))
    except ValueError:  # ragged seeds: clean_curve names the problem
        return np.asarray(L, dtype=object)


# What the analysis functions take: a ladder, or just its (compute, losses) pairs.
LadderLike = Union[Ladder, Sequence[tuple[ArrayLike, ArrayLike]]]  # noqa: UP007


def as_ladder(ladder: Ladder | Mapping | Sequence) -> Ladder:
    """``ladder`` itself, or a :class:`Ladder` of a list of pairs or a dict by size."""
    return ladder if isinstance(ladder, Ladder) else Ladder(ladder)
