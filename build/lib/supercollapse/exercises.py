"""Checks of the chapters' coding exercises (NumPy only, no JAX).

Every coding exercise of the book has the same four parts: the exercise text; a cell in which the
student stores an answer, committed as ``name = None``; a gated solution that computes the
reference answer under its own name (``ref_name``), never touching the student's variable; and a
visible check cell that calls :func:`check`. Run top to bottom, an unanswered notebook therefore
reports "not answered yet" for every exercise instead of passing its own solution off as the
student's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["check", "is_unanswered"]

NOT_ANSWERED = "not answered yet - replace None above with your answer"


def is_unanswered(answer: Any) -> bool:
    """Whether ``answer`` is still the empty answer of a student cell (``None`` or ``...``).

    >>> is_unanswered(None), is_unanswered(...), is_unanswered(0.0)
    (True, True, False)
    """
    return answer is None or answer is Ellipsis


def _describe(value: Any) -> str:
    """A short description of a value for an error message (arrays by shape and extremes)."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"array of shape {value.shape}, from {np.nanmin(value):.4g} to {np.nanmax(value):.4g}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def _numeric(value: Any) -> bool:
    """Whether ``value`` is a number or an array/sequence of numbers (not a string or bool)."""
    if isinstance(value, str | bytes | bool | np.bool_):
        return False
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return False
    return arr.dtype.kind in "iufc"


def check(
    label: str,
    answer: Any,
    reference: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    equal: Callable[[Any, Any], bool] | None = None,
) -> bool:
    """Compare a student's ``answer`` with the ``reference`` answer of exercise ``label``.

    * ``answer`` is ``None`` or ``...`` (the committed, empty student cell): print
      ``"<label>: not answered yet ..."`` and return ``False``.
    * The answer matches: print ``"<label>: correct"`` and return ``True``.
    * It does not match: raise :class:`AssertionError` saying how it differs.

    Numbers and arrays match when they have the same shape and
    ``|answer - reference| <= atol + rtol * |reference|`` elementwise (``np.allclose``); other
    values match when they are equal (``==``). ``equal(answer, reference) -> bool`` replaces
    both rules, e.g. to compare a function by its value on some data.

    >>> check("ex-demo", None, 2.0)
    ex-demo: not answered yet - replace None above with your answer
    False
    >>> check("ex-demo", 2.0 + 1e-9, 2.0)
    ex-demo: correct
    True
    >>> check("ex-demo", [1.0, 2.0], np.array([1.0, 2.0]))
    ex-demo: correct
    True
    >>> check("ex-demo", 2.5, 2.0, rtol=0.1)
    Traceback (most recent call last):
    ...
    AssertionError: ex-demo: your answer 2.5 differs from the expected 2 (relative error 0.25, tolerance rtol=0.1, atol=0)
    >>> check("ex-demo", "broken", "collapse")
    Traceback (most recent call last):
    ...
    AssertionError: ex-demo: your answer 'broken' is not the expected 'collapse'
    >>> check("ex-demo", abs, 3.0, equal=lambda f, ref: f(-3.0) == ref)
    ex-demo: correct
    True
    """
    if not isinstance(label, str) or not label:
        raise TypeError(f"label must be the exercise's label (a non-empty string), got {label!r}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"tolerances must be non-negative, got rtol={rtol}, atol={atol}")
    if is_unanswered(answer):
        print(f"{label}: {NOT_ANSWERED}")
        return False
    if is_unanswered(reference):
        raise ValueError(f"{label}: the reference answer is {reference!r}; run the solution cells")
    if equal is not None:
        if not equal(answer, reference):
            raise AssertionError(
                f"{label}: your answer does not agree with the reference ({_describe(reference)})"
            )
    elif _numeric(answer) and _numeric(reference):
        a, r = np.asarray(answer), np.asarray(reference)
        if a.shape != r.shape:
            raise AssertionError(
                f"{label}: your answer has shape {a.shape}, the expected one {r.shape}"
            )
        if not np.allclose(a, r, rtol=rtol, atol=atol, equal_nan=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.nanmax(np.abs(a - r) / np.abs(r)) if r.size else 0.0
            raise AssertionError(
                f"{label}: your answer {_describe(answer)} differs from the expected "
                f"{_describe(reference)} (relative error {float(rel):.2g}, tolerance "
                f"rtol={rtol:g}, atol={atol:g})"
            )
    elif not _equal(answer, reference):
        raise AssertionError(
            f"{label}: your answer {_describe(answer)} is not the expected {_describe(reference)}"
        )
    print(f"{label}: correct")
    return True


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` reduced to one bool (``False`` where the comparison itself fails)."""
    try:
        return bool(np.all(a == b))
    except (TypeError, ValueError):
        return False
