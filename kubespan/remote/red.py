"""The Services view's numbers (RED per service and operation) from a remote's TraceQL metrics.

Three queries per refresh, each the filter followed by a metrics pipeline, over the view's window:

- spans, errors, sparkline (a range query, ~24 steps):
  `F | count_over_time() by (resource.service.name, name, status)`
- p50/p90/p99 per operation (instant): `F | quantile_over_time(duration, .5, .9, .99) by (resource.service.name, name)`
- p50/p90/p99 per service (instant): `F | quantile_over_time(duration, .5, .9, .99) by (resource.service.name)`

Both kubespan's API and a Tempo answer them, and both compute quantiles over log2 buckets the way
the local Services view does, so the numbers are the local view's on the same spans. A service's
spans and errors are the sums of its operations' (exact); its quantiles come from its own query.
"""

from __future__ import annotations

from collections import defaultdict

from kubespan.metrics.red import QUANTILES, RedRow
from kubespan.remote.client import RemoteClient
from kubespan.remote.series import SeriesAnswer, bad, metrics_query, number, step_for

SERVICE, NAME, STATUS = "resource.service.name", "name", "status"
KUBESPAN_PATH = "/api/kubespan/red"
"""A kubespan's Services rows from its live aggregates (buildinfo `features` has `red`): one request."""
MAX_OPERATIONS = 5000
"""Operations read from one answer at most (the rest are left out and said so)."""


def red_queries(filter_traceql: str) -> tuple[str, str, str]:
    """The three metrics queries for a filter (TraceQL, `{ }` for none)."""
    spanset = filter_traceql.strip() or "{ }"
    quantiles = ", ".join(f"{q:g}" for q in QUANTILES)
    return (f"{spanset} | count_over_time() by ({SERVICE}, {NAME}, {STATUS})",
            f"{spanset} | quantile_over_time(duration, {quantiles}) by ({SERVICE}, {NAME})",
            f"{spanset} | quantile_over_time(duration, {quantiles}) by ({SERVICE})")


def fetch_red(client: RemoteClient, filter_traceql: str, start_ns: int, end_ns: int,
              points: int = 24) -> tuple[list[RedRow], list[str]]:
    """RED rows over [start, end) (services busiest first, each followed by its operations) and the
    notes on what the answers left out. Raises `RemoteError` when a query fails."""
    counts_q, op_q, service_q = red_queries(filter_traceql)
    counts = metrics_query(client, counts_q, start_ns, end_ns, step_s=step_for(start_ns, end_ns, points))
    op_quantiles = metrics_query(client, op_q, start_ns, end_ns)
    service_quantiles = metrics_query(client, service_q, start_ns, end_ns)
    notes = [f"partial answer: {answer.partial}" for answer in (counts, op_quantiles, service_quantiles)
             if answer.partial]
    rows, left_out = red_rows(counts, op_quantiles, service_quantiles, max(end_ns - start_ns, 1) / 1e9)
    if left_out:
        notes.append(f"{left_out:,} operations past the first {MAX_OPERATIONS:,} left out")
    return rows, list(dict.fromkeys(notes))


def kubespan_red(client: RemoteClient, filter_traceql: str, start_ns: int, end_ns: int,
                 points: int = 24) -> tuple[list[RedRow], list[str]]:
    """RED rows from a kubespan's `/api/kubespan/red` (the same rows as the three queries, read from the
    aggregates it keeps as spans arrive); raises `RemoteError` when it fails."""
    answer = client.get_json(KUBESPAN_PATH, {"q": filter_traceql.strip() or "{ }", "start": str(start_ns),
                                             "end": str(end_ns), "points": str(points)})
    if not isinstance(answer, dict) or not isinstance(answer.get("rows"), list):
        raise bad("the RED answer", "has no rows list")
    rows = []
    for i, raw in enumerate(answer["rows"][:MAX_OPERATIONS]):
        where = f"rows[{i}]"
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("service", "operation")):
            raise bad(where, "is not a row")
        spark = raw.get("sparkline") or []
        if not isinstance(spark, list):
            raise bad(f"{where}.sparkline", "is not a list")
        rate, error_pct, p50, p90, p99 = (number(raw.get(k, 0), f"{where}.{k}")
                                          for k in ("rate", "errorPct", "p50", "p90", "p99"))
        rows.append(RedRow(raw["service"], raw["operation"], int(number(raw.get("spans", 0), f"{where}.spans")),
                           rate, error_pct, p50, p90, p99,
                           tuple(int(number(v, f"{where}.sparkline")) for v in spark)))
    notes = answer.get("notes")
    left = len(answer["rows"]) - len(rows)
    return rows, ([str(n)[:200] for n in notes] if isinstance(notes, list) else []) + (
        [f"{left:,} rows past the first {MAX_OPERATIONS:,} left out"] if left > 0 else [])


def red_rows(counts: SeriesAnswer, op_quantiles: SeriesAnswer, service_quantiles: SeriesAnswer,
             seconds: float) -> tuple[list[RedRow], int]:
    """Rows from the three answers, and how many operations were left out past `MAX_OPERATIONS`."""
    stamps = sorted({stamp for found in counts.series for stamp in found.values})
    column = {stamp: i for i, stamp in enumerate(stamps)}
    spans: dict[tuple[str, str], float] = defaultdict(float)
    errors: dict[tuple[str, str], float] = defaultdict(float)
    spark: dict[tuple[str, str], list[float]] = {}
    left_out: set[tuple[str, str]] = set()
    for found in counts.series:
        key = (found.labels.get(SERVICE, ""), found.labels.get(NAME, ""))
        if key not in spans and len(spans) >= MAX_OPERATIONS:
            left_out.add(key)
            continue
        spans[key] += found.total
        if found.labels.get(STATUS) == "error":
            errors[key] += found.total
        line = spark.setdefault(key, [0.0] * len(stamps))
        for stamp, value in found.values.items():
            line[column[stamp]] += value
    op_q = _quantiles(op_quantiles, (SERVICE, NAME))
    service_q = _quantiles(service_quantiles, (SERVICE,))
    by_service: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in spans:
        if spans[key] > 0:
            by_service[key[0]].append(key)
    service_rows = []
    for service, keys in by_service.items():
        total = sum(spans[k] for k in keys)
        line = [sum(spark[k][i] for k in keys) for i in range(len(stamps))]
        service_rows.append(_row(service, "", total, sum(errors[k] for k in keys), seconds,
                                 service_q.get((service,), {}), line))
    out: list[RedRow] = []
    for service_row in sorted(service_rows, key=lambda r: (-r.spans, r.service)):
        out.append(service_row)
        ops = [_row(s, o, spans[(s, o)], errors[(s, o)], seconds, op_q.get((s, o), {}), spark[(s, o)])
               for s, o in by_service[service_row.service]]
        out += sorted(ops, key=lambda r: (-r.spans, r.operation))
    return out, len(left_out)


def _quantiles(answer: SeriesAnswer, keys: tuple[str, ...]) -> dict[tuple[str, ...], dict[float, float]]:
    """(labels of `keys`) → {q: seconds}, from a `quantile_over_time` answer (its `p` label)."""
    out: dict[tuple[str, ...], dict[float, float]] = defaultdict(dict)
    for found in answer.series:
        try:
            q = float(found.labels.get("p", ""))
        except ValueError:
            continue
        out[tuple(found.labels.get(k, "") for k in keys)][q] = found.total
    return out


def _row(service: str, operation: str, spans: float, errors: float, seconds: float, quantiles: dict[float, float],
         spark: list[float]) -> RedRow:
    count = int(round(spans))
    p50, p90, p99 = (quantiles.get(q, 0.0) for q in QUANTILES)
    return RedRow(service, operation, count, count / seconds, 100.0 * errors / spans if spans else 0.0,
                  p50, p90, p99, tuple(int(round(v)) for v in spark))
