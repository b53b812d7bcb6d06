"""Input checks shared by the whole package: one wording for every bad value.

Each check returns the value (normalised where that makes sense) or raises ``ValueError`` whose
message names the parameter, repeats the value received and says what is allowed, e.g.
``seeds=-3 is not allowed: a positive integer``. :class:`nbutils.params.ParameterError` (a
chapter's papermill parameters) is a ``ValueError`` too, raised through the same checks.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import torch


def fail(parameter: str, value: Any, allowed: str, error: type[ValueError] = ValueError
         ) -> ValueError:
    """The one error message of the package: parameter, value received, what is allowed."""
    return error(f"{parameter}={value!r} is not allowed: {allowed}")


def is_int(value: Any) -> bool:
    """An integer (Python or numpy), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: Any, parameter: str, what: str = "") -> int:
    """``value`` as an ``int`` > 0; ``what`` says what it counts (for the message)."""
    if not is_int(value) or value <= 0:
        raise fail(parameter, value, "a positive integer" + (f" ({what})" if what else ""))
    return int(value)


def non_negative_int(value: Any, parameter: str, what: str = "") -> int:
    """``value`` as an ``int`` >= 0."""
    if not is_int(value) or value < 0:
        raise fail(parameter, value, "a non-negative integer" + (f" ({what})" if what else ""))
    return int(value)


def optional_positive_int(value: Any, parameter: str, what: str = "") -> int | None:
    """``None`` or an ``int`` > 0."""
    return None if value is None else positive_int(value, parameter, what)


def choice(value: Any, allowed: Iterable[str], parameter: str) -> str:
    """``value`` lower-cased if it is one of ``allowed`` (compared ignoring case)."""
    allowed = list(allowed)
    if not isinstance(value, str) or value.lower() not in allowed:
        raise fail(parameter, value, f"one of {allowed}")
    return value.lower()


def index(value: Any, size: int, parameter: str, what: str = "") -> int:
    """An index in ``0..size-1``."""
    if not is_int(value) or not 0 <= value < size:
        raise fail(parameter, value,
                   f"an integer in 0..{size - 1}" + (f" ({what})" if what else ""))
    return int(value)


def tensor(value: Any, parameter: str, *, ndim: int | Sequence[int] | None = None,
           kind: str | None = None, finite: bool = False, nonempty: bool = False,
           shape: str = "") -> torch.Tensor:
    """``value`` as a tensor, checked.

    Args:
        value: anything ``torch.as_tensor`` accepts.
        parameter: the argument's name, for the message.
        ndim: the number of dimensions allowed (one or several).
        kind: ``"float"`` or ``"int"`` (integer dtypes, not bool).
        finite: no NaN or Inf (float tensors).
        nonempty: at least one element.
        shape: the expected shape in words, e.g. ``"(M, N, n)"``, quoted in messages.

    Returns:
        The tensor (not copied when ``value`` already is one).
    """
    t = torch.as_tensor(value)
    expected = f" of shape {shape}" if shape else ""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if dims is not None and t.ndim not in dims:
        raise ValueError(f"{parameter} must be a tensor{expected}, got shape {tuple(t.shape)}")
    if kind == "float" and not t.is_floating_point():
        raise ValueError(f"{parameter} must be a float tensor{expected}, got dtype {t.dtype}")
    if kind == "int" and (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool):
        raise ValueError(f"{parameter} must be an integer tensor{expected}, got dtype {t.dtype}")
    if nonempty and t.numel() == 0:
        raise ValueError(f"{parameter} is empty (shape {tuple(t.shape)})")
    if finite and t.is_floating_point() and not torch.isfinite(t).all():
        raise ValueError(f"{parameter} contains NaN or Inf")
    return t
