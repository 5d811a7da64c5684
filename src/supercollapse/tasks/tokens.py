r"""Real tokens from nanoGPT-style ``.bin`` files, and the ``prepare`` step that writes them.

**Format.** A data folder holds ``train.bin`` and ``val.bin``, each a flat array of token ids
with no header (``np.memmap``-able; nanoGPT writes ``uint16``), and a ``meta.json`` with
``vocab_size``, ``dtype`` and, for data made of fixed-size examples such as images,
``example_len`` (tokens per example). Without ``meta.json`` the files are read as ``uint16``
(nanoGPT's default) and the config's ``vocab_size`` is trusted.

**Batches.** Training windows are random: a batch is ``batch_size`` windows of
``seq_len + 1`` tokens at offsets drawn from the step's key, so a batch is a pure function
of ``(seed, step)`` like the generated tasks. With ``example_len`` set, windows start at the
beginning of an example (an image is predicted from its first pixel on). The training
tokens are copied to the device once (2 bytes per token as ``uint16``: TinyStories as bytes,
about 1.9 G tokens, needs 3.8 GB), which keeps sampling inside the compiled training loop.
The held-out set is ``n_test`` windows of ``val.bin`` at offsets drawn with ``test_seed``,
the same for every run; only those windows are read from disk.

**Preparing files** (``python -m supercollapse prepare``): :func:`prepare_text` tokenises a
text file byte by byte (vocabulary 256: the UTF-8 bytes), :func:`prepare_images` turns a
``uint8`` image array into pixel tokens (vocabulary 256; the paper's CIFAR-5M task, each image
one sequence of 8-bit values in raster order). Both hold out the last ``val_fraction`` of the
data (of the images) as ``val.bin``. ``book/real_data.md`` shows how to prepare TinyStories
and CIFAR-5M on a machine with internet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from .next_token import NextTokenTask, windows

if TYPE_CHECKING:
    from ..train.config import TrainConfig

DTYPES = ("uint8", "uint16", "uint32")


class TokenDataError(ValueError):
    """A data folder or token file that cannot be used; the message names it."""


def read_meta(data_dir: str | Path) -> dict:
    """``meta.json`` of a data folder (defaults: ``uint16``, no vocabulary, no examples)."""
    path = Path(data_dir) / "meta.json"
    meta = {"vocab_size": None, "dtype": "uint16", "example_len": None}
    if path.exists():
        meta.update(json.loads(path.read_text()))
    if meta["dtype"] not in DTYPES:
        raise TokenDataError(f"{path}: dtype {meta['dtype']!r} must be one of {DTYPES}")
    return meta


def open_tokens(data_dir: str | Path, split: str) -> np.memmap:
    """The memory-mapped token array ``<data_dir>/<split>.bin``."""
    path = Path(data_dir) / f"{split}.bin"
    if not path.exists():
        raise TokenDataError(f"token file {path} does not exist; write it with "
                             "'python -m supercollapse prepare' (see book/real_data.md)")
    return np.memmap(path, dtype=read_meta(data_dir)["dtype"], mode="r")


class TokenFileTask(NextTokenTask):
    """Next-token prediction on the tokens of a data folder (see the module docstring)."""

    def __init__(self, data_dir: str | Path, *, seq_len: int, vocab_size: int,
                 test_seed: int = 44, n_test: int = 2048, z_loss: float = 0.0,
                 lookup: str = "gather"):
        meta = read_meta(data_dir)
        self.data_dir, self.seq_len, self.vocab_size = Path(data_dir), seq_len, vocab_size
        self.z_loss, self.example_len, self.lookup = z_loss, meta["example_len"], lookup
        if meta["vocab_size"] is not None and meta["vocab_size"] > vocab_size:
            raise TokenDataError(f"{data_dir}: the data's vocabulary ({meta['vocab_size']}) "
                                 f"does not fit the config's vocab_size={vocab_size}")
        if self.example_len is not None and seq_len + 1 > self.example_len:
            raise TokenDataError(f"{data_dir}: seq_len={seq_len} + 1 exceeds the example "
                                 f"length {self.example_len} of meta.json")
        train, val = open_tokens(data_dir, "train"), open_tokens(data_dir, "val")
        for name, arr in (("train", train), ("val", val)):
            if len(arr) < seq_len + 1:
                raise TokenDataError(f"{data_dir}/{name}.bin holds {len(arr)} tokens, fewer "
                                     f"than one window of seq_len + 1 = {seq_len + 1}")
        self._train = jnp.asarray(train)  # to the device, in the file's dtype
        if int(jnp.max(self._train)) >= vocab_size:
            raise TokenDataError(f"{data_dir}/train.bin holds token ids >= vocab_size="
                                 f"{vocab_size}")
        starts = np.asarray(self.window_starts(jax.random.key(test_seed), n_test, len(val)))
        test = np.stack([val[s:s + seq_len + 1] for s in starts]).astype(np.int32)
        if test.max() >= vocab_size:
            raise TokenDataError(f"{data_dir}/val.bin holds token ids >= vocab_size={vocab_size}")
        self._test = (jnp.asarray(test[:, :-1]), jnp.asarray(test[:, 1:]))

    @property
    def n_train_tokens(self) -> int:
        """The number of training tokens (the length of ``train.bin``)."""
        return int(self._train.shape[0])

    def window_starts(self, key: jax.Array, n: int, n_tokens: int) -> jax.Array:
        """Offsets of ``n`` random windows in a stream of ``n_tokens`` tokens."""
        if self.example_len is None:
            return jax.random.randint(key, (n,), 0, n_tokens - self.seq_len)
        n_examples = n_tokens // self.example_len
        return jax.random.randint(key, (n,), 0, n_examples) * self.example_len

    def train_batch(self, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
        starts = self.window_starts(key, batch_size, self.n_train_tokens)
        return windows(self._train, starts, self.seq_len)

    def test_set(self) -> tuple[jax.Array, jax.Array]:
        return self._test


# --- writing token files ---------------------------------------------------------------------
def write_split(tokens: np.ndarray, out_dir: str | Path, *, n_val: int, vocab_size: int,
                dtype: str = "uint16", example_len: int | None = None,
                source: str = "") -> dict:
    """Write ``train.bin`` (all but the last ``n_val`` tokens), ``val.bin`` and ``meta.json``."""
    if dtype not in DTYPES:
        raise TokenDataError(f"dtype {dtype!r} must be one of {DTYPES}")
    if vocab_size - 1 > np.iinfo(dtype).max:
        raise TokenDataError(f"vocab_size={vocab_size} does not fit dtype {dtype}")
    tokens = np.asarray(tokens)
    if not 0 < n_val < len(tokens):
        raise TokenDataError(f"the validation split ({n_val} of {len(tokens)} tokens) must "
                             "leave tokens on both sides; change val_fraction")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokens.astype(dtype)[:-n_val].tofile(out / "train.bin")
    tokens.astype(dtype)[-n_val:].tofile(out / "val.bin")
    meta = {"vocab_size": vocab_size, "dtype": dtype, "example_len": example_len,
            "n_train": int(len(tokens) - n_val), "n_val": int(n_val), "source": source}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def prepare_text(text_file: str | Path, out_dir: str | Path, *, val_fraction: float = 0.1,
                 dtype: str = "uint16") -> dict:
    """Byte-level tokens of a text file (token = UTF-8 byte, vocabulary 256)."""
    data = np.frombuffer(Path(text_file).read_bytes(), dtype=np.uint8)
    return write_split(data, out_dir, n_val=int(round(val_fraction * len(data))),
                       vocab_size=256, dtype=dtype, source=f"bytes of {Path(text_file).name}")


def decode_bytes(tokens) -> str:
    """Text of byte-level tokens (invalid UTF-8 shown as the replacement character)."""
    return bytes(np.asarray(tokens, np.uint8).tolist()).decode("utf-8", errors="replace")


def prepare_images(npy_file: str | Path, out_dir: str | Path, *, val_fraction: float = 0.1,
                   grayscale: bool = False, dtype: str = "uint16") -> dict:
    """Pixel tokens of a ``uint8`` image array ``(N, H, W)`` or ``(N, H, W, C)``.

    Each image becomes one example of ``H W C`` tokens in raster order (``H W`` with
    ``grayscale``, luma :math:`0.299R + 0.587G + 0.114B` rounded); the last
    ``val_fraction`` of the images form ``val.bin``.
    """
    images = np.load(npy_file, mmap_mode="r")
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise TokenDataError(f"{npy_file}: expected a uint8 array (N, H, W) or (N, H, W, C), "
                             f"got {images.dtype} {images.shape}")
    if grayscale:
        if images.ndim != 4 or images.shape[-1] != 3:
            raise TokenDataError(f"{npy_file}: grayscale needs RGB images (N, H, W, 3), got "
                                 f"{images.shape}")
        luma = np.asarray(images, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        images = np.clip(np.round(luma), 0, 255).astype(np.uint8)
    n = images.shape[0]
    example_len = int(np.prod(images.shape[1:]))
    n_val_images = int(round(val_fraction * n))
    return write_split(np.asarray(images).reshape(-1), out_dir,
                       n_val=n_val_images * example_len, vocab_size=256, dtype=dtype,
                       example_len=example_len,
                       source=f"pixels of {Path(npy_file).name}{' (grayscale)' * grayscale}")


def build(cfg: TrainConfig) -> TokenFileTask:
    """The token-file task of a config (the registry's builder)."""
    return TokenFileTask(cfg.data_dir, seq_len=cfg.seq_len, vocab_size=cfg.vocab_size,
                         test_seed=cfg.test_seed, n_test=cfg.n_test, z_loss=cfg.z_loss,
                         lookup=cfg.lookup)
