"""Atomic, checksummed on-disk memoization.

Two stores with the same keys:

- ``weights/``  trained ensembles (``torch.save`` of the state dict; large, machine-local)
- ``results/``  small results computed from them (test accuracies, training histories,
  information measures, ablation curves) as ``.npz`` files, small enough to be copied from a
  GPU machine and used on a CPU-only one: a chapter whose results exist never needs the weights.

A result missing from ``results/`` is looked up, read-only, in the *shipped* results: the folder
``results/`` of the repository (:data:`SHIPPED_RESULTS`, same layout), which holds the results of
the paper-profile runs the committed chapters show, so that a reader re-executes them without
training. With ``NBUTILS_RESULTS_ONLY=1`` nothing is trained or computed: a missing result raises
:class:`ResultMissingError` instead.

Every file is written to a temporary name in the same folder, flushed, and renamed
(``os.replace``), with a ``.sha256`` companion written the same way afterwards. A file whose
companion is missing or whose bytes do not match it is *corrupt*: it is reported (a warning that
names it), moved aside to ``*.corrupt`` (never deleted) and recomputed; it is never used.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

ENV_CACHE = "NBUTILS_CACHE"
ENV_RESULTS = "NBUTILS_RESULTS"
ENV_RESULTS_ONLY = "NBUTILS_RESULTS_ONLY"
# the results shipped with the repository (read-only; see the module docstring)
SHIPPED_RESULTS = Path(__file__).resolve().parent.parent / "results"


class CorruptCacheWarning(UserWarning):
    """A cached file failed its checksum or could not be read; it is recomputed."""


class ResultMissingError(RuntimeError):
    """A result is neither cached nor shipped, and ``NBUTILS_RESULTS_ONLY`` forbids computing it."""


def results_only() -> bool:
    """Whether ``NBUTILS_RESULTS_ONLY`` is set (to anything but ``""`` or ``"0"``)."""
    return os.environ.get(ENV_RESULTS_ONLY, "") not in ("", "0")


def forbid_computing(missing: str) -> None:
    """Raise :class:`ResultMissingError` (``missing`` says what is missing, and where it was
    looked for) when :func:`results_only` holds."""
    if results_only():
        raise ResultMissingError(
            f"{missing}, and {ENV_RESULTS_ONLY}=1 forbids computing it: unset "
            f"{ENV_RESULTS_ONLY} to compute it (which may train the networks), or run "
            f"`python -m nbutils.precompute` for its configuration first")


def cache_root() -> Path:
    """``$NBUTILS_CACHE`` or ``$XDG_CACHE_HOME/nbutils`` (default ``~/.cache/nbutils``)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().resolve() / "nbutils"


def weights_dir() -> Path:
    return cache_root() / "weights"


def results_dir() -> Path:
    """``$NBUTILS_RESULTS`` or ``<cache root>/results``: the folder to copy between machines."""
    env = os.environ.get(ENV_RESULTS)
    return Path(env).expanduser().resolve() if env else cache_root() / "results"


def digest(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts (the cache key)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the complete new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_checked(path: Path, data: bytes) -> None:
    """Atomically write ``data`` and then its sha256 companion."""
    atomic_write_bytes(path, data)
    atomic_write_bytes(_checksum_path(path), hashlib.sha256(data).hexdigest().encode())


def _quarantine(path: Path, reason: str) -> None:
    """Report a corrupt cache file and move it (and its companion) aside, keeping the bytes."""
    warnings.warn(f"cache file {path} is corrupt ({reason}); moved to {path.name}.corrupt "
                  f"and recomputing", CorruptCacheWarning, stacklevel=3)
    for p in (path, _checksum_path(path)):
        if p.exists():
            os.replace(p, p.with_name(p.name + ".corrupt"))


def read_checked(path: Path) -> bytes | None:
    """The bytes of ``path`` if it exists and matches its checksum; ``None`` if absent.

    A file without a valid companion is quarantined (see module docstring) and ``None`` returned.
    """
    path = Path(path)
    if not path.exists():
        return None
    data = path.read_bytes()
    sums = _checksum_path(path)
    if not sums.exists():
        _quarantine(path, "no checksum: the write was interrupted")
        return None
    if hashlib.sha256(data).hexdigest() != sums.read_text().strip():
        _quarantine(path, "checksum mismatch: truncated or modified")
        return None
    return data


# ----------------------------------------------------------------------------- typed stores
def save_state(path: Path, state: dict[str, Any]) -> None:
    """Save a dict of tensors and plain values (``torch.save``) atomically with a checksum."""
    buf = io.BytesIO()
    torch.save(state, buf)
    write_checked(path, buf.getvalue())


def load_state(path: Path) -> dict[str, Any] | None:
    """Load what :func:`save_state` wrote; ``None`` if absent or corrupt (then quarantined)."""
    data = read_checked(path)
    if data is None:
        return None
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - unreadable despite checksum: treat as corrupt
        _quarantine(Path(path), f"unreadable: {err}")
        return None


def shipped_path(path: Path) -> Path | None:
    """Where the shipped results would hold ``path`` (a path under :func:`results_dir`), or
    ``None`` for a path outside it."""
    try:
        return SHIPPED_RESULTS / Path(path).resolve().relative_to(results_dir())
    except ValueError:
        return None


def result_locations(path: Path) -> list[tuple[Path, str]]:
    """Where a result is looked up, in order: ``(path, "cache")``, then its shipped
    counterpart ``(..., "shipped")`` (:func:`shipped_path`) when there is one."""
    places = [(Path(path), "cache")]
    shipped = shipped_path(path)
    if shipped is not None and shipped != Path(path).resolve():
        places.append((shipped, "shipped"))
    return places


Accept = Callable[[dict[str, Any], str], bool]   # (meta, "cache" | "shipped") -> usable?


def load_result(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """:func:`load_arrays` of ``path``, else of its shipped counterpart (:func:`shipped_path`);
    ``None`` if neither holds a sound file."""
    found = _find_result(path)
    return None if found is None else found[0]


def find_result(path: Path, accept: Accept | None = None
                ) -> tuple[tuple[dict[str, np.ndarray], dict[str, Any]], str] | None:
    """``((arrays, meta), source)`` of the first sound file of :func:`result_locations` that
    ``accept(meta, source)`` accepts (default ``None``: any); ``None`` if there is none."""
    return _find_result(path, accept)


def _find_result(path: Path, accept: Accept | None = None, rejected: list[str] | None = None
                 ) -> tuple[tuple[dict[str, np.ndarray], dict[str, Any]], str] | None:
    """:func:`load_result` with where the result came from: ``"cache"`` or ``"shipped"``. A
    sound file that ``accept(meta, source)`` refuses is skipped (its source appended to
    ``rejected``)."""
    for place, source in result_locations(path):
        loaded = load_arrays(place)
        if loaded is None:
            continue
        if accept is None or accept(loaded[1], source):
            return loaded, source
        if rejected is not None:
            rejected.append(source)
    return None


def save_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Save named numpy arrays plus JSON metadata as one ``.npz`` file."""
    buf = io.BytesIO()
    np.savez_compressed(buf, __meta__=np.array(json.dumps(meta, sort_keys=True)),
                        **{k: np.asarray(v) for k, v in arrays.items()})
    write_checked(path, buf.getvalue())


def load_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Load what :func:`save_arrays` wrote; ``None`` if absent or corrupt (then quarantined)."""
    data = read_checked(path)
    if data is None:
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
            meta = json.loads(str(npz["__meta__"]))
        return arrays, meta
    except Exception as err:  # noqa: BLE001
        _quarantine(Path(path), f"unreadable: {err}")
        return None


@dataclass(frozen=True)
class Use:
    """One result a process asked for, and where it came from: ``"computed"`` now, loaded from
    the results ``"cache"``, or from the repository's ``"shipped"`` results."""

    path: Path
    source: str


USES: list[Use] = []  # every memoized result of this process, in order (provenance)


def memoize_arrays(path: Path, compute: Callable[[], tuple[dict[str, np.ndarray], dict]],
                   accept: Accept | None = None, refused: str = ""
                   ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load ``path`` (or its shipped counterpart, :func:`load_result`) or compute, save and
    return ``(arrays, meta)``; the use is recorded in :data:`USES`.

    Args:
        path: the result's file in the results cache.
        compute: returns ``(arrays, meta)`` when no usable file exists.
        accept: ``accept(meta, source)`` says whether a sound file found in ``source``
            (``"cache"`` or ``"shipped"``) may be used; default ``None``: any.
        refused: why ``accept`` refuses a file, for the error of ``NBUTILS_RESULTS_ONLY``.

    Returns:
        ``(arrays, meta)`` as stored.

    Raises:
        ResultMissingError: no usable result and ``NBUTILS_RESULTS_ONLY`` is set.
    """
    rejected: list[str] = []
    found = _find_result(path, accept, rejected)
    if found is not None:
        USES.append(Use(path, found[1]))
        return found[0]
    why = "" if not rejected else (f" (the one in the {' and the '.join(rejected)} results "
                                   f"is not usable: {refused or 'refused'})")
    forbid_computing(f"result {Path(path).parent.name}/{Path(path).name} is neither in the "
                     f"results cache ({results_dir()}) nor among the shipped results "
                     f"({SHIPPED_RESULTS}){why}")
    arrays, meta = compute()
    save_arrays(path, arrays, meta)
    USES.append(Use(path, "computed"))
    return {k: np.asarray(v) for k, v in arrays.items()}, json.loads(json.dumps(meta))
