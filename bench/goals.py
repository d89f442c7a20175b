"""The targets of issue 13 (performance, round two), each with its measured ratio and met / not met.

``rows(results)`` reads a run's ``results.json`` and gives one row per target, in the issue's order:
``{"target", "limit", "app", "baseline", "ratio", "verdict", "note", "other_cpu"}``. A verdict is
``met``, ``not met``, ``met at this size`` (met, but measured smaller than the target says, as ``--quick``
does) or ``not measured`` (the scenario did not run, or its baseline did not). Values are display-ready
numbers or strings; ``report.md`` renders them as a table.
"""
from .stats import ratio


def _get(d, *path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def verdict(ok, full_size=True):
    """``ok``: True / False / None (not measured); ``full_size``: measured at the target's own size."""
    if ok is None:
        return "not measured"
    if not ok:
        return "not met"
    return "met" if full_size else "met at this size"


def _within(value, limit):
    return None if value is None else value <= limit


def _at_least(value, limit):
    return None if value is None else value >= limit


def _five_xx(*error_dicts):
    """Count of HTTP 5xx answers in ``{status: count}`` dicts (keys such as ``"503"`` or ``"HTTP 502"``)."""
    total = 0
    for errors in error_dicts:
        for key, count in (errors or {}).items():
            code = str(key).split()[-1]
            if code.isdigit() and code.startswith("5") and len(code) == 3:
                total += count
    return total


def rows(r):
    app, null, base = r.get("app", {}), r.get("null", {}), r.get("baselines", {})
    out = []

    def add(target, limit, value, baseline, rr, ok, full_size=True, note="", scenario=None):
        out.append({"target": target, "limit": limit, "app": value, "baseline": baseline, "ratio": rr,
                    "verdict": verdict(ok, full_size), "note": note,
                    "other_cpu": _get(scenario, "machine", "other_cpu_percent")})

    # Sends: closed loop beside the null insert app at the same concurrency; pgbench as a second reference.
    sends, ni = app.get("sends"), base.get("null_insert")
    app_rate = _get(sends, "closed_loop", "sends_per_second")
    ni_rate = _get(ni, "closed_loop", "sends_per_second")
    rr = ratio(app_rate, ni_rate)
    pg = _get(base, "pgbench_insert", "tps")
    add("sends/s, closed loop at the same concurrency", "≥ 0.5 × null insert app", app_rate, ni_rate, rr,
        _at_least(rr, 0.5) if app_rate is not None else None,
        note=(f"{_get(sends, 'closed_loop', 'concurrency')} clients; pgbench {pg:,.0f} inserts/s "
              f"(ratio {ratio(app_rate, pg)})" if pg and app_rate is not None else ""), scenario=sends)
    p99 = _get(sends, "open_loop", "post_ms", "p99")
    rate = _get(sends, "open_loop", "rate")
    errors = _get(sends, "open_loop", "send_errors")
    ni_p99 = _get(ni, "open_loop", "post_ms", "p99")
    add(f"POST p99 at {rate or 200:.0f} msg/s, open loop (ms)", "≤ 50 ms", p99, ni_p99, ratio(p99, ni_p99),
        None if p99 is None else (p99 <= 50 and not errors), full_size=(rate or 0) >= 200,
        note=f"send errors {errors}" if errors else "baseline: the null insert app at the same rate",
        scenario=sends)

    fan = app.get("fanout")
    p99, null_p99 = _get(fan, "delivery_ms", "p99"), _get(null, "fanout", "delivery_ms", "p99")
    rr = ratio(p99, null_p99)
    members = _get(fan, "members") or 0
    clean = fan is not None and fan["lost"] == 0 and fan["duplicates"] == 0
    add(f"fan-out to {members:,} members, delivery p99 (ms)", "≤ 2 × null SSE server", p99, null_p99, rr,
        None if rr is None else (rr <= 2 and clean), full_size=members >= 1000,
        note="" if fan is None or clean else f"lost {fan['lost']}, duplicated {fan['duplicates']}", scenario=fan)

    dl = app.get("deliveries")
    rate, null_rate = _get(dl, "deliveries_per_second"), _get(null, "deliveries", "deliveries_per_second")
    rr = ratio(rate, null_rate)
    size = _get(dl, "group_size")
    clean = dl is not None and dl["lost"] == 0 and dl["duplicates"] == 0
    add(f"deliveries/s at the knee (p99 ≤ 1 s), groups of {size}", "≥ 0.5 × null SSE server", rate, null_rate,
        rr, None if rr is None else (rr >= 0.5 and clean), full_size=size == 50,
        note="" if dl is None or clean else f"lost {dl['lost']}, duplicated {dl['duplicates']}", scenario=dl)

    st = app.get("storm")
    seconds, null_seconds = _get(st, "reconnect_seconds"), _get(null, "storm", "reconnect_seconds")
    rr = ratio(seconds, null_seconds)
    if st is not None and "lost" in st:
        five = _five_xx(st.get("send_errors"), st.get("reconnect_failures"))
        worst = _get(st, "delivery_ms", "max")
        in_time = worst is not None and null_seconds is not None and worst <= 3 * null_seconds * 1000
        all_back = st["reconnected"] >= st["streams"]
        ok = None if rr is None else (rr <= 3 and st["lost"] == 0 and st["duplicates"] == 0 and five == 0
                                      and all_back and in_time)
        note = (f"lost {st['lost']}, duplicated {st['duplicates']}, 5xx {five}; {st['streams']:,} dropped, "
                f"{st['reconnected']:,} streams open after the resume; slowest delivery during the storm "
                f"{worst:,.0f} ms"
                if worst is not None else f"lost {st['lost']}, duplicated {st['duplicates']}, 5xx {five}")
    else:
        ok, note = None, ""
    streams = _get(st, "streams") or 0
    add(f"reconnect storm, {streams:,} streams: seconds until all are back", "≤ 3 × null; 0 lost/dup/5xx",
        seconds, null_seconds, rr, ok, full_size=streams >= 10_000, note=note, scenario=st)

    hist = app.get("history")
    if hist:
        worst = max(hist["pages"], key=lambda p: p["http_ms"]["p99"])
        add(f"history page of 50, worst HTTP p99 (ms, depth {worst['depth']:,})", "≤ 5 ms",
            worst["http_ms"]["p99"], worst["keyset_sql_ms"]["p99"],
            ratio(worst["http_ms"]["p99"], worst["keyset_sql_ms"]["p99"]), _within(worst["http_ms"]["p99"], 5),
            full_size=hist["messages"] >= 1_000_000, note="baseline: the page's own SQL p99", scenario=hist)
        inbox = hist["inbox"]
        add(f"conversation list of a person in {inbox['conversations']:,} conversations, HTTP p99 (ms)",
            "≤ 15 ms", inbox["http_ms"]["p99"], inbox["rows_sql_ms"]["p99"],
            ratio(inbox["http_ms"]["p99"], inbox["rows_sql_ms"]["p99"]), _within(inbox["http_ms"]["p99"], 15),
            full_size=inbox["conversations"] >= 1000, note="baseline: its main SQL query p99", scenario=hist)
    else:
        add("history page of 50, worst HTTP p99 (ms)", "≤ 5 ms", None, None, None, None)
        add("conversation list, HTTP p99 (ms)", "≤ 15 ms", None, None, None, None)

    idle = app.get("idle")
    held = _get(idle, "held") or 0
    kb, null_kb = _get(idle, "kb_per_connection"), _get(null, "idle", "kb_per_connection")
    rr = ratio(kb, null_kb)
    add(f"idle: server memory per stream at {held:,} streams (KB)", "≤ 1.3 × null SSE server", kb, null_kb, rr,
        None if rr is None else rr <= 1.3, full_size=held >= 10_000, scenario=idle)
    cpu, null_cpu = _get(idle, "idle_cpu_percent"), _get(null, "idle", "idle_cpu_percent")
    rr = ratio(cpu, null_cpu)
    add(f"idle: CPU holding {held:,} streams (% of a core)", "≤ 2 × null SSE server", cpu, null_cpu, rr,
        None if rr is None else rr <= 2, full_size=held >= 10_000, scenario=idle,
        note="no ratio: the null server's idle CPU measured 0 in this window" if null_cpu == 0 and cpu else "")

    d = app.get("day")
    p99 = _get(d, "delivery_ms", "p99")
    if d is not None:
        clean = d["lost"] == 0 and d["duplicates"] == 0
        full = d["people"] >= 5000 and d["conversations"] >= 1000 and d["rate"] >= 100
        note = (f"{d['people']:,} people, {d['conversations']:,} conversations, {d['rate']:g} msg/s; lost "
                f"{d['lost']}, duplicated {d['duplicates']}; app CPU {d['app_cpu_ms_per_message']} ms per message sent "
                f"(Postgres {d['postgres_cpu_ms_per_message']} ms)")
        ok = None if p99 is None else (p99 <= 100 and clean)
    else:
        full, note, ok = True, "", None
    add("a day in the life: delivery p99 (ms)", "≤ 100 ms, 0 lost", p99, None, None, ok, full_size=full,
        note=note, scenario=d)
    return out


def markdown(r):
    """The targets table of ``report.md`` (lines)."""
    def fmt(value):
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = ["## Issue 13 targets", "",
             "| target | limit | app | baseline | ratio | verdict | note | others' CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows(r):
        other = row["other_cpu"]
        lines.append(f"| {row['target']} | {row['limit']} | {fmt(row['app'])} | {fmt(row['baseline'])} | "
                     f"{fmt(row['ratio'])} | **{row['verdict']}** | {row['note']} | "
                     f"{'—' if other is None else f'{other:.0f}%'} |")
    lines += ["", "*met at this size*: met, but measured smaller than the target says (a `--quick` run); only a "
              "full run on a quiet machine decides. Baselines are measured in the same run: the null insert app "
              "(Flask + the same gunicorn gevent workers + a psycopg pool, one INSERT … RETURNING per POST), the "
              "null gevent SSE server, and the page's own SQL.", ""]
    return lines
