"""(1) Idle streams ramped up: connections held, server memory per connection, idle CPU."""
import time

from ..targets import stream_stats, wait_for_settled


def run(run, target, people, steps, cpu_window, settle=2.0):
    """Open streams up to each count in ``steps``; streams stay open afterwards (the storm reuses them)."""
    target.configure_streams(tracking=True)
    time.sleep(0.5)
    base = target.memory()
    points, opened, failures = [], 0, {}
    for want in steps:
        want = min(want, len(people))
        if want <= opened:
            continue
        summary = target.open_streams(people[opened:want], concurrency=run.sizes.connect_concurrency)
        for k, v in summary["errors"].items():
            failures[k] = failures.get(k, 0) + v
        opened = want
        time.sleep(settle)
        settled = wait_for_settled(run, timeout=120, quiet=3)  # presence announcements of the newcomers
        held = stream_stats(run)["open"]
        mem = target.memory()
        cpu0, t0 = target.cpu_seconds(), time.monotonic()
        time.sleep(cpu_window)
        cpu = (target.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        point = {"connections": want, "held": held, "failed": summary["failed"], "settled_seconds": settled,
                 "open_seconds": round(summary["seconds"], 2), "pss_mb": round(mem["pss"] / 2**20, 1),
                 "uss_mb": round(mem["uss"] / 2**20, 1), "rss_mb": round(mem["rss"] / 2**20, 1),
                 "kb_per_connection": round((mem["pss"] - base["pss"]) / max(held, 1) / 1024, 2),
                 "idle_cpu_percent": round(cpu * 100, 2)}
        points.append(point)
        run.log(f"  {target.name}: {held}/{want} streams held, {point['pss_mb']} MB PSS "
                f"({point['kb_per_connection']} KB/stream), idle CPU {point['idle_cpu_percent']}% of a core")
        if summary["failed"] > 0.01 * max(want, 1):
            run.log(f"  {target.name}: stopping the ramp: {summary['errors']}")
            break
    first, last = points[0], points[-1]
    slope = None
    if last["held"] > first["held"]:
        slope = round((last["pss_mb"] - first["pss_mb"]) * 1024 / (last["held"] - first["held"]), 2)
    return {"base_pss_mb": round(base["pss"] / 2**20, 1), "points": points, "held": last["held"],
            "target": steps[-1], "kb_per_connection": slope if slope is not None else last["kb_per_connection"],
            "kb_per_connection_total": last["kb_per_connection"], "idle_cpu_percent": last["idle_cpu_percent"],
            "failures": failures}
