"""`pyhost bench` runs and reports every figure, baseline, ratio and target; the report, the
plot, the comparison and the group registry work on what it produced.

Only the shape and sanity of the output are checked (every figure measured, positive,
finite; every ratio present; every target judged): never a timing. The benchmark runs once,
with tiny settings, and the other tests reuse that run.
"""
import json
import math
import shutil

import pytest

from pyhost import bench, cli
from pyhost.abi.paths import sample_plugin
from pyhost.bench import compare, engine, load, plot, results, rpc_calls, web_api
from pyhost.bench.c_dispatch import SUBSCRIBER_COUNTS
from pyhost.bench.engine import Check, Context, Group, timed
from pyhost.bench.results import Figure, Row, Settings, Target
from pyhost.host.loader import NativePlugin

TINY = Settings(repetitions=2, sample_seconds=0.004, load_repetitions=1, bursts=2)

PYHOST_ROWS = ["c_c_1", "c_c_4", "c_c_16", "c_c_64", "c_c_chat", "py_c_call", "py_c_raw",
               "py_c_batch", "c_py", "c_py_bus", "c_py_text", "py_py", "threads_1",
               "threads_2", "load_100"]
BASELINES = [f"{kind}_{k}" for k in SUBSCRIBER_COUNTS
             for kind in ("floor", "nosync", "lock", "pluggy", "list")] + [
    "floor_threads_1", "floor_threads_2", "lock_threads_1", "lock_threads_2", "floor_chat",
    "nosync_chat", "lock_chat"]
TARGETS = {(f"c_c_{k}", f"nosync_{k}") for k in SUBSCRIBER_COUNTS} | {
    (f"c_c_{k}", f"lock_{k}") for k in SUBSCRIBER_COUNTS} | {
    ("c_c_1", "floor_1"), ("py_c_call", "pluggy_1"), ("py_c_batch", "pluggy_1"),
    ("c_py", "pluggy_1"), ("load_100", None)}
TARGET_COUNT = len(TARGETS) + 1   # c_c_1 has two against lock_1 (issues 7 and 17)
COLUMNS = {"c_c_chat": {"floor", "nosync", "lock"}, "threads_1": {"floor", "lock"},
           "threads_2": {"floor", "lock"}, "c_py_text": {"pluggy", "list"}, "load_100": set()}


# The Web API group starts a server and 50 clients: measured by its own tests
# (test_server_load.py) and, with a stand-in, by test_the_web_api_group_* below; the same
# for exported method calls (test_the_rpc_calls_group_*); the isolation group starts runner
# processes: tests/test_bench_isolation.py.
HOOK_GROUPS = [g for g in engine.load_groups()
               if g.key not in ("web_api", "rpc_calls", "isolation")]


@pytest.fixture(scope="module")
def run_results():
    return bench.run(settings=TINY, groups=HOOK_GROUPS)


@pytest.fixture(scope="module")
def doc(run_results):
    return json.loads(json.dumps(run_results.as_dict()))


def positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_every_pyhost_figure_is_measured_with_its_spread(doc):
    rows = {row["key"]: row for row in doc["rows"]}
    assert set(PYHOST_ROWS) <= set(rows)
    for key, row in rows.items():
        assert positive(row["ns_per_event"]) and positive(row["events_per_s"]), key
        assert len(row["samples_ns_per_event"]) == (
            TINY.load_repetitions if key == "load_100" else TINY.repetitions), key
        assert row["ns_min"] <= row["ns_per_event"] <= row["ns_max"], key
        assert row["group"], key


def test_every_baseline_is_measured_with_the_same_subscriber_counts(doc):
    assert set(BASELINES) <= set(doc["baselines"])
    for key, fig in doc["baselines"].items():
        assert fig["kind"] == "baseline"
        assert positive(fig["ns_per_event"]), key
        if key[-1].isdigit() and "threads" not in key:
            assert fig["subscribers"] == int(key.rsplit("_", 1)[1])


def test_each_row_has_a_ratio_to_each_of_its_baselines(doc):
    for row in doc["rows"]:
        default = {"floor", "nosync", "lock", "pluggy", "list"} if row["key"].startswith(
            "c_c_") else {"floor", "lock", "pluggy", "list"}
        assert set(row["ratios"]) == COLUMNS.get(row["key"], default), row["key"]
        for column, ratio in row["ratios"].items():
            assert ratio["baseline"] in doc["baselines"]
            assert positive(ratio["time_ratio"]), (row["key"], column)
            assert ratio["speedup"] == pytest.approx(1 / ratio["time_ratio"])
            s = ratio["time_ratio_spread"]
            assert s["min"] <= ratio["time_ratio"] <= s["max"]


def test_every_target_is_judged_against_its_spread(doc):
    judged = [t for t in doc["targets"] if t["row"] != "dcext"]
    assert {(t["row"], t["baseline"]) for t in judged} == TARGETS
    assert len(judged) == TARGET_COUNT
    for t in judged:
        s = t["spread"]
        assert t["status"] in ("met", "missed", "unclear")
        expected = "met" if s["max"] <= t["limit"] else "missed" if s["min"] > t["limit"] \
            else "unclear"
        assert t["status"] == expected
        assert t["met"] == {"met": True, "missed": False, "unclear": None}[t["status"]]
        assert t["value"] == pytest.approx(s["median"])
    assert doc["targets"] == [t for row in doc["rows"] for t in row["targets"]] + [
        t for t in doc["targets"] if t["row"] == "dcext"]


def test_a_limit_inside_the_spread_is_unclear():
    assert results.judge({"min": 0.9, "median": 1.0, "max": 1.1}, 1.15) == "met"
    assert results.judge({"min": 0.9, "median": 1.0, "max": 1.2}, 1.15) == "unclear"
    assert results.judge({"min": 1.16, "median": 1.2, "max": 1.3}, 1.15) == "missed"
    assert results.judge(None, 1.15) == "n/a"


def test_load_dcext_machine_and_work_are_described(doc):
    load_doc = doc["load"]
    assert load_doc["plugins"] == load.LOAD_PLUGINS == 100
    assert positive(load_doc["ms_total"]) and positive(load_doc["us_per_plugin"])
    if doc["dcext"]["measured"]:
        assert positive(doc["dcext"]["ms_total"]) and doc["dcext"]["platforms"]
    assert doc["schema"] == results.SCHEMA
    assert doc["machine"]["cpu"] and doc["machine"]["cores"] >= 1
    assert doc["settings"]["repetitions"] == TINY.repetitions
    assert doc["settings"]["bursts"] == TINY.bursts
    assert doc["work"]["c"] and doc["work"]["python"] and doc["work"]["chat"]
    assert doc["python_subscriber_api"].startswith("pyhost.plugin")
    assert set(doc["thread_scaling"]) == {"threads", "floor_threads", "lock_threads"}
    assert all(positive(v) for v in doc["thread_scaling"].values())


def test_report_is_a_table_with_spreads_and_target_states(run_results, doc):
    text = bench.report(run_results)
    assert text == bench.report(doc)   # a saved document reports the same
    assert text.startswith("pyhost bench:")
    assert "| figure" in text and "vs nosync" in text and "(min–max)" in text
    for row in doc["rows"]:
        assert row["label"] in text
    states = text.count(": met (") + text.count(": MISSED (") + text.count(": UNCLEAR (")
    assert states == TARGET_COUNT
    assert "Targets: " in text and ".dcext inspect + install" in text


# -- the command line --------------------------------------------------------------------------

def fake_run(results_obj, calls):
    def run(quick=False, progress=None, settings=None):
        calls.append(quick)
        if progress is not None:
            progress("[1/1] a group: setting up", False)
            progress("calibrating 1/1: a figure", True)
        return results_obj
    return run


def test_command_prints_the_table_and_progress_or_silent_json(run_results, monkeypatch,
                                                              capsys):
    calls = []
    monkeypatch.setattr(bench, "run", fake_run(run_results, calls))
    assert cli.main(["bench", "--quick"]) == 0
    out, err = capsys.readouterr()
    assert "| figure" in out
    assert "pyhost bench: [1/1] a group: setting up" in err   # stderr is not a tty here:
    assert "calibrating" not in err                            # only the coarse steps
    assert cli.main(["bench", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    parsed = json.loads(out)
    assert calls == [True, False]
    assert [r["key"] for r in parsed["rows"]] == [r.figure for r in run_results.rows]


def test_command_reports_a_broken_benchmark_in_one_line(monkeypatch, capsys):
    def broken(**kwargs):
        raise bench.BenchError("the native benchmark library is missing")
    monkeypatch.setattr(bench, "run", broken)
    assert cli.main(["bench"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "pyhost: the benchmark failed: the native benchmark library is missing"


@pytest.mark.skipif(not plot.have_matplotlib(), reason="matplotlib (pyhost[plot]) not installed")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_plot_draws_a_saved_run(doc, tmp_path, capsys, suffix, magic):
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(doc))
    out = tmp_path / f"chart{suffix}"
    assert cli.main(["bench", "--from", str(saved), "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    if suffix == ".svg":
        svg = out.read_text()
        assert "subscribers per hook" in svg and "crossings" in svg
    assert f"wrote {out}" in capsys.readouterr().err


def test_plot_refusals_come_before_any_measuring(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "run", lambda **kw: pytest.fail("measured anyway"))
    assert cli.main(["bench", "--plot", str(tmp_path / "chart.jpg")]) == 2
    assert "must end in .svg or .png" in capsys.readouterr().err
    assert cli.main(["bench", "--plot", str(tmp_path / "nowhere" / "c.svg")]) == 2
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setattr(plot, "have_matplotlib", lambda: False)
    assert cli.main(["bench", "--plot", str(tmp_path / "chart.svg")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"pyhost: {plot.MISSING}" and "pip install 'pyhost[plot]'" in err
    assert list(tmp_path.iterdir()) == []


def test_compare_flags_only_changes_outside_the_noise(doc, tmp_path, capsys):
    old = json.loads(json.dumps(doc))
    slower = old["rows"][0]["key"]
    new = json.loads(json.dumps(doc))
    for row in new["rows"]:
        if row["key"] == slower:   # the whole range moved up
            row["ns_per_event"], row["ns_min"], row["ns_max"] = (
                row["ns_per_event"] * 3, old["rows"][0]["ns_max"] * 2, row["ns_max"] * 3)
    result = compare.compare(new, old)
    verdicts = {e["key"]: e["verdict"] for e in result["rows"]}
    assert verdicts[slower] == "slower"
    assert {v for k, v in verdicts.items() if k != slower} == {"within noise"}
    assert {e["verdict"] for e in result["baselines"]} == {"within noise"}

    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    old_file.write_text(json.dumps(old))
    new_file.write_text(json.dumps(new))
    assert cli.main(["bench", "--from", str(new_file), "--compare", str(old_file)]) == 0
    out = capsys.readouterr().out
    assert "outside the noise" in out and "SLOWER" in out
    assert cli.main(["bench", "--from", str(new_file), "--compare", str(old_file),
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compare"]["rows"][0]["verdict"] == "slower"


def test_saved_runs_that_are_not_bench_documents_are_refused(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert cli.main(["bench", "--from", str(bad)]) == 2
    assert "is not the output of `pyhost bench --json`" in capsys.readouterr().err
    bad.write_text("{not json")
    assert cli.main(["bench", "--compare", str(bad)]) == 2
    assert "is not JSON" in capsys.readouterr().err
    assert cli.main(["bench", "--from", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


# -- the engine ---------------------------------------------------------------------------------

def test_a_group_module_plugs_in_its_own_rows():
    """What a later group (web API, isolation) does: register figures, a row, a target, a
    one-off section and a note; they show up in the document like the built-in ones."""
    counter = [0]

    def setup(ctx: Context) -> None:
        def loop(n):
            for _ in range(n):
                counter[0] += 1
        ctx.measure(Figure("demo_call", "demo call", "pyhost", "Python loop", 1),
                    timed(loop), Check(lambda: counter[0], 1, "demo"))
        ctx.measure(Figure("demo_base", "demo baseline", "baseline", "Python loop", 1),
                    timed(loop), Check(lambda: counter[0], 1, "demo base"))
        ctx.row(Row("demo_call", {"list": "demo_base"},
                    (Target("<= 10x its baseline", "demo_base", 10.0),)))
        ctx.after("demo", lambda c: {"measured": True, "answer": 42})
        ctx.note("work", {"demo": "one counter update"})

    res = engine.run(settings=TINY, groups=[Group("demo", "a demo group", setup)])
    out = res.as_dict()
    assert [r["key"] for r in out["rows"]] == ["demo_call"]
    assert out["rows"][0]["group"] == "demo" and out["demo"]["answer"] == 42
    assert out["targets"][0]["status"] in ("met", "unclear", "missed")
    assert out["work"] == {"demo": "one counter update"}


WEB = {"clients": 2, "events": 3, "seconds": 1.0, "events_per_s": 3.0,
       "deliveries_per_s": 6.0, "all_in_order": True, "dropped": 0,
       "hook_round_trip": {"count": 1, "p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 2.0}}


def test_the_web_api_group_adds_its_section_and_report_line(monkeypatch):
    asked = []
    monkeypatch.setattr(web_api, "measure", lambda quick=False: asked.append(quick) or WEB)
    doc = engine.run(quick=True, settings=TINY, groups=[web_api.GROUP]).as_dict()
    assert asked == [True]
    assert doc["web_api"] == {"measured": True, **WEB}
    assert "| Web API: 2 WebSocket clients x 3 chat events" in bench.report(doc)


def test_a_web_api_that_cannot_run_is_reported_not_fatal(monkeypatch):
    def broken(quick=False):
        raise OSError("no loopback")
    monkeypatch.setattr(web_api, "measure", broken)
    doc = engine.run(settings=TINY, groups=[web_api.GROUP]).as_dict()
    assert doc["web_api"] == {"measured": False, "reason": "OSError: no loopback"}
    assert "| Web API | not measured: OSError: no loopback |" in bench.report(doc)


RPC = {"in_process": {"count": 2, "p50_ms": 0.04, "p99_ms": 0.1},
       "c_round_trip": {"count": 2, "p50_ms": 0.3, "p99_ms": 4.0},
       "python_round_trip": {"count": 2, "p50_ms": 0.25, "p99_ms": 4.1},
       "concurrent": {"clients": 2, "calls": 4, "calls_per_s": 3000.0},
       "round_trip_beside_a_hung_call": {"count": 2, "p50_ms": 0.3, "p99_ms": 1.0},
       "change_seen_by_another_client": {"count": 2, "p50_ms": 3.0, "p99_ms": 8.0}}


def test_the_rpc_calls_group_adds_its_section_and_report_line(monkeypatch):
    asked = []
    monkeypatch.setattr(rpc_calls, "measure", lambda quick=False: asked.append(quick) or RPC)
    doc = engine.run(quick=True, settings=TINY, groups=[rpc_calls.GROUP]).as_dict()
    assert asked == [True] and doc["rpc_calls"] == {"measured": True, **RPC}
    line = [x for x in bench.report(doc).splitlines() if "Exported methods" in x]
    assert line == ["| Exported methods over the WebSocket | C p50 0.30 ms (p99 4.00), Python "
                    "p50 0.25 ms (p99 4.10); in-process p50 0.040 ms (x7.5) | 3000 calls/s "
                    "from 2 clients | beside a hung call p50 0.30 ms | a change reaches "
                    "another client p50 3.00 ms, p99 8.00 ms |"]


def test_the_rpc_calls_group_really_measures(monkeypatch):
    figures = rpc_calls.measure(quick=True)
    assert figures["concurrent"]["calls"] == 4 * 50
    for key in ("in_process", "c_round_trip", "python_round_trip",
                "round_trip_beside_a_hung_call", "change_seen_by_another_client"):
        assert figures[key]["count"] == 200 and 0 < figures[key]["p50_ms"]


def test_group_modules_of_later_issues_are_skipped_until_they_exist(monkeypatch):
    monkeypatch.setattr(engine, "GROUP_MODULES",
                        ("pyhost.bench.threads", "pyhost.bench.no_such_group"))
    assert [g.key for g in engine.load_groups()] == ["threads"]


def test_a_path_that_skips_work_is_caught():
    counter = [0]
    check = Check(lambda: counter[0], 4, "test path")
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
