"""Validation of the papermill parameters at the top of every chapter.

A chapter passes its parameters to :func:`check_parameters`; a value of the wrong type or
outside the allowed set stops the chapter at once with one error that names the parameter, the
value received and what is allowed (instead of a traceback from deep inside a training loop).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import checks
from .ablation import ABLATION_VALUES
from .activations import ACTIVATIONS
from .config import (
    ARCHITECTURES,
    CHAPTER_CONFIGS,
    MAIN_PREPROCESSING,
    PROFILES,
    REGULARIZERS,
    get_profile,
)
from .data import PREPROCESSINGS
from .train import resolve_device


class ParameterError(ValueError):
    """A chapter parameter has the wrong type or value."""


def _fail(name: str, value: Any, allowed: str) -> ParameterError:
    return ParameterError(f"parameter {name!r} = {value!r} (type {type(value).__name__}) is not "
                          f"allowed: {allowed}")


def _wrap(check: Callable[..., Any], allowed: str) -> Callable[[str, Any], Any]:
    """A check of :mod:`nbutils.checks` whose failure becomes a ParameterError."""
    def validate(name: str, value: Any) -> Any:
        try:
            return check(value, name)
        except ValueError:
            raise _fail(name, value, allowed) from None
    return validate


def _choice(allowed) -> Callable[[str, Any], Any]:
    allowed = list(allowed)
    return _wrap(lambda value, name: checks.choice(value, allowed, name), f"one of {allowed}")


def _int_list(minimum: int, allowed: str) -> Callable[[str, Any], list[int]]:
    def validate(name: str, value: Any) -> list[int]:
        if checks.is_int(value):
            value = [value]
        if (not isinstance(value, (list, tuple)) or not value
                or not all(checks.is_int(v) and v >= minimum for v in value)):
            raise _fail(name, value, allowed)
        return [int(v) for v in value]
    return validate


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, value, "True or False")
    return value


def _device(name: str, value: Any):
    try:
        return resolve_device(value)
    except ValueError as err:
        raise ParameterError(f"parameter {name!r}: {err}") from None


def _chapters(name: str, value: Any) -> list[str]:
    if (not isinstance(value, (list, tuple)) or not value
            or any(v not in CHAPTER_CONFIGS for v in value)):
        raise _fail(name, value, f"a non-empty list drawn from {list(CHAPTER_CONFIGS)}")
    return list(value)


def _int_range(low: int, high: int, what: str) -> Callable[[str, Any], int]:
    def validate(name: str, value: Any) -> int:
        if not checks.is_int(value) or not low <= value <= high:
            raise _fail(name, value, f"an integer from {low} to {high} ({what})")
        return int(value)
    return validate


def _optional(validate: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """``validate``, or None (the default) as it is."""
    return lambda name, value: None if value is None else validate(name, value)


def _folder(name: str, value: Any) -> str:
    if not isinstance(value, str) or not Path(value).is_dir():
        raise _fail(name, value, "the path of an existing folder (a str)")
    return value


VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "profile": _choice(PROFILES),
    "seeds": _wrap(checks.optional_positive_int,
                   "a positive integer (number of seeds) or None for the profile's default"),
    "device": _device,
    "progress": _bool,
    "arch": _choice(ARCHITECTURES),
    "activation": _choice(ACTIVATIONS),
    "regularizer": _choice(REGULARIZERS),
    "ablation_value": _choice(ABLATION_VALUES),
    "preprocessing": lambda name, value: MAIN_PREPROCESSING if value is None else _wrap(
        lambda v, n: checks.choice(v, PREPROCESSINGS, n),
        f"one of {list(PREPROCESSINGS)}, or None for the book's main reading "
        f"({MAIN_PREPROCESSING!r})")(name, value),
    "layers": _int_list(1, "a hidden-layer number >= 1 (the paper's numbering) or a list of them"),
    "chapters": _chapters,
    "k": _int_list(0, "a non-negative integer or a list of them"),
    "chapters_dir": _folder,
    "finetune_epochs": _int_range(1, 10, "epochs of fine-tuning after pruning"),
    "k_dense": _optional(_int_range(1, 500, "the number of neurons at each end of a wide layer "
                                            "where the ablation grid takes every k; None: the "
                                            "profile's")),
    "k_step": _optional(_int_range(1, 100, "the ablation grid's step between its dense ends; "
                                           "None: the profile's")),
}


def check_layers(layers: list[int], hidden: tuple[int, ...], network: str) -> list[int]:
    """The hidden layers asked for (the paper's numbering, from 1) exist in ``network``, whose
    hidden widths are ``hidden``; else a ParameterError naming ``layers``, the value and the
    layers the network has. Returns them 0-based."""
    if not all(1 <= layer <= len(hidden) for layer in layers):
        raise _fail("layers", layers, f"hidden layers 1..{len(hidden)} of {network} (widths "
                                      f"{'-'.join(str(w) for w in hidden)})")
    return [layer - 1 for layer in layers]


def check_parameters(**params: Any) -> SimpleNamespace:
    """Validate chapter parameters by name; returns them normalised (e.g. ``device`` resolved).

    A name without a validator is a programming error in the chapter and is reported as such
    (papermill itself warns about ``-p`` names a chapter's parameters cell does not define).
    """
    out = {}
    for name, value in params.items():
        if name not in VALIDATORS:
            raise ParameterError(f"unknown parameter {name!r}; known: {sorted(VALIDATORS)}")
        out[name] = VALIDATORS[name](name, value)
    if "profile" in out:
        out["profile_obj"] = get_profile(out["profile"])
    return SimpleNamespace(**out)
