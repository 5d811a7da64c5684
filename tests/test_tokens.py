"""Token files: prepare (text bytes, image pixels), .bin round trip, windows, held-out set, CLI."""

import json

import jax
import numpy as np
import pytest

from supercollapse.__main__ import main
from supercollapse.tasks import build_task
from supercollapse.tasks.tokens import (
    TokenDataError,
    TokenFileTask,
    decode_bytes,
    open_tokens,
    prepare_images,
    prepare_text,
    read_meta,
    write_split,
)
from supercollapse.train.config import ConfigError, TrainConfig

TEXT = "Once upon a time, a small model learned to predict bytes. Ünïcödé too! " * 40


@pytest.fixture
def text_dir(tmp_path):
    src = tmp_path / "story.txt"
    src.write_text(TEXT, encoding="utf-8")
    prepare_text(src, tmp_path / "data", val_fraction=0.2)
    return tmp_path / "data"


def test_text_round_trip(text_dir):
    raw = TEXT.encode("utf-8")
    meta = read_meta(text_dir)
    assert meta["vocab_size"] == 256 and meta["dtype"] == "uint16"
    assert meta["example_len"] is None and meta["n_val"] == round(0.2 * len(raw))
    train, val = open_tokens(text_dir, "train"), open_tokens(text_dir, "val")
    assert train.dtype == np.uint16 and len(train) + len(val) == len(raw)
    assert decode_bytes(np.concatenate([train, val])) == TEXT
    assert (text_dir / "train.bin").stat().st_size == 2 * len(train)  # flat, no header


@pytest.mark.parametrize("dtype", ["uint8", "uint32"])
def test_other_dtypes_round_trip(tmp_path, dtype):
    tokens = np.arange(1000) % (200 if dtype == "uint8" else 70_000)
    write_split(tokens, tmp_path, n_val=100, vocab_size=int(tokens.max()) + 1, dtype=dtype)
    back = np.concatenate([open_tokens(tmp_path, "train"), open_tokens(tmp_path, "val")])
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, tokens)
    with pytest.raises(TokenDataError, match="does not fit"):
        write_split(tokens, tmp_path, n_val=10, vocab_size=70_000, dtype="uint8")


def test_windows_are_contiguous_pieces_of_train_and_keyed(text_dir):
    task = TokenFileTask(text_dir, seq_len=16, vocab_size=256, n_test=32)
    train = np.asarray(open_tokens(text_dir, "train"), np.int64)
    x, y = task.train_batch(jax.random.key(1), 8)
    assert x.shape == y.shape == (8, 16) and str(x.dtype) == "int32"
    stream = train.tobytes()
    for row_x, row_y in zip(np.asarray(x), np.asarray(y), strict=True):
        np.testing.assert_array_equal(row_x[1:], row_y[:-1])
        window = np.concatenate([row_x, row_y[-1:]]).astype(np.int64)
        assert window.tobytes() in stream  # a contiguous piece of train.bin
    np.testing.assert_array_equal(x, task.train_batch(jax.random.key(1), 8)[0])
    assert not np.array_equal(x, task.train_batch(jax.random.key(2), 8)[0])
    # the held-out set comes from val.bin, with test_seed, the same for every run
    val = np.asarray(open_tokens(text_dir, "val"), np.int64).tobytes()
    xt, yt = task.test_set()
    assert xt.shape == (32, 16)
    assert all(np.asarray(r, np.int64).tobytes() in val for r in np.asarray(xt))
    again = TokenFileTask(text_dir, seq_len=16, vocab_size=256, n_test=32)
    np.testing.assert_array_equal(again.test_set()[1], yt)
    assert (task.input_shape, task.target_shape, task.tokens_per_sample) == ((16,), (16,), 16)


def test_images_become_pixel_sequences(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    np.save(tmp_path / "img.npy", images)
    meta = prepare_images(tmp_path / "img.npy", tmp_path / "rgb", val_fraction=0.2)
    assert meta["example_len"] == 48 and meta["n_val"] == 2 * 48
    np.testing.assert_array_equal(open_tokens(tmp_path / "rgb", "train").reshape(8, 4, 4, 3),
                                  images[:8])
    np.testing.assert_array_equal(open_tokens(tmp_path / "rgb", "val").reshape(2, 4, 4, 3),
                                  images[8:])
    prepare_images(tmp_path / "img.npy", tmp_path / "gray", val_fraction=0.2, grayscale=True)
    luma = np.round(images.astype(np.float64) @ [0.299, 0.587, 0.114])
    gray = np.concatenate([open_tokens(tmp_path / "gray", "train"),
                           open_tokens(tmp_path / "gray", "val")]).reshape(10, 4, 4)
    assert np.abs(gray - luma).max() <= 1  # float32 rounding at .5 may differ by one
    # windows start at the first pixel of an image
    task = TokenFileTask(tmp_path / "gray", seq_len=15, vocab_size=256, n_test=4)
    flat = gray[:8].reshape(8, 16)
    x, _ = task.train_batch(jax.random.key(0), 20)
    for row in np.asarray(x):
        assert any(np.array_equal(row, img[:15]) for img in flat)
    with pytest.raises(TokenDataError, match="example length"):
        TokenFileTask(tmp_path / "gray", seq_len=16, vocab_size=256)


def test_clear_errors(tmp_path, text_dir):
    with pytest.raises(TokenDataError, match="does not exist"):
        TokenFileTask(tmp_path / "nowhere", seq_len=8, vocab_size=256)
    with pytest.raises(TokenDataError, match="vocab_size=100"):
        TokenFileTask(text_dir, seq_len=8, vocab_size=100)
    with pytest.raises(TokenDataError, match="fewer than one window"):
        TokenFileTask(text_dir, seq_len=10_000, vocab_size=256)
    np.save(tmp_path / "bad.npy", np.zeros((3, 4, 4), np.float32))
    with pytest.raises(TokenDataError, match="uint8"):
        prepare_images(tmp_path / "bad.npy", tmp_path / "bad")
    with pytest.raises(ConfigError, match="data_dir"):
        TrainConfig(task="tokens", samples=10).validate()


def test_registry_builds_the_task_from_a_config(text_dir):
    cfg = TrainConfig(task="tokens", model="transformer", data_dir=str(text_dir),
                      vocab_size=256, seq_len=8, width=16, head_dim=8, base_width=16, depth=1,
                      n_test=16, batch_size=4, samples=100).validate()
    task = build_task(cfg)
    assert isinstance(task, TokenFileTask) and task.test_set()[0].shape == (16, 8)


def test_prepare_command(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello world " * 50)
    assert main(["prepare", "text", str(tmp_path / "a.txt"), "--out", str(tmp_path / "t"),
                 "--val-fraction", "0.25"]) == 0
    assert json.loads(capsys.readouterr().out)["n_val"] == 150
    np.save(tmp_path / "img.npy", np.zeros((4, 2, 2, 3), np.uint8))
    assert main(["prepare", "images", str(tmp_path / "img.npy"), "--out", str(tmp_path / "i"),
                 "--grayscale", "--val-fraction", "0.25"]) == 0
    assert read_meta(tmp_path / "i")["example_len"] == 4
    np.save(tmp_path / "bad.npy", np.zeros((4, 2), np.uint8))
    assert main(["prepare", "images", str(tmp_path / "bad.npy"), "--out",
                 str(tmp_path / "b")]) == 2
    assert "expected a uint8 array" in capsys.readouterr().err
