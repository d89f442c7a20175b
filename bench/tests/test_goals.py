"""The issue-13 targets table: ratios and verdicts from a run's results."""
from bench import goals


def ms(p99, mx=None):
    return {"count": 10, "p50": p99 / 2, "p90": p99, "p99": p99, "p999": p99, "max": mx or p99, "mean": p99 / 2}


def results(full=True):
    n = 10_000 if full else 1000
    return {
        "mode": "full" if full else "quick",
        "baselines": {"pgbench_insert": {"tps": 10_000.0, "latency_ms": ms(2.0)},
                      "null_insert": {"command": "gunicorn bench.nullinsert:app", "workers": 2,
                                      "closed_loop": {"concurrency": 8, "seconds": 5, "sends_per_second": 1000.0,
                                                      "post_ms": ms(10.0), "errors": {}},
                                      "open_loop": {"rate": 200, "seconds": 5, "late_starts": 0, "post_ms": ms(8.0),
                                                    "send_errors": {}}}},
        "null": {"fanout": {"delivery_ms": ms(50.0)}, "deliveries": {"deliveries_per_second": 10_000.0},
                 "storm": {"reconnect_seconds": 3.0},
                 "idle": {"kb_per_connection": 20.0, "idle_cpu_percent": 5.0}},
        "app": {
            "sends": {"closed_loop": {"concurrency": 8, "sends_per_second": 600.0},
                      "open_loop": {"rate": 200, "post_ms": ms(40.0), "send_errors": {}},
                      "machine": {"other_cpu_percent": 12.0}},
            "fanout": {"members": 1000 if full else 200, "delivery_ms": ms(90.0), "lost": 0, "duplicates": 0},
            "deliveries": {"group_size": 50, "deliveries_per_second": 4000.0, "lost": 0, "duplicates": 0},
            "storm": {"streams": n, "reconnected": n, "reconnect_seconds": 12.0, "lost": 0, "duplicates": 0,
                      "resets": 0, "send_errors": {"HTTP 503": 2}, "reconnect_failures": {},
                      "delivery_ms": ms(900.0, 5000.0)},
            "history": {"messages": 1_000_000, "pages": [
                {"depth": 0, "http_ms": ms(4.0), "keyset_sql_ms": ms(1.0)},
                {"depth": 900_000, "http_ms": ms(6.0), "keyset_sql_ms": ms(1.5)}],
                "inbox": {"conversations": 1000, "http_ms": ms(14.0), "rows_sql_ms": ms(7.0)}},
            "idle": {"held": n, "kb_per_connection": 25.0, "idle_cpu_percent": 12.0},
            "day": {"people": 5000 if full else 500, "conversations": 1000 if full else 100,
                    "rate": 100 if full else 25, "delivery_ms": ms(80.0), "lost": 0, "duplicates": 0,
                    "app_cpu_ms_per_message": 9.5, "postgres_cpu_ms_per_message": 3.1},
        },
    }


def by_limit(rows):
    return {row["limit"]: row for row in rows}


def test_every_target_has_a_row_in_the_issues_order():
    rows = goals.rows(results())
    assert [r["limit"] for r in rows] == [
        "≥ 0.5 × null insert app", "≤ 50 ms", "≤ 2 × null SSE server", "≥ 0.5 × null SSE server",
        "≤ 3 × null; 0 lost/dup/5xx", "≤ 5 ms", "≤ 15 ms", "≤ 1.3 × null SSE server", "≤ 2 × null SSE server",
        "≤ 100 ms, 0 lost"]


def test_ratios_and_verdicts():
    rows = goals.rows(results())
    sends, post, fan, deliveries, storm, history, inbox, memory, cpu, day = rows
    assert (sends["app"], sends["baseline"], sends["ratio"], sends["verdict"]) == (600.0, 1000.0, 0.6, "met")
    assert "pgbench 10,000 inserts/s (ratio 0.06)" in sends["note"] and sends["other_cpu"] == 12.0
    assert (post["app"], post["baseline"], post["ratio"], post["verdict"]) == (40.0, 8.0, 5.0, "met")
    assert (fan["ratio"], fan["verdict"]) == (1.8, "met")
    assert (deliveries["ratio"], deliveries["verdict"]) == (0.4, "not met")
    # 4× the null server's time, two 5xx answers, and a delivery 5 s after the drop: three reasons
    assert (storm["ratio"], storm["verdict"]) == (4.0, "not met") and "5xx 2" in storm["note"]
    assert (history["app"], history["baseline"], history["verdict"]) == (6.0, 1.5, "not met")
    assert "depth 900,000" in history["target"]
    assert (inbox["app"], inbox["ratio"], inbox["verdict"]) == (14.0, 2.0, "met")
    assert (memory["ratio"], memory["verdict"]) == (1.25, "met")
    assert (cpu["ratio"], cpu["verdict"]) == (2.4, "not met")
    assert (day["app"], day["verdict"]) == (80.0, "met") and "9.5 ms per message sent" in day["note"]


def test_a_loss_fails_a_latency_target():
    r = results()
    r["app"]["day"]["lost"] = 1
    r["app"]["fanout"]["duplicates"] = 2
    rows = by_limit(goals.rows(r))
    assert rows["≤ 100 ms, 0 lost"]["verdict"] == "not met"
    assert rows["≤ 2 × null SSE server"]["verdict"] == "not met"


def test_quick_sizes_are_met_at_this_size_and_missing_scenarios_are_not_measured():
    r = results(full=False)
    del r["app"]["history"], r["baselines"]["null_insert"], r["app"]["deliveries"]
    r["app"]["storm"]["send_errors"] = {}
    r["app"]["storm"]["delivery_ms"] = ms(900.0, 2000.0)
    r["app"]["storm"]["reconnect_seconds"] = 6.0
    rows = goals.rows(r)
    verdicts = [row["verdict"] for row in rows]
    assert verdicts == ["not measured", "met", "met at this size", "not measured", "met at this size",
                        "not measured", "not measured", "met at this size", "not met", "met at this size"]


def test_five_xx_counts_http_server_errors_only():
    assert goals._five_xx({"503": 2, "HTTP 502": 1, "timeout": 4, "429": 1}, {"HTTP 500": 3}, None) == 6


def test_report_has_the_targets_table():
    text = "\n".join(goals.markdown(results()))
    assert "## Issue 13 targets" in text
    assert ("| sends/s, closed loop at the same concurrency | ≥ 0.5 × null insert app | 600 | 1,000 | 0.600 | "
            "**met**") in text
    assert "| a day in the life: delivery p99 (ms) | ≤ 100 ms, 0 lost | 80.00 | — | — | **met** |" in text
