"""The provenance note of a chapter: timed steps, results computed or loaded, durations."""
import numpy as np


def test_timed_records_and_run_record_states_the_provenance(tmp_path, monkeypatch, capsys):
    from nbutils import cache, provenance

    monkeypatch.setattr(cache, "USES", [])
    monkeypatch.setattr(provenance, "TIMINGS", [])
    monkeypatch.setenv("NBUTILS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(cache, "SHIPPED_RESULTS", tmp_path / "shipped")
    cache.save_arrays(tmp_path / "shipped" / "b.npz", {"x": np.zeros(2)}, {})
    run = provenance.RunRecord("chX", "quick", "cpu")
    with provenance.timed("curves loaded or computed"):
        pass
    assert capsys.readouterr().out == ""           # nothing printed between the text
    for name in ("a.npz", "a.npz", "b.npz"):         # computed, then from the cache; shipped
        cache.memoize_arrays(tmp_path / "results" / name, lambda: ({"x": np.ones(2)}, {}))
    assert [u.source for u in cache.USES] == ["computed", "cache", "shipped"]
    text = run.text()
    assert text.startswith("This chapter ran with profile quick (")
    assert "curves loaded or computed" not in text      # under 1 s: not worth naming
    # a.npz was computed in this run: loading it again is not "from an earlier run"
    assert ("It computed 1 result(s) and loaded 1 from the results shipped in the repository "
            "(results/).") in text
    assert "earlier run" not in text
    assert not (tmp_path / "results" / "b.npz").exists()   # a shipped result is not copied
    assert provenance.duration(30) == "30 s" and provenance.duration(600) == "10 min"
    assert provenance.duration(7200) == "2.0 h"
