"""Validation of the papermill parameters at the top of every chapter.

A chapter passes its parameters to :func:`check_parameters`; a value of the wrong type or
outside the allowed set stops the chapter at once with one error that names the parameter, the
value received and what is allowed (instead of a traceback from deep inside a training loop).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .config import (ACTIVATIONS, ARCHITECTURES, CHAPTER_CONFIGS, PROFILES, REGULARIZERS,
                     get_profile)
from .experiment import ABLATION_VALUES
from .train import resolve_device


class ParameterError(ValueError):
    """A chapter parameter has the wrong type or value."""


def _fail(name: str, value: Any, allowed: str) -> ParameterError:
    return ParameterError(f"parameter {name!r} = {value!r} (type {type(value).__name__}) is not "
                          f"allowed: {allowed}")


def _choice(allowed):
    def check(name, value):
        if not isinstance(value, str) or value.lower() not in allowed:
            raise _fail(name, value, f"one of {list(allowed)}")
        return value.lower()
    return check


def _optional_positive_int(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(name, value, "a positive integer (number of seeds) or None for the "
                                 "profile's default")
    return value


def _bool(name, value):
    if not isinstance(value, bool):
        raise _fail(name, value, "True or False")
    return value


def _device(name, value):
    try:
        return resolve_device(value)
    except ValueError as err:
        raise ParameterError(f"parameter {name!r}: {err}") from None


def _layers(name, value):
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, (list, tuple)) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
        raise _fail(name, value, "a hidden-layer number >= 1 (the paper's numbering) or a "
                                 "list of them")
    return list(value)


def _chapters(name, value):
    if (not isinstance(value, (list, tuple)) or not value
            or any(v not in CHAPTER_CONFIGS for v in value)):
        raise _fail(name, value, f"a non-empty list drawn from {list(CHAPTER_CONFIGS)}")
    return list(value)


def _k_list(name, value):
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, (list, tuple)) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)):
        raise _fail(name, value, "a non-negative integer or a list of them")
    return list(value)


VALIDATORS = {
    "profile": _choice(PROFILES),
    "seeds": _optional_positive_int,
    "device": _device,
    "progress": _bool,
    "arch": _choice(tuple(ARCHITECTURES)),
    "activation": _choice(ACTIVATIONS),
    "regularizer": _choice(REGULARIZERS),
    "ablation_value": _choice(ABLATION_VALUES),
    "layers": _layers,
    "chapters": _chapters,
    "k": _k_list,
}


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
