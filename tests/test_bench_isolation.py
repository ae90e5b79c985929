"""`pyhost bench`'s isolation rows (pyhost/bench/isolation.py): every figure measured for
real, positive and coherent, and both targets judged. Shape and sanity only, never a timing
(the figures themselves are in docs/isolation.md and come from `pyhost bench`)."""
import math

from pyhost.bench import isolation


def test_isolation_figures_are_measured_and_judged():
    figures = isolation.measure(sizes=(400, 2, 2000))
    sync, inproc, fire = figures["sync"], figures["in_process"], figures["async"]
    for part in (sync, inproc):
        assert part["n"] == 800 and part["repetitions"] == 2
        assert 0 < part["p50_ns"] <= part["p99_ns"] and math.isfinite(part["mean_ns"])
    assert inproc["p50_ns"] < sync["p50_ns"]  # a process boundary costs something
    assert fire["n"] == 2000 and fire["events_per_s"] > 0
    assert math.isclose(fire["events_per_s"] * fire["ns_per_event"], 1e9, rel_tol=1e-6)
    assert [t["limit"] for t in figures["targets"]] == [5.0, 10.0]
    assert all(isinstance(t["met"], bool) for t in figures["targets"])
    text = isolation.report(figures)
    assert "synchronous hook into the runner" in text and "fire-and-forget" in text
    assert text.count("(met)") + text.count("(NOT met)") == 2


def test_the_isolation_group_adds_its_section_and_report_lines(monkeypatch):
    from pyhost import bench
    from pyhost.bench import engine
    from test_bench import TINY
    figures = isolation.measure(sizes=(200, 1, 500))
    asked = []
    monkeypatch.setattr(isolation, "measure",
                        lambda quick=False, progress=None: asked.append(quick) or figures)
    assert "pyhost.bench.isolation" in engine.GROUP_MODULES
    assert "isolation" in [g.key for g in engine.load_groups()]
    doc = engine.run(quick=True, settings=TINY, groups=[isolation.GROUP]).as_dict()
    assert asked == [True] and doc["isolation"] == {"measured": True, **figures}
    text = bench.report(doc)
    assert "| synchronous hook into the runner |" in text and "(met)" in text or \
        "(NOT met)" in text


def test_an_isolation_that_cannot_run_is_reported_not_fatal(monkeypatch):
    from pyhost import bench
    from pyhost.bench import engine
    from test_bench import TINY

    def broken(quick=False, progress=None):
        raise FileNotFoundError("the isolation runner is missing")
    monkeypatch.setattr(isolation, "measure", broken)
    doc = engine.run(settings=TINY, groups=[isolation.GROUP]).as_dict()
    assert doc["isolation"] == {"measured": False,
                                "reason": "FileNotFoundError: the isolation runner is missing"}
    assert "| isolated dispatch | not measured: FileNotFoundError" in bench.report(doc)
