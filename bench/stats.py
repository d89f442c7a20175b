"""Percentiles and summaries of latency samples (seconds in, milliseconds out)."""
import math


def percentile(sorted_values, q):
    """The ``q``-th percentile (0–100) by nearest rank of already sorted values; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(samples):
    """``{count, p50, p90, p99, p999, max, mean}`` in milliseconds (rounded to µs) of ``samples`` in seconds."""
    values = sorted(samples)
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "p999": None, "max": None, "mean": None}

    def ms(v):
        return round(v * 1000, 3)
    return {"count": len(values), "p50": ms(percentile(values, 50)), "p90": ms(percentile(values, 90)),
            "p99": ms(percentile(values, 99)), "p999": ms(percentile(values, 99.9)), "max": ms(values[-1]),
            "mean": ms(sum(values) / len(values))}


def ratio(value, baseline):
    """``value / baseline`` rounded, or None when either is missing or the baseline is zero."""
    if value is None or not baseline:
        return None
    return float(f"{value / baseline:.3g}")
