"""``report.md`` and the PNG plots from a run's ``results.json``; every headline beside its baseline."""
import json
import os

from . import goals
from .stats import ratio


def _get(d, *path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _fmt(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return text + unit


def _ratio(value):
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.2g}" if value < 0.1 else f"{value:,.2f}"


def headlines(r):
    """Rows of (target, figure, app value, baseline name, baseline value, ratio, verdict, others' CPU %)."""
    app, null, base = r.get("app", {}), r.get("null", {}), r.get("baselines", {})
    rows = _Rows()

    idle = rows.scenario = app.get("idle")
    if idle:
        held, want = idle["held"], idle["target"]
        kb = idle["kb_per_connection"]
        null_kb = _get(null, "idle", "kb_per_connection")
        rows.append(("idle streams held", "streams held", held, "target", want, ratio(held, want),
                     "met" if held >= 10_000 else ("met at this size" if held >= want else "missed")))
        rows.append(("idle streams held", "server memory per stream (KB of PSS, marginal)", kb, "null SSE server", null_kb,
                     ratio(kb, null_kb), "met" if kb is not None and kb <= 30 else "missed"))
        rows.append(("idle streams held", "idle CPU at the top of the ramp (% of a core)", idle["idle_cpu_percent"],
                     "null SSE server", _get(null, "idle", "idle_cpu_percent"),
                     ratio(idle["idle_cpu_percent"], _get(null, "idle", "idle_cpu_percent")), ""))
    fan = rows.scenario = app.get("fanout")
    if fan:
        p99 = fan["delivery_ms"]["p99"]
        null_p99 = _get(null, "fanout", "delivery_ms", "p99")
        ok = p99 is not None and p99 <= 100 and fan["lost"] == 0 and fan["duplicates"] == 0
        rows.append((f"fan-out to {fan['members']:,} members", "delivery p99 (ms)", p99, "null SSE server", null_p99,
                     ratio(p99, null_p99), ("met" if fan["members"] >= 1000 else "met at this size") if ok else "missed"))
    dl = rows.scenario = app.get("deliveries")
    if dl:
        null_rate = _get(null, "deliveries", "deliveries_per_second")
        rr = ratio(dl["deliveries_per_second"], null_rate)
        ok = rr is not None and rr >= 0.5 and dl["lost"] == 0 and dl["duplicates"] == 0
        rows.append(("deliveries/s", "deliveries/s at the knee (p99 ≤ 1 s)", dl["deliveries_per_second"],
                     "null SSE server", null_rate, rr, "met" if ok else "missed"))
    sends = rows.scenario = app.get("sends")
    if sends:
        closed, open_ = sends["closed_loop"], sends["open_loop"]
        tps = _get(base, "pgbench_insert", "tps")
        null_insert = _get(base, "null_insert", "closed_loop", "sends_per_second")
        rr = ratio(closed["sends_per_second"], null_insert)
        rows.append(("sends", f"sends/s at concurrency {closed['concurrency']}", closed["sends_per_second"],
                     "null insert app sends/s", null_insert, rr, "met" if rr is not None and rr >= 0.5 else "missed"))
        rows.append(("sends", f"sends/s at concurrency {closed['concurrency']}", closed["sends_per_second"],
                     "pgbench inserts/s", tps, ratio(closed["sends_per_second"], tps), ""))
        rows.append(("sends", "sends/s vs Redis PUBLISH/s", closed["sends_per_second"], "redis-benchmark PUBLISH/s",
                     _get(base, "redis_publish", "rps"), ratio(closed["sends_per_second"],
                                                                _get(base, "redis_publish", "rps")), ""))
        p99 = open_["post_ms"]["p99"]
        ni_p99 = _get(base, "null_insert", "open_loop", "post_ms", "p99")
        rows.append(("sends", f"POST p99 at {open_['rate']:.0f} msg/s (ms)", p99,
                     f"null insert app POST p99 at {open_['rate']:.0f} msg/s (ms)", ni_p99, ratio(p99, ni_p99),
                     "met" if p99 is not None and p99 <= 50 and not open_["send_errors"] else "missed"))
    hist = rows.scenario = app.get("history")
    if hist:
        worst = max(hist["pages"], key=lambda p: p["http_ms"]["p99"])
        p99s = [p["http_ms"]["p99"] for p in hist["pages"]]
        flat = max(p99s) / min(p99s) if min(p99s) else None
        rows.append((f"history page of 50 ({hist['messages']:,} messages)", f"worst HTTP p99 (ms, depth {worst['depth']:,})",
                     worst["http_ms"]["p99"], "the page's own SQL p99 (ms)", worst["keyset_sql_ms"]["p99"],
                     ratio(worst["http_ms"]["p99"], worst["keyset_sql_ms"]["p99"]),
                     "met" if worst["http_ms"]["p99"] <= 5 and flat is not None and flat < 2 else "missed"))
        deep = hist["pages"][-1]
        rows.append(("history page of 50", f"SQL keyset vs OFFSET at depth {deep['depth']:,} (p50 ms)",
                     deep["keyset_sql_ms"]["p50"], "OFFSET", deep["offset_sql_ms"]["p50"],
                     ratio(deep["keyset_sql_ms"]["p50"], deep["offset_sql_ms"]["p50"]), ""))
        inbox = hist["inbox"]
        rows.append((f"conversation list ({inbox['conversations']:,} conversations)", "HTTP p99 (ms)",
                     inbox["http_ms"]["p99"], "its main SQL query p99 (ms)", inbox["rows_sql_ms"]["p99"],
                     ratio(inbox["http_ms"]["p99"], inbox["rows_sql_ms"]["p99"]), ""))
    st = rows.scenario = app.get("storm")
    if st:
        ok = st.get("lost") == 0 and st.get("duplicates") == 0 and not st.get("resets") and \
            st["reconnected"] == st["streams"]
        rows.append((f"reconnect storm ({st['streams']:,} streams)", "lost / duplicated / reset",
                     f"{st.get('lost')} / {st.get('duplicates')} / {st.get('resets')}", "must be", "0 / 0 / 0", None,
                     ("met" if st["streams"] >= 10_000 else "met at this size") if ok else "missed"))
        null_s = _get(null, "storm", "reconnect_seconds")
        back = "every stream" if st["reconnected"] >= st["streams"] else f"{st['reconnected']:,} of {st['streams']:,}"
        rows.append(("reconnect storm", f"seconds until {back} reconnected", st["reconnect_seconds"],
                     "null SSE server (no replay)", null_s, ratio(st["reconnect_seconds"], null_s), ""))
    return rows


class _Rows(list):
    """Rows that carry how busy other processes kept the machine while the app's figure was taken."""

    scenario = None

    def append(self, row):
        other = _get(self.scenario, "machine", "other_cpu_percent") if self.scenario else None
        super().append((*tuple(row), other))


def plot(out_dir, r):
    """Write the PNG plots; return their file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    series = [(name, r.get(name, {})) for name in ("app", "null")]
    labels = {"app": "app (gunicorn + gevent + Postgres + Redis)", "null": "null gevent SSE server"}

    fig, ax = plt.subplots(figsize=(8, 5))
    drew = False
    colors = {"app": "tab:blue", "null": "tab:orange"}
    for name, data in series:
        steps = _get(data, "deliveries", "steps") or []
        pts = [s for s in steps if s["delivery_ms"]["p50"] is not None]
        if not pts:
            continue
        x = [s["deliveries_per_second"] for s in pts]
        for key, style in (("p50", "-o"), ("p99", "--s"), ("max", ":^")):
            ax.plot(x, [s["delivery_ms"][key] for s in pts], style, color=colors[name], label=f"{labels[name]} {key}")
        drew = True
    if drew:
        ax.axhline(1000, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("deliveries per second (offered load: groups of "
                      f"{_get(r, 'app', 'deliveries', 'group_size') or _get(r, 'null', 'deliveries', 'group_size')})")
        ax.set_ylabel("delivery latency, scheduled send → parsed by the client (ms)")
        ax.set_title("Delivery latency percentiles against load")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "latency_vs_load.png"), dpi=110)
        written.append("latency_vs_load.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    drew = False
    for name, data in series:
        points = _get(data, "idle", "points") or []
        if not points:
            continue
        base = data["idle"]["base_pss_mb"]
        ax.plot([0] + [p["held"] for p in points], [base] + [p["pss_mb"] for p in points], "-o",
                label=f"{labels[name]} ({data['idle']['kb_per_connection']} KB/stream)")
        drew = True
    if drew:
        ax.set_xlabel("idle SSE streams held")
        ax.set_ylabel("server memory, PSS summed over its processes (MB)")
        ax.set_title("Server memory against connections")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "memory_vs_connections.png"), dpi=110)
        written.append("memory_vs_connections.png")
    plt.close(fig)

    pages = _get(r, "app", "history", "pages")
    if pages:
        fig, ax = plt.subplots(figsize=(8, 5))
        depths = [p["depth"] for p in pages]
        x = list(range(len(depths)))
        for key, label, style in (("http_ms", "HTTP keyset page p99", "-o"), ("keyset_sql_ms", "SQL keyset p99", "--s"),
                                  ("offset_sql_ms", "SQL OFFSET p99", ":^")):
            ax.plot(x, [p[key]["p99"] for p in pages], style, label=label)
        ax.set_xticks(x, [f"{d:,}" for d in depths])
        ax.set_yscale("log")
        ax.set_xlabel("depth (messages newer than the page)")
        ax.set_ylabel("ms")
        ax.set_title(f"A page of 50 from a {r['app']['history']['messages']:,}-message conversation")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "history_depth.png"), dpi=110)
        written.append("history_depth.png")
        plt.close(fig)
    return written


def markdown(r, images=()):
    m = r.get("machine", {})
    g = r.get("gunicorn", {})
    lines = [f"# Benchmark report — {r.get('mode')} run of {r.get('started_at')}", "",
             f"Duration {_fmt(r.get('duration_seconds'))} s (data set-up {_fmt(r.get('seed_seconds'))} s). "
             f"Command: `{r.get('command')}`. Code: commit {_get(r, 'code', 'commit')}"
             + (f", with uncommitted changes to {', '.join(_get(r, 'code', 'uncommitted_app_files'))}"
                if _get(r, "code", "uncommitted_app_files") else "") + ".", ""]
    per_scenario = r.get("code_per_scenario") or {}
    versions = {(v.get("chat_tree"), tuple(v["uncommitted_app_files"])) for v in per_scenario.values()}
    if len(versions) > 1:
        lines += ["The app's code changed during the run (others work in the same tree); each scenario ran: "
                  + "; ".join(f"{k} at {v['commit']} (chat/ tree {v.get('chat_tree')})"
                              + (f" + {', '.join(v['uncommitted_app_files'])}" if v["uncommitted_app_files"] else "")
                              for k, v in per_scenario.items()) + ".", ""]
    lines += [
             f"Machine: {m.get('cpus')} × {m.get('cpu_model')}, {m.get('memory_gb')} GB, Linux {m.get('kernel')}; "
             f"Python {m.get('python')}, gevent {m.get('gevent')}, gunicorn {m.get('gunicorn')}; "
             f"{m.get('postgres')}; {m.get('redis')}.", "",
             f"App: `{g.get('command')}` — {g.get('workers')} × {g.get('worker_class')} workers, "
             f"worker_connections {g.get('worker_connections')}"
             + (f" (raised to {g['worker_connections_raised_to']} for this run)" if g.get("worker_connections_raised_to") else "")
             + f", timeout {g.get('timeout')}, backlog {g.get('backlog')}. Load generators, app, Postgres and Redis "
             "share the same cores over loopback.", "",
             "## Headlines", "",
             "| target | figure | app | baseline | baseline value | ratio | verdict | others' CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for row in headlines(r):
        t, fig, v, bname, bval, rr, verdict, other = row
        lines.append(f"| {t} | {fig} | {_fmt(v)} | {bname} | {_fmt(bval)} | {_ratio(rr)} | {verdict} | "
                     f"{'—' if other is None else f'{other:.0f}%'} |")
    lines += ["", "*others' CPU*: what processes outside this run used (% of one core) while the app's figure was "
              "taken; above ~30% the figure is disturbed.", ""]
    lines += goals.markdown(r)
    lines += ["", "Baselines: "
              + f"redis-benchmark PUBLISH {_fmt(_get(r, 'baselines', 'redis_publish', 'rps'))}/s "
              f"(p99 {_fmt(_get(r, 'baselines', 'redis_publish', 'p99_ms'))} ms); "
              f"pgbench single-row inserts into messages {_fmt(_get(r, 'baselines', 'pgbench_insert', 'tps'))}/s at "
              f"{_fmt(_get(r, 'baselines', 'pgbench_insert', 'clients'))} clients "
              f"(p99 {_fmt(_get(r, 'baselines', 'pgbench_insert', 'latency_ms', 'p99'))} ms)"
              + _null_insert_line(r) + ".", ""]
    if r.get("settling"):
        lines += ["Between scenarios the app's server is restarted and the next scenario waits until the people whose "
                  "streams the last one closed have lapsed and been announced offline: "
                  + "; ".join(f"{s['presence_seconds']} s before {s['before']}"
                              + (f" ({s['presence_pending']} still pending)" if s["presence_pending"] else "")
                              for s in r["settling"]) + ".", ""]
    for image in images:
        lines += [f"![{image}]({image})", ""]
    lines += _details(r)
    return "\n".join(lines) + "\n"


def _null_insert_line(r):
    ni = _get(r, "baselines", "null_insert")
    if not ni:
        return ""
    c, o = ni["closed_loop"], ni["open_loop"]
    return (f"; the null insert app (`{ni['command']}`, {ni['workers']} workers) {_fmt(c['sends_per_second'])} "
            f"sends/s at {c['concurrency']} clients (POST {_ms(c['post_ms'])}), and at {o['rate']:.0f} msg/s open "
            f"loop POST {_ms(o['post_ms'])}, errors {o['send_errors'] or 0}")


def _deliveries_lines(d, title):
    lines = [f"{title}: {d.get('groups')} groups of {d.get('group_size')}, {d.get('streams')} streams.", "",
             "| msg/s | deliveries/s | p50 ms | p99 ms | max ms | send p99 ms | send errors |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {s['rate']} | {s['deliveries_per_second']} | {_fmt(s['delivery_ms']['p50'])} | "
              f"{_fmt(s['delivery_ms']['p99'])} | {_fmt(s['delivery_ms']['max'])} | "
              f"{_fmt(s['send_ms']['p99'])} | {s['send_errors'] or ''} |" for s in d["steps"]]
    lines += ["", f"Losses {d['lost']}, duplicates {d['duplicates']} of {d['expected']:,} expected deliveries; "
              f"reconnects {d['reconnects']}, resets {d['resets']}.", ""]
    return lines


def _day_lines(d):
    return [f"A day in the life: {d['people']:,} people ({d['connected']:,} connected) in {d['conversations']:,} "
            f"conversations ({d['memberships']:,} memberships; sizes {d['sizes']}); {d['messages']:,} messages at "
            f"{d['rate']:g}/s for {d['seconds']:g} s, {d['typing']['sent']:,} typing notices, {d['reads']['sent']:,} "
            f"read marks ({d['reads']['skipped']} skipped: their message had not been answered yet), "
            f"{d['churn']['closed']:,} streams closed and reopened with Last-Event-ID "
            f"({d['churn']['reopened']:,} back, {d['churn']['gave_up']} gave up; "
            f"waited {d['churn'].get('skipped_no_cursor', 0) / 4:g} s for a first cursor).", "",
            f"Live delivery {_ms(d['delivery_ms'])}; catch-up after a reconnect {_ms(d['catchup_ms'])}; lost "
            f"{d['lost']} ({d['lost_gaps']} gaps) and duplicated {d['duplicates']} of {d['expected']:,} expected; "
            f"resets {d['resets']}, streams the server closed {d['server_closed']}.", "",
            f"POST: message {_ms(d['post_ms'])}; typing {_ms(d['typing']['post_ms'])}; read "
            f"{_ms(d['reads']['post_ms'])}; errors {d['send_errors'] or 0} / {d['typing']['errors'] or 0} / "
            f"{d['reads']['errors'] or 0}.", "",
            f"CPU over {d['measured_seconds']} s: app {d['app_cpu_seconds']} s = **{d['app_cpu_ms_per_message']} ms "
            f"per message sent**; Postgres {d['postgres_cpu_ms_per_message']} ms, Redis {d['redis_cpu_ms_per_message']} "
            f"ms per message (by part: {d['cpu_seconds_by_part']}). Events {d['events']}.", ""]


def _ms(summary):
    if not summary or summary.get("p50") is None:
        return "—"
    return (f"p50 {_fmt(summary['p50'])} / p99 {_fmt(summary['p99'])} / max {_fmt(summary['max'])} ms "
            f"(n={summary['count']:,})")


def _details(r):
    lines = ["## Details", ""]
    per_call = _get(r, "costs", "per_call")
    if per_call:
        lines += ["### cost per request (in-process: Flask test client, bearer token, real Postgres and Redis)", "",
                  "| request | SQL statements (BEGIN/COMMIT included) | Python CPU ms | wall ms |", "|---|---|---|---|"]
        lines += [f"| {name} | {c['statements']} | {c['cpu_ms']} | {c['wall_ms']} |" for name, c in per_call.items()]
        lines.append("")
    for name in ("null", "app"):
        data = r.get(name)
        if not data:
            continue
        lines += [f"### {name}", ""]
        if "idle" in data:
            lines += ["| streams | held | PSS MB | USS MB | KB/stream | idle CPU % | open s |",
                      "|---|---|---|---|---|---|---|"]
            lines += [f"| {p['connections']:,} | {p['held']:,} | {p['pss_mb']} | {p['uss_mb']} | {p['kb_per_connection']} | "
                      f"{p['idle_cpu_percent']} | {p['open_seconds']} |" for p in data["idle"]["points"]]
            lines.append("")
        for key in sorted(k for k in data if k.startswith("deliveries")):
            lines += _deliveries_lines(data[key], "Deliveries" if key == "deliveries" else f"Deliveries ({key})")
        if "day" in data:
            lines += _day_lines(data["day"])
        if "fanout" in data:
            f = data["fanout"]
            lines += [f"Fan-out: {f['members']:,} members, {f['messages']} messages; delivery {_ms(f['delivery_ms'])}; "
                      f"send {_ms(f['send_ms'])}; lost {f['lost']}, duplicated {f['duplicates']}; "
                      f"events {f.get('events')} (mean bytes of data {f.get('mean_event_bytes')}); events while "
                      f"connecting {f.get('events_while_connecting')}.", ""]
        if "storm" in data:
            st = data["storm"]
            lines += [f"Storm: {st['streams']:,} streams dropped, {st['reconnected']:,} back in {st['reconnect_seconds']} s "
                      f"({st.get('with_cursor')} with a cursor; each back after {_ms(st.get('back_ms'))}); "
                      f"{st['rate']} msg/s for {st['seconds']} s"
                      + (f"; delivery {_ms(st['delivery_ms'])}; lost {st['lost']} of {st['expected']:,} "
                         f"({st.get('lost_gaps')} gaps, {st.get('lost_tail')} not caught up when counting stopped), "
                         f"duplicated {st['duplicates']}, resets {st['resets']}; reconnect attempts "
                         f"{st.get('reconnect_attempts')}, failures {st.get('reconnect_failures')}; events "
                         f"{st.get('events')}" if "lost" in st else "") + ".", ""]
        if "sends" in data:
            o, c = data["sends"]["open_loop"], data["sends"]["closed_loop"]
            lines += [f"Sends, open loop {o['rate']} msg/s for {o['seconds']} s: POST {_ms(o['post_ms'])}; delivery "
                      f"{_ms(o['delivery_ms'])}; errors {o['send_errors'] or 0}; lost {o['lost']}, duplicated "
                      f"{o['duplicates']}.", "",
                      f"Sends, closed loop {c['concurrency']} clients for {c['seconds']} s: {c['sends_per_second']} sends/s; "
                      f"POST {_ms(c['post_ms'])}; errors {c['errors'] or 0}.", ""]
        lines += ["CPU while measuring (% of one core): "
                  + "; ".join(f"{k} own {_get(v, 'machine', 'own_cpu_percent')}, others "
                              f"{_get(v, 'machine', 'other_cpu_percent')}, stolen {_get(v, 'machine', 'steal_cpu_percent')}"
                              for k, v in data.items() if isinstance(v, dict) and "machine" in v), ""]
        if "history" in data:
            h = data["history"]
            lines += ["| depth | HTTP p50 | HTTP p99 | SQL keyset p50 | SQL keyset p99 | SQL OFFSET p50 |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {p['depth']:,} | {p['http_ms']['p50']} | {p['http_ms']['p99']} | {p['keyset_sql_ms']['p50']} | "
                      f"{p['keyset_sql_ms']['p99']} | {p['offset_sql_ms']['p50']} |" for p in h["pages"]]
            lines += ["", f"Conversation list: HTTP {json.dumps(h['inbox']['http_ms'])}; main query "
                      f"{json.dumps(h['inbox']['rows_sql_ms'])}", "", "```", h["inbox"]["plan"], "```", ""]
    for scenario, prof in (r.get("profiles") or {}).items():
        lines += [f"### profile: {scenario} ({prof['samples']} samples, `{prof['file']}`)", "",
                  "| self | frame |", "|---|---|"]
        lines += [f"| {share:.1%} | `{frame}` |" for frame, share in prof["self"][:15]]
        lines += ["", "| inclusive | frame |", "|---|---|"]
        lines += [f"| {share:.1%} | `{frame}` |" for frame, share in prof["inclusive"][:25]]
        lines.append("")
    return lines


def write(out_dir, results):
    images = plot(out_dir, results)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(markdown(results, images))
    return images
