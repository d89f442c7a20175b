"""(3) Many small conversations, the send rate stepped up until delivery p99 passes the knee (1 s)."""
from ..stats import summary_ms
from ..targets import collect, stream_stats, wait_for_quiet, wait_for_settled
from ..workers import call_all
from . import OK_STATUSES, send_errors, tally

FIRST_STEP = 300


def run(run, target, people, groups, rates, step_seconds, knee_ms=1000.0):
    target.configure_streams(tracking=True, auto_resume=True)
    target.prepare_groups(groups)
    target.open_streams(people, concurrency=run.sizes.connect_concurrency)
    target.configure_sender(groups)
    wait_for_settled(run)
    collect(run)
    steps, results, expected = [], [], 0
    for i, rate in enumerate(rates):
        step = FIRST_STEP + i
        sent = run.sender.call("open_loop", timeout=step_seconds + 300, rate=rate, duration=step_seconds,
                               step=step, prefix=f"d{i}", pick="round_robin")
        results += sent["results"]
        ok = [r for r in sent["results"] if r[2] in OK_STATUSES]
        want = sum(len(groups[r[1]][1]) for r in ok)
        expected += want
        wait_for_quiet(run, expected=expected, timeout=30, quiet=2)
        latencies = collect(run, steps=[step])["latencies"].get(step, [])
        summary = summary_ms(latencies)
        point = {"rate": rate, "sent_ok": len(ok), "late_starts": sent["late_starts"],
                 "send_errors": send_errors(sent["results"]),
                 "send_ms": summary_ms([r[3] for r in ok]),
                 "deliveries": len(latencies), "expected": want,
                 "deliveries_per_second": round(len(latencies) / step_seconds, 1), "delivery_ms": summary}
        steps.append(point)
        run.log(f"  {target.name}: {rate} msg/s → {point['deliveries_per_second']} deliveries/s, "
                f"p50 {summary['p50']} ms, p99 {summary['p99']} ms (send p99 {point['send_ms']['p99']} ms, "
                f"errors {point['send_errors'] or 0})")
        if (summary["p99"] is None or summary["p99"] > knee_ms or len(ok) < 0.99 * len(sent["results"])
                or len(latencies) < 0.99 * want):
            break
    wait_for_quiet(run, expected=expected, timeout=120, quiet=10)
    got = collect(run, seen=True)
    stats = stream_stats(run)
    good = [s for s in steps if s["delivery_ms"]["p99"] is not None and s["delivery_ms"]["p99"] <= knee_ms
            and s["deliveries"] >= 0.99 * s["expected"] and not s["send_errors"]]
    knee = max(good, key=lambda s: s["deliveries_per_second"]) if good else None
    outcome = {"group_size": len(groups[0][1]), "groups": len(groups), "streams": len(people),
               "step_seconds": step_seconds, "steps": steps,
               "knee_rate": knee["rate"] if knee else None,
               "deliveries_per_second": knee["deliveries_per_second"] if knee else 0.0,
               "knee_delivery_ms": knee["delivery_ms"] if knee else None,
               "reconnects": stats.get("reconnects", 0), "resets": got["resets"], "events": got["events"],
               "mean_event_bytes": got["event_bytes"],
               **tally(results, groups, got["seen"])}
    call_all(run.stream_workers, "close")
    run.log(f"  {target.name}: knee {outcome['deliveries_per_second']} deliveries/s at {outcome['knee_rate']} msg/s; "
            f"lost {outcome['lost']}, duplicated {outcome['duplicates']}, reconnects {outcome['reconnects']}")
    return outcome
