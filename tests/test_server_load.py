"""The Web API under load: 50 WebSocket clients with listeners while 10,000 chat events are
fired get every event in order; a client that stops reading is dropped with a logged
reason (a send stuck past the stall timeout, or its send queue full) while the others go on
and the firing thread never waits for it. Figures (events/s, hook round trip) are the
`pyhost bench` row's business (pyhost/bench/web_api.py), not asserted here."""
import logging

from pyhost.bench import web_api


def test_fifty_clients_get_ten_thousand_events_in_order():
    result = web_api.load(clients=50, events=10_000)
    assert result.received == [10_000] * 50
    assert all(result.in_order)
    assert result.dropped == [None] * 50


def test_clients_that_stop_reading_are_dropped_and_the_rest_go_on(caplog):
    caplog.set_level(logging.WARNING, logger="pyhost.server")
    # 400 events of 64 kB: 26 MB per client, more than the kernel buffers of a stalled one
    result = web_api.load(clients=6, events=400, stalled=2, stop_after=10, padding=64_000,
                          stall_timeout=1.0)
    assert result.received[2:] == [400] * 4 and all(result.in_order[2:])
    assert result.dropped[2:] == [None] * 4
    for reason in result.dropped[:2]:
        assert reason is not None and "has not read anything" in reason
    assert sum("dropping API client" in r.message for r in caplog.records) == 2
    assert result.fire_seconds < 10  # publishing never waited for the stalled clients


def test_a_full_send_queue_drops_the_client(caplog):
    caplog.set_level(logging.WARNING, logger="pyhost.server")
    result = web_api.load(clients=1, events=200, stalled=1, stop_after=5, padding=64_000,
                          stall_timeout=600, max_queue_bytes=1024 * 1024)
    assert result.dropped[0] is not None and "send queue is full" in result.dropped[0]
    assert any("not reading" in r.message for r in caplog.records)


def test_the_bench_row_reports_both_figures():
    figures = {"clients": 2, "events": 10, "seconds": 0.5, "events_per_s": 20.0,
               "deliveries_per_s": 40.0, "all_in_order": True, "dropped": 0,
               "hook_round_trip": web_api.hook_round_trip(20)}
    assert figures["hook_round_trip"]["count"] == 20
    assert 0 < figures["hook_round_trip"]["p50_ms"] <= figures["hook_round_trip"]["p99_ms"]
    row = web_api.report(figures)
    assert "20 events/s" in row and "p99" in row and "all in order" in row
