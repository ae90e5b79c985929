"""`pyhost bench` runs and reports every figure, baseline, ratio and target.

Only the shape and sanity of the output are checked (every figure measured, positive,
finite; every ratio present; every target judged): never a timing. The benchmark runs once,
with tiny settings, and the command-line tests reuse that run.
"""
import json
import math
import shutil

import pytest

from pyhost import cli
from pyhost.bench import bench, web_api
from pyhost.host.loader import NativePlugin
from pyhost.abi.paths import sample_plugin

TINY = bench.Settings(repetitions=2, sample_seconds=0.002, load_repetitions=1)

PYHOST_ROWS = ["c_c_1", "c_c_4", "c_c_16", "c_c_64", "c_c_chat", "py_c_call", "py_c_batch",
               "c_py", "py_py", "threads_1", "threads_2", "load_100"]
BASELINES = [f"{kind}_{k}" for k in bench.SUBSCRIBER_COUNTS
             for kind in ("floor", "lock", "pluggy", "list")] + [
    "floor_threads_1", "floor_threads_2", "lock_threads_1", "lock_threads_2", "floor_chat",
    "lock_chat"]
TARGETS = {("c_c_1", "floor_1"), ("c_c_1", "lock_1"), ("py_c_call", "pluggy_1"),
           ("py_c_batch", "pluggy_1"), ("c_py", "pluggy_1"), ("load_100", None)}


@pytest.fixture(scope="module")
def results():
    return bench.run(settings=TINY)


@pytest.fixture(scope="module")
def doc(results):
    return results.as_dict()


def positive(value) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_every_pyhost_figure_is_measured(doc):
    rows = {row["key"]: row for row in doc["rows"]}
    assert set(PYHOST_ROWS) <= set(rows)
    for key, row in rows.items():
        assert positive(row["ns_per_event"]), key
        assert positive(row["events_per_s"]), key
        assert len(row["samples_ns_per_event"]) == (
            TINY.load_repetitions if key == "load_100" else TINY.repetitions), key


def test_every_baseline_is_measured_with_the_same_subscriber_counts(doc):
    assert set(BASELINES) <= set(doc["baselines"])
    for key, fig in doc["baselines"].items():
        assert fig["kind"] == "baseline"
        assert positive(fig["ns_per_event"]), key
        if key[-1].isdigit() and "threads" not in key:
            assert fig["subscribers"] == int(key.rsplit("_", 1)[1])


def test_each_row_has_a_ratio_to_each_of_its_baselines(doc):
    for row in doc["rows"]:
        if row["key"] == "load_100":
            assert row["ratios"] == {}
            continue
        expected = {"floor", "lock"} if row["key"].startswith("threads") or \
            row["key"] == "c_c_chat" else {"floor", "lock", "pluggy", "list"}
        assert set(row["ratios"]) == expected, row["key"]
        for column, ratio in row["ratios"].items():
            assert ratio["baseline"] in doc["baselines"]
            assert positive(ratio["time_ratio"]), (row["key"], column)
            assert ratio["speedup"] == pytest.approx(1 / ratio["time_ratio"])


def test_every_target_of_the_issue_is_judged(doc):
    judged = {(t["row"], t["baseline"]): t for t in doc["targets"] if t["row"] != "dcext"}
    assert set(judged) == TARGETS
    for t in judged.values():
        assert isinstance(t["met"], bool)
        assert t["met"] == (t["value"] <= t["limit"])
    assert doc["targets"] == [t for row in doc["rows"] for t in row["targets"]] + [
        t for t in doc["targets"] if t["row"] == "dcext"]


def test_load_and_dcext_figures(doc):
    load = doc["load"]
    assert load["plugins"] == bench.LOAD_PLUGINS == 100
    assert positive(load["ms_total"]) and positive(load["us_per_plugin"])
    dcext = doc["dcext"]
    if dcext["measured"]:
        assert positive(dcext["ms_total"]) and positive(dcext["ms_inspect"])
        assert len(dcext["platforms"]) >= 1
    else:
        assert dcext["reason"]
        assert any(t["row"] == "dcext" and t["met"] is None for t in doc["targets"])


def test_machine_settings_and_work_are_described(doc):
    assert doc["schema"] == bench.SCHEMA
    assert doc["machine"]["cpu"] and doc["machine"]["cores"] >= 1
    assert doc["machine"]["python"].startswith(("CPython", "PyPy"))
    assert doc["settings"]["repetitions"] == TINY.repetitions
    assert doc["work"]["c"] and doc["work"]["python"]
    assert doc["python_subscriber_api"]
    assert set(doc["thread_scaling"]) == {"threads", "floor_threads", "lock_threads"}
    assert all(positive(v) for v in doc["thread_scaling"].values())


def test_report_is_a_table_with_a_line_per_figure(results):
    text = bench.report(results)
    assert text.startswith("pyhost bench:")
    assert "| figure" in text and "vs floor" in text
    for row in results.rows:
        assert results.figures[row.figure].label in text
    assert text.count("MISSED") + text.count(": met") == len(TARGETS)
    assert ".dcext inspect + install" in text


def test_command_prints_the_table_or_json(results, monkeypatch, capsys):
    calls = []

    def fake_run(quick=False, progress=None, settings=None):
        calls.append(quick)
        return results
    monkeypatch.setattr(bench, "run", fake_run)
    web = {"clients": 2, "events": 3, "seconds": 1.0, "events_per_s": 3.0,
           "deliveries_per_s": 6.0, "all_in_order": True, "dropped": 0,
           "hook_round_trip": {"count": 1, "p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 2.0}}
    monkeypatch.setattr(web_api, "measure", lambda quick=False: web)  # measured elsewhere

    assert cli.main(["bench", "--quick"]) == 0
    assert "| figure" in capsys.readouterr().out
    assert cli.main(["bench", "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert calls == [True, False]
    assert [r["key"] for r in parsed["rows"]] == [r.figure for r in results.rows]
    assert parsed["targets"] == json.loads(json.dumps(results.as_dict()["targets"]))
    assert parsed["web_api"] == {"measured": True, **web}


def test_command_reports_a_broken_benchmark_in_one_line(monkeypatch, capsys):
    def broken(**kwargs):
        raise bench.BenchError("the native benchmark library is missing")
    monkeypatch.setattr(bench, "run", broken)
    assert cli.main(["bench"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "pyhost: the benchmark failed: the native benchmark library is missing"


def test_a_path_that_skips_work_is_caught():
    counter = [0]
    check = bench._Check(lambda: counter[0], 4, "test path")
    counter[0] = 40
    check(0, 10)   # 10 events x 4 subscribers: right
    with pytest.raises(bench.BenchError, match="expected 40 subscriber calls, counted 39"):
        counter[0] = 79
        check(40, 10)


def test_bench_load_plugin_takes_its_guid_from_its_file_name(tmp_path):
    opened = []
    try:
        for name in ("bench_load_001", "bench_load_002"):
            path = tmp_path / f"{name}.so"
            shutil.copyfile(sample_plugin("bench_load"), path)
            opened.append(NativePlugin.open(path))
        assert [p.meta.guid for p in opened] == ["pyhost.bench.load.bench_load_001",
                                                 "pyhost.bench.load.bench_load_002"]
    finally:
        for p in opened:
            p.close()
