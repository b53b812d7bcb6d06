"""Where a chapter's outputs come from, stated once at its top: profile, machine, date, wall
time, the longest timed steps, and which results and networks were computed, loaded or stored."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager

from .config import get_profile

TIMINGS: list[tuple[str, float]] = []  # (label, seconds) of every timed step of this process
MAX_STEPS = 4  # the provenance note names at most this many steps (the longest, of 1 s or more)


@contextmanager
def timed(label: str):
    """Time the block and record ``(label, seconds)`` in :data:`TIMINGS`; the chapter's
    :class:`RunRecord` reports it in one place instead of printing it between the text."""
    start = time.perf_counter()
    yield
    TIMINGS.append((label, time.perf_counter() - start))


def duration(seconds: float) -> str:
    """``30 s``, ``10 min`` or ``2.0 h``: a time as the book states it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class RunRecord:
    """The provenance of a chapter's outputs, stated once: profile, machine, date, wall time,
    the steps timed with :func:`timed`, how many results this run computed and how many it
    loaded (from the results cache of an earlier run, or shipped), and where each network
    ensemble came from in this run (trained here, loaded from the weights cache, or not loaded
    because its results were stored).

    Create it after the parameters are checked; call :meth:`glue` in the chapter's last cell,
    which a ``{glue:text}`` reference in an admonition at the top of the chapter shows.
    ``trained_in`` is accepted for the chapters that pass it and ignored: the note says what
    happened in the run instead of where the networks are usually trained.
    """

    def __init__(self, key: str, profile: str, device, trained_in: str | None = None) -> None:
        from . import cache

        self.key, self.profile, self.device = key, profile, device
        self._start = time.perf_counter()
        self._first_use, self._first_timing = len(cache.USES), len(TIMINGS)

    def text(self, networks: Iterable = ()) -> str:
        """One paragraph; ``networks``: the trained ensembles the chapter used."""
        from datetime import date

        from . import cache
        from .experiment import hardware_description

        uses = cache.USES[self._first_use:]
        timed_steps = TIMINGS[self._first_timing:]
        longest = sorted((s for _, s in timed_steps), reverse=True)[:MAX_STEPS]
        steps = "; ".join(f"{label}: {duration(s)}" for label, s in timed_steps
                          if s >= 1.0 and s in longest)
        prof = get_profile(self.profile)
        parts = [f"This chapter ran with profile {self.profile} ({prof.description}) on "
                 f"{hardware_description(self.device)}, on {date.today().isoformat()}, in "
                 f"{duration(time.perf_counter() - self._start)}"
                 + (f" ({steps})" if steps else "") + "."]
        if uses:
            n = Counter(_result_sources(uses))
            loaded = [f"{n[source]} {where}" for source, where in (
                ("cache", "from the results cache of an earlier run"),
                ("shipped", "from the results shipped in the repository (results/)"))
                if n[source]]
            parts.append(f"It computed {n['computed']} result(s) and loaded "
                         f"{' and '.join(loaded) or 0}.")
        networks = list(networks)
        if networks:
            parts.append(_networks_sentence(networks))
        return " ".join(parts)

    def glue(self, networks: Iterable = ()) -> None:
        """Glue :meth:`text` as ``<key>_provenance`` (not displayed)."""
        from myst_nb import glue

        glue(f"{self.key}_provenance", self.text(networks), display=False)


def _result_sources(uses: Iterable) -> list[str]:
    """One source per distinct result of ``uses`` (:class:`nbutils.cache.Use`): ``"computed"``
    if this run computed it (a later load of it is not "an earlier run"), else where it was
    first loaded from."""
    uses = list(uses)
    computed = {u.path for u in uses if u.source == "computed"}
    first: dict = {}
    for u in uses:
        first.setdefault(u.path, u.source)
    return ["computed" if path in computed else source for path, source in first.items()]


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _networks_sentence(networks: list) -> str:
    """Where each ensemble came from in this run (:func:`nbutils.experiment.origin`): trained
    here, loaded from the weights cache, or not loaded (the results asked for were stored); with the
    training time and machine."""
    from .experiment import origin

    groups: dict[str, list] = {"trained": [], "loaded": [], "stored": []}
    for ens in networks:
        how = origin(ens)
        groups[how.how if how else "stored"].append(ens)
    seeds = " or ".join(str(n) for n in sorted({len(n.seeds) for n in networks}))
    phrases = []
    if groups["trained"]:
        done = [origin(e) for e in groups["trained"]]
        phrases.append(f"{len(done)} {_were(len(done))} trained in this run, in "
                       f"{duration(sum(o.seconds for o in done))} in all, on "
                       f"{', '.join(sorted({o.hardware for o in done}))}")
    for how, what in (("loaded", "loaded from the weights cache"),
                      ("stored", "not loaded, since the results asked for were stored")):
        if groups[how]:
            summaries = [e.summary() for e in groups[how]]
            seconds = sum(s.seconds for s in summaries)
            phrases.append(f"{len(summaries)} {_were(len(summaries))} {what} (trained before "
                           f"this run in {duration(seconds)} in all, on "
                           f"{', '.join(sorted({s.hardware for s in summaries}))})")
    return (f"Of its {len(networks)} network ensemble(s) ({seeds} seeds each), "
            + "; ".join(phrases) + ".")
