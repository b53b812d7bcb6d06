"""Validation of the papermill parameters at the top of every chapter.

A chapter passes its parameters to :func:`check_parameters`; a value of the wrong type or
outside the allowed set stops the chapter at once with one error that names the parameter, the
value received and what is allowed (instead of a traceback from deep inside a training loop).
Nothing is loaded, trained or cached before it.

- **Unknown names.** papermill injects ``-p`` parameters as a cell of assignments (first line
  ``# Parameters``) after the cell tagged ``parameters``, and only warns about a name that cell
  does not define. :func:`check_parameters` reads both cells from the kernel's input history and
  refuses a name the parameters cell does not define, with a "did you mean" for a near miss
  (:func:`check_injected`); outside a kernel (or without an injected cell) there is nothing to
  check.
- **What a chapter can draw.** ``check_parameters(chapter="ch6", ...)`` also applies the
  chapter's own rules (:data:`CHAPTER_RULES`), e.g. chapter 6 draws only networks of two
  hidden layers of equal width.
"""
from __future__ import annotations

import ast
import difflib
import sys
from collections.abc import Callable, Sequence
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


def _panels(name: str, value: Any) -> list[str]:
    """Chapter 7's networks: "a" and "b" (every claim but F5b and F5g reads them), "c" or not."""
    if (not isinstance(value, (list, tuple)) or len(set(value)) != len(value)
            or not {"a", "b"} <= set(value) <= {"a", "b", "c"}):
        raise _fail(name, value, 'a list of Fig. 5\'s networks: ["a", "b", "c"] or ["a", "b"]')
    return sorted(value)


VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "profile": _choice(PROFILES),
    "seeds": _wrap(checks.optional_positive_int,
                   "a positive integer (number of seeds) or None for the profile's default"),
    "seeds_c": _wrap(checks.optional_positive_int,
                     "a positive integer (number of seeds of chapter 7's network (c), trained "
                     "in seed shards) or None for the same as 'seeds'"),
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
    "panels": _panels,
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


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_parameter(names: Sequence[str], known: Sequence[str], where: str
                      ) -> ParameterError:
    """The error for parameters ``names`` that are not among ``known``, with "did you mean"."""
    listed = ", ".join(f"{n!r}{_did_you_mean(n, known)}" for n in names)
    return ParameterError(f"unknown parameter {listed} {where}; allowed: "
                          f"{', '.join(repr(k) for k in known)}")


# ------------------------------------------------------------------- names papermill injected
INJECTED_HEADER = "# Parameters"   # papermill's first line of the cell of injected parameters


def assigned_names(source: str) -> list[str] | None:
    """The names a cell assigns at top level, in order (a parameters cell's parameters); None
    if the cell is not Python that parses."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: dict[str, None] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    names.setdefault(sub.id, None)
    return list(names)


def parameter_cells(history: Sequence[str]) -> tuple[str, str] | None:
    """``(parameters cell, injected cell)`` from a kernel's input history (entry 0 empty, as
    IPython keeps it): the last cell papermill injected and the cell run just before it; None
    if there is no injected cell or none before it."""
    for i in range(len(history) - 1, 1, -1):
        if history[i].lstrip().split("\n", 1)[0].strip() == INJECTED_HEADER:
            return history[i - 1], history[i]
    return None


def _kernel_history() -> list[str]:
    """The inputs this IPython kernel ran, or [] outside one."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return list(shell.history_manager.input_hist_raw) if shell is not None else []


def check_injected(history: Sequence[str] | None = None) -> None:
    """Refuse a parameter papermill injected that the chapter's parameters cell does not define
    (papermill itself only warns); ``history``: the kernel's inputs (default: this kernel's).

    Raises:
        ParameterError: naming each unknown parameter (with "did you mean" for a near miss)
            and the chapter's parameters.
    """
    cells = parameter_cells(_kernel_history() if history is None else history)
    if cells is None:
        return
    declared, injected = (assigned_names(cell) for cell in cells)
    if declared is None or injected is None:
        return
    unknown = [name for name in injected if name not in declared]
    if unknown:
        raise unknown_parameter(unknown, declared,
                                "(given to papermill, not a parameter of this chapter)")


# ----------------------------------------------------------------------- chapters' own rules
def equal_two_layer_architectures() -> list[str]:
    """Architectures with two hidden layers of equal width (what chapter 6 can draw)."""
    return [name for name, a in ARCHITECTURES.items()
            if len(a.hidden) == 2 and a.hidden[0] == a.hidden[1]]


def _chapter6(params: dict[str, Any]) -> None:
    """Chapter 6 compares layer 1 with layer 2 of every panel at 80 % of a layer (F4a) and draws
    both layers side by side: an extra network needs two hidden layers of equal width."""
    allowed = equal_two_layer_architectures()
    if "arch" in params and params["arch"].lower() not in allowed:
        raise _fail("arch", params["arch"], f"one of {allowed} in chapter 6, which compares "
                    "layer 1 with layer 2 of each network: two hidden layers of equal width")


def _chapter11(params: dict[str, Any]) -> None:
    """Chapter 11 shows the preprocessing screen, which runs at profile quick (``ci``: a smoke
    test); there is no screen at the paper's scale."""
    if isinstance(params.get("profile"), str) and params["profile"].lower() == "paper":
        raise _fail("profile", params["profile"], "'quick' (the screen) or 'ci' (a smoke test) "
                    "in chapter 11: the screen has no paper-scale run")


CHAPTER_RULES: dict[str, Callable[[dict[str, Any]], None]] = {"ch6": _chapter6,
                                                              "ch11": _chapter11}


def check_parameters(chapter: str | None = None, **params: Any) -> SimpleNamespace:
    """Validate chapter parameters by name; returns them normalised (e.g. ``device`` resolved).

    First every name papermill injected must be one of the chapter's parameters
    (:func:`check_injected`); then each value is checked by its validator, and the chapter's own
    rules (:data:`CHAPTER_RULES`, when ``chapter`` names one, e.g. ``"ch6"``) apply. A name
    without a validator is a programming error in the chapter and is reported as such.
    """
    check_injected()
    out = {}
    for name, value in params.items():
        if name not in VALIDATORS:
            raise unknown_parameter([name], sorted(VALIDATORS), "(no validator in nbutils.params)")
        out[name] = VALIDATORS[name](name, value)
    if chapter in CHAPTER_RULES:
        CHAPTER_RULES[chapter](params)
    if "profile" in out:
        out["profile_obj"] = get_profile(out["profile"])
    return SimpleNamespace(**out)
