"""docs/benchmarks.md and its plots, and docs/benchmarks.json (every figure, which
`python -m loadtests.capacity` sizes deployments from), from one run's results."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from loadtests.browser_latency import ORDERS_PER_SHOP_PER_S, LatencyResult
from loadtests.cpu import describe
from loadtests.machine import Machine
from loadtests.open_loop import RateResult
from loadtests.results import PushRow, Results, push_rows, worker_orders_per_s
from loadtests.sub_bench import SubResult

NONE = "-"  # a figure or verdict that does not exist
CPU_HEADER = "CPU, % of one core"

# The design's targets, printed beside each figure.
TARGET_INGEST_PER_S = 3000
TARGET_E2E_P99_MS = 100
TARGET_E2E_RATE = 1000
TARGET_PUSH_CLIENTS = 10_000
TARGET_PUSH_P99_MS = 250
TARGET_WORKER_PER_S = 10_000
TARGET_ADMIN_P99_MS = 150
TARGET_ADMIN_CSV_S = 10
TARGET_IMPORT_S = 30
TARGET_RESTART_S = 30  # RocksDB: ready after a restart (issue 19)


def _two_workers(two: SubResult | None, one_rate: float | None) -> tuple[str, str, str, str]:
    """Two workers of one group on the same orders: their rate, the scale-out factor over one
    worker (what operators size by) and the CPU seconds each used."""
    rate = worker_orders_per_s(two.data) if two and two.data is not None else None
    if rate is None:
        reason = (two.not_run or "no orders_per_s in its JSON") if two else "not in this run"
        return ("two workers, orders/s", f"not run: {reason}", "", NONE)
    assert two is not None and isinstance(two.data, dict)
    factor = f", {rate / one_rate:.2f}x one worker" if one_rate else ""
    cpu = two.data.get("worker_cpu_s") or []
    each = f" (CPU s each: {', '.join(f'{c:g}' for c in cpu)})" if cpu else ""
    return ("two workers, orders/s", f"{rate:,.0f}/s{factor}{each}", "", NONE)


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    return f"{value:,.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "**not met**", None: NONE}[ok]


def _save(fig: plt.Figure, machine: Machine, path: Path) -> None:
    """Writes the figure with the machine it was measured on in its footer."""
    fig.text(0.01, 0.01, f"measured on {machine.summary()}", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ingest(results: Sequence[RateResult], machine: Machine, path: Path) -> None:
    rates = [r.rate for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(rates, [r.answers_per_s for r in results], "o-", label="answers/s (2xx)")
    left.plot(rates, rates, ":", color="grey", label="offered")
    left.axhline(TARGET_INGEST_PER_S, color="red", linestyle="--", label=f"target {TARGET_INGEST_PER_S}/s")
    left.set(xlabel="offered webhooks/s", ylabel="answers/s", title="ingest throughput (one process)")
    left.legend()
    right.plot(rates, [r.p50_ms for r in results], "o-", label="p50")
    right.plot(rates, [r.p99_ms for r in results], "s-", label="p99")
    right.set(xlabel="offered webhooks/s", ylabel="ms", title="ingest answer time", yscale="log")
    right.legend()
    _save(fig, machine, path)


def plot_latency(results: Sequence[LatencyResult], machine: Machine, path: Path) -> None:
    labels = [f"{r.rate:,.0f}/s" for r in results]
    xs = range(len(results))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar([x - 0.2 for x in xs], [r.p50_ms for r in results], 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], [r.p99_ms for r in results], 0.4, label="p99")
    ax.axhline(TARGET_E2E_P99_MS, color="red", linestyle="--", label=f"p99 target {TARGET_E2E_P99_MS} ms")
    ax.set_xticks(list(xs), labels)
    ax.set(xlabel="orders/s", ylabel="ms", title="webhook → browser latency", yscale="log")
    ax.legend()
    _save(fig, machine, path)


def plot_push(rows: Sequence[PushRow], machine: Machine, path: Path) -> None:
    clients = [r.clients for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(clients, [r.p99_ms or math.nan for r in rows], "o-", label="delivery p99 (ms)")
    ax.axhline(TARGET_PUSH_P99_MS, color="red", linestyle="--", label=f"p99 target {TARGET_PUSH_P99_MS} ms")
    ax.set(xlabel="SSE clients on one push process", ylabel="ms", title="push fan-out")
    mem = ax.twinx()
    mem.plot(clients, [r.mb_per_1000 or math.nan for r in rows], "s--", color="green", label="MB / 1,000")
    mem.set_ylabel("MB per 1,000 clients")
    mem.set_ylim(bottom=0, top=max((r.mb_per_1000 or 0) for r in rows) * 1.5 or 1)
    ax.legend(loc="upper left")
    mem.legend(loc="lower right")
    _save(fig, machine, path)


def _summary_rows(res: Results) -> list[tuple[str, str, str, str]]:
    """(measurement, figure, target, verdict) for the headline table."""
    rows = []
    if res.ingest:
        best = max(res.ingest, key=lambda r: r.answers_per_s)
        rows.append(
            (
                "ingest answers/s, one process",
                f"{best.answers_per_s:,.0f}/s (offered {best.rate:,.0f}/s)",
                f"≥ {TARGET_INGEST_PER_S:,}/s",
                _verdict(best.answers_per_s >= TARGET_INGEST_PER_S),
            )
        )
    else:
        rows.append(("ingest answers/s, one process", f"not run: {res.ingest_not_run}", "", NONE))
    at_target = [r for r in res.latency if r.rate == TARGET_E2E_RATE]
    if at_target:
        r = at_target[0]
        rows.append(
            (
                f"webhook → browser p99 at {TARGET_E2E_RATE:,} orders/s",
                f"{_fmt(r.p99_ms)} ms (p50 {_fmt(r.p50_ms)} ms, {r.delivered_share:.1%} delivered)",
                f"< {TARGET_E2E_P99_MS} ms",
                _verdict(r.p99_ms < TARGET_E2E_P99_MS and r.delivered_share > 0.999),
            )
        )
    else:
        reason = res.latency_not_run or f"{TARGET_E2E_RATE:,}/s not measured"
        rows.append(
            (f"webhook → browser p99 at {TARGET_E2E_RATE:,} orders/s", f"not run: {reason}", "", NONE)
        )
    worker = res.worker
    rate = worker_orders_per_s(worker.data) if worker and worker.data is not None else None
    if rate is not None:
        # Wall-clock rate on a shared machine, and the capacity its CPU use implies on a free core.
        per_cpu = worker.data.get("orders_per_worker_cpu_s") if worker else None
        capacity = f" ({per_cpu:,.0f} per worker CPU second)" if isinstance(per_cpu, int | float) else ""
        # What Faust alone allows on the same app and records (bench_worker --ceiling).
        ceiling = worker.data.get("ceiling") if worker else None
        if isinstance(ceiling, dict) and ceiling.get("orders_per_cpu_s") and isinstance(per_cpu, int | float):
            top = ceiling["orders_per_cpu_s"]
            capacity += f"; ceiling {top:,.0f} per CPU second (a no-op agent): {per_cpu / top:.0%} of it"
        rows.append(
            (
                "one worker, orders/s",
                f"{rate:,.0f}/s{capacity}",
                f"≥ {TARGET_WORKER_PER_S:,}/s",
                _verdict(rate >= TARGET_WORKER_PER_S),
            )
        )
    else:
        reason = worker.not_run if worker and worker.not_run else "no orders_per_s in its JSON"
        rows.append(("one worker, orders/s", f"not run: {reason}", "", NONE))
    rows.append(_two_workers(res.workers, rate))
    push = res.push
    prows = push_rows(push.data) if push and push.data is not None else []
    biggest = max(prows, key=lambda r: r.clients) if prows else None
    if biggest is not None:
        ok = (
            (biggest.held or 0) >= TARGET_PUSH_CLIENTS
            and biggest.p99_ms is not None
            and biggest.p99_ms < TARGET_PUSH_P99_MS
        )
        rows.append(
            (
                "one push process: clients held, delivery p99",
                f"{_fmt(biggest.held)} of {biggest.clients:,}, p99 {_fmt(biggest.p99_ms)} ms, "
                f"{_fmt(biggest.mb_per_1000, 1)} MB / 1,000 clients",
                f"{TARGET_PUSH_CLIENTS:,} clients, p99 < {TARGET_PUSH_P99_MS} ms",
                _verdict(ok),
            )
        )
    else:
        reason = push.not_run if push and push.not_run else "no client rows in its JSON"
        rows.append(("one push process: clients held, delivery p99", f"not run: {reason}", "", NONE))
    return (
        rows
        + _admin_rows(res.admin)
        + [_import_row(res.imports), _restart_row(res.restart)]
        + _sync_rows(res.sync)
        + _beacon_rows(res.beacons)
    )


def _restart_rows(restart: SubResult | None) -> list[dict[str, Any]]:
    data = restart.data if restart else None
    return [r for r in data if isinstance(r, dict) and "store" in r] if isinstance(data, list) else []


def _restart_row(restart: SubResult | None) -> tuple[str, str, str, str]:
    rocksdb = next((r for r in _restart_rows(restart) if r["store"] == "rocksdb"), None)
    if rocksdb is None:
        reason = restart.not_run or "no rocksdb row in its JSON" if restart else "not measured in this run"
        return ("worker ready after a clean restart, RocksDB", f"not run: {reason}", "", NONE)
    return (
        f"worker ready after a clean restart, RocksDB, {rocksdb['customers']:,} customers",
        f"{rocksdb['ready_after_clean_stop_s']:,.1f} s "
        f"(after SIGKILL {rocksdb['ready_after_sigkill_s']:,.1f} s)",
        f"< {TARGET_RESTART_S} s",
        _verdict(rocksdb["ready_after_clean_stop_s"] < TARGET_RESTART_S),
    )


def restart_section(restart: SubResult | None) -> list[str]:
    """Start → ready of a worker holding its customers' state, per store."""
    title = "## Worker restart: memory store against RocksDB"
    rows = _restart_rows(restart)
    if not rows:
        return [title, "", f"not run: {restart.not_run if restart else 'not measured in this run'}", ""]
    return [
        title,
        "",
        *_table(
            [
                "store",
                "customers",
                "first start",
                "after a clean stop",
                "after SIGKILL",
                "RSS after restart",
                "on disk",
            ],
            [
                [
                    r["store"],
                    f"{r['customers']:,}",
                    f"{r['first_start_s']:.1f} s",
                    f"{r['ready_after_clean_stop_s']:.1f} s",
                    f"{r['ready_after_sigkill_s']:.1f} s",
                    f"{r['rss_mb_after_restart']:.0f} MB",
                    f"{r['disk_mb']:.1f} MB",
                ]
                for r in rows
            ],
        ),
        "",
        "A restart after SIGKILL rebuilds RocksDB tables from the changelogs, as the memory store "
        "does (a crash can leave them ahead of their changelog: streams/runtime/stores.py), and "
        "first waits for the killed member's session to expire.",
        "",
    ]


def _beacon_rows(beacons: SubResult | None) -> list[tuple[str, str, str, str]]:
    """The analytics loop: the worker's beacon fold, ingest's beacons/s, the API against the inputs."""
    data = beacons.data if beacons and isinstance(beacons.data, dict) else None
    names = ("one worker, beacons folded/s", "one ingest process, beacons/s", "analytics API = recomputation")
    if data is None:
        reason = beacons.not_run if beacons and beacons.not_run else "skipped"
        return [(name, f"not run: {reason}", "", NONE) for name in names]
    fold, ingest, e2e, targets = data["fold"], data["ingest"], data["end_to_end"], data["targets"]
    return [
        (
            names[0],
            f"{fold['beacons_per_s']:,.0f}/s ({fold['beacons_per_worker_cpu_s']:,.0f} per worker CPU second; "
            f"CPU % {fold['cpu']})",
            f"≥ {targets['fold_per_s']:,}/s",
            _verdict(fold["beacons_per_s"] >= targets["fold_per_s"]),
        ),
        (
            names[1],
            f"{ingest['answers_per_s']:,.0f}/s at p99 {ingest['p99_ms']} ms "
            f"(offered {ingest['rate']:,.0f}/s, {ingest['failed']} failed)",
            f"≥ {targets['ingest_per_s']:,}/s, p99 < {targets['ingest_p99_ms']:g} ms",
            _verdict(
                ingest["answers_per_s"] >= targets["ingest_per_s"] * 0.98
                and ingest["p99_ms"] < targets["ingest_p99_ms"]
                and not ingest["failed"]
            ),
        ),
        (
            names[2],
            f"{e2e['visitors']:,} visitors, {e2e['beacons']:,} beacons, {e2e['webhooks']} webhooks through "
            f"ingest: {e2e['api_totals']['orders_view'] + e2e['api_totals']['orders_click']} attributed "
            f"orders, {'exactly as recomputed' if e2e['agrees'] else 'NOT as recomputed'}",
            "exact",
            _verdict(e2e["agrees"]),
        ),
    ]


def _admin_rows(admin: SubResult | None) -> list[tuple[str, str, str, str]]:
    """The merchant app's two headline figures: the customer list's p99 and the full CSV."""
    data = admin.data if admin and isinstance(admin.data, dict) and "p99_ms" in admin.data else None
    at = f"{data['customers']:,}" if data else "100,000"
    page = f"merchant app: customer list p99 at {at} customers"
    export = f"merchant app: CSV of all {at} customers"
    if data is None:
        reason = admin.not_run if admin and admin.not_run else "no p99_ms in its JSON"
        return [(page, f"not run: {reason}", "", NONE), (export, f"not run: {reason}", "", NONE)]
    return [
        (
            page,
            f"{data['p99_ms']:,.0f} ms (p50 {data['p50_ms']:,.0f} ms, "
            f"{data['requests']} pages of {data['page_size']})",
            f"< {TARGET_ADMIN_P99_MS} ms",
            _verdict(data["p99_ms"] < TARGET_ADMIN_P99_MS),
        ),
        (
            export,
            f"{data['csv_s']:,.1f} s, ingest RSS {data['ingest_rss_before_mb']:,.0f} → "
            f"{data['ingest_rss_peak_mb']:,.0f} MB",
            f"< {TARGET_ADMIN_CSV_S} s, flat memory",
            _verdict(data["csv_s"] < TARGET_ADMIN_CSV_S),
        ),
    ]


def _sync_rows(sync: SubResult | None) -> list[tuple[str, str, str, str]]:
    """The scheduled sync at each restore rate: the sync's time and cost, then the reconciliation's."""
    runs = sync.data.get("runs") if sync and isinstance(sync.data, dict) else None
    if not runs:
        return [
            ("scheduled sync", f"not run: {sync.not_run if sync and sync.not_run else 'skipped'}", "", NONE)
        ]
    return [
        (
            f"scheduled sync of {r['orders']:,} changed orders at {r['restore_rate']:,.0f} points/s",
            f"{r['sync_s']:,.1f} s, {r['points']:,} points; all applied after {r['applied_s']:,.1f} s "
            f"({r['worker_orders_per_s']:,} orders/s); reconciling {r['customers']:,} customers "
            f"{r['reconcile_s']:,.1f} s, {r['reconcile_points']:,} points",
            "",
            NONE,
        )
        for r in runs
    ]


def _import_row(imports: SubResult | None) -> tuple[str, str, str, str]:
    """An import of VIP status: the file's rows until every customer holds the imported tier."""
    data = (
        imports.data
        if imports and isinstance(imports.data, dict) and "import_applied_s" in imports.data
        else None
    )
    name = f"merchant app: import of {data['rows']:,} rows of VIP status" if data else "merchant app: import"
    if data is None:
        return (name, f"not run: {imports.not_run if imports and imports.not_run else 'skipped'}", "", NONE)
    return (
        name,
        f"{data['import_applied_s']:,.1f} s until every customer held the tier "
        f"(log completed after {data['import_logged_s']:,.1f} s)",
        f"< {TARGET_IMPORT_S} s",
        _verdict(data["import_applied_s"] < TARGET_IMPORT_S),
    )


def admin_section(admin: SubResult | None) -> list[str]:
    """The merchant app's section: the run's figures, then each query's first page."""
    title = "## Merchant app: the customer list and its CSV"
    data = admin.data if admin and isinstance(admin.data, dict) and "p99_ms" in admin.data else None
    if data is None:
        return [title, "", f"not run: {admin.not_run if admin else 'skipped'}", ""]
    figures = [
        ("customers (orders)", f"{data['customers']:,} ({data['orders']:,})"),
        ("worker counted them in", f"{data['pipeline_s']:,.0f} s"),
        ("first request of an ingest process (loads the shop's index)", f"{data['index_load_ms']:,.0f} ms"),
        ("pages timed, one at a time", f"{data['requests']:,}"),
        ("p50 / p99 / max", f"{data['p50_ms']:.1f} / {data['p99_ms']:.1f} / {data['max_ms']:.1f} ms"),
        (
            "p99 of first pages (the list ordered) / of pages by cursor",
            f"{data['first_page_p99_ms']:.1f} / {data['later_page_p99_ms']:.1f} ms",
        ),
        (
            "CSV of every customer",
            f"{data['csv_rows']:,} rows, {data['csv_mb']:.1f} MB in {data['csv_s']:.2f} s",
        ),
        (
            "ingest resident memory before / peak during the CSV",
            f"{data['ingest_rss_before_mb']:.0f} / {data['ingest_rss_peak_mb']:.0f} MB",
        ),
        (f"{CPU_HEADER}, while timed", data.get("cpu") or NONE),
    ]
    queries = [
        [
            "`" + "&".join(f"{k}={v}" for k, v in q["query"].items()) + "`",
            f"{q['total']:,}",
            f"{q['first_page_median_ms']:.1f}",
        ]
        for q in data.get("queries", [])
    ]
    # A figure measured on its own (not in this run) says when.
    when = f" on {data['date']}" if data.get("date") else ""
    return [
        title,
        "",
        f"`python -m loadtests.bench_admin --customers {data['customers']}`{when}:",
        "",
        *_table(["measurement", "figure"], figures),
        "",
        *_table(["query", "matching customers", "first page, median ms"], queries),
        "",
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _failures(failed: Mapping[str, int]) -> str:
    """`0`, or `146 (503: 140, no answer: 6)`."""
    total = sum(failed.values())
    return f"{total} ({', '.join(f'{k}: {v}' for k, v in failed.items())})" if total else "0"


def _ingest_row(r: RateResult) -> list[str]:
    counts = [str(r.sent), str(r.ok), _failures(r.failed), _fmt(r.answers_per_s)]
    return [f"{r.rate:,.0f}", *counts, _fmt(r.p50_ms, 1), _fmt(r.p99_ms, 1), describe(r.cpu)]


def _latency_row(r: LatencyResult) -> list[str]:
    counts = [str(r.orders), str(r.refused), str(r.clients), f"{r.delivered_share:.1%}"]
    return [f"{r.rate:,.0f}", *counts, _fmt(r.p50_ms, 1), _fmt(r.p99_ms, 1), describe(r.cpu)]


def _push_row(r: PushRow) -> list[str]:
    latency = [_fmt(r.p50_ms, 1), _fmt(r.p99_ms, 1)]
    return [f"{r.clients:,}", _fmt(r.held), _fmt(r.messages_per_s), *latency, _fmt(r.mb_per_1000, 1)]


def _section(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    plot: Callable[[Path], None],
    image: Path,
    not_run: str | None,
) -> list[str]:
    """A table and its plot, or the reason there are none."""
    if not rows:
        return [f"## {title}", "", f"not run: {not_run}", ""]
    plot(image)
    return [f"## {title}", "", *_table(header, rows), "", f"![{image.stem}](img/{image.name})", ""]


def write_report(res: Results, out_dir: Path) -> Path:
    """Writes out_dir/benchmarks.md and out_dir/img/*.png; returns the markdown path."""
    img = out_dir / "img"
    img.mkdir(parents=True, exist_ok=True)
    m = res.machine
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`python -m loadtests.bench{' --quick' if res.quick else ''}`) "
        f"on {m.date}. Every figure below was measured in this one run, on this machine:",
        "",
        *_table(
            ["CPU", "cores", "RAM", "Python", "date"],
            [[m.cpu, str(m.cores), f"{m.ram_gib:.0f} GiB", m.python, m.date]],
        ),
        "",
    ]
    if res.quick:
        lines += [
            "**Quick mode**: a few seconds per step; shows the harness works, not the system's limits.",
            "",
        ]
    lines += [
        "## Summary",
        "",
        *_table(["measurement", "figure", "target", "verdict"], _summary_rows(res)),
        "",
    ]

    prows = push_rows(res.push.data) if res.push and res.push.data is not None else []
    lines += _section(
        "Ingest: signed webhooks at fixed rates",
        ["offered/s", "sent", "2xx", "failed", "answers/s", "p50 ms", "p99 ms", CPU_HEADER],
        [_ingest_row(r) for r in res.ingest],
        lambda path: plot_ingest(res.ingest, m, path),
        img / "ingest.png",
        res.ingest_not_run,
    )
    lines += _section(
        "Webhook → browser latency",
        [
            "orders/s",
            "accepted",
            "refused",
            "shops = SSE clients",
            "delivered",
            "p50 ms",
            "p99 ms",
            CPU_HEADER,
        ],
        [_latency_row(r) for r in res.latency],
        lambda path: plot_latency(res.latency, m, path),
        img / "latency.png",
        res.latency_not_run,
    )
    lines += _section(
        "One push process",
        ["clients", "held", "messages/s", "delivery p50 ms", "delivery p99 ms", "MB / 1,000 clients"],
        [_push_row(r) for r in prows],
        lambda path: plot_push(prows, m, path),
        img / "push.png",
        res.push.not_run if res.push else "skipped",
    )
    lines += admin_section(res.admin)
    lines += restart_section(res.restart)
    lines += [
        "## How these were measured",
        "",
        "- `loadtests/bench.py` starts the embedded stack (`storepulse.devstack.Stack`: Tansu broker in "
        "memory, Redis, then `storepulse ingest|worker|push` as subprocesses) and stops it at the end.",
        "- Load is open-loop (`loadtests/open_loop.py`): request *i* is due at *i / rate*, and its answer "
        "time counts from then, so a server that falls behind shows its queueing instead of slowing the "
        "client down. Bodies are signed before the clock starts. The first seconds of each step are "
        "warm-up and are not counted.",
        "- Webhook → browser: signed `orders/create` webhooks to ingest, spread over one shop per "
        f"{ORDERS_PER_SHOP_PER_S} orders/s, while one SSE client per shop holds `/sse/{{shop}}` on push; "
        "latency is from an order's due time to its notification's arrival at its shop's client "
        "(matched by the notification id streams derives from the order).",
        "- Ingest steps run after the latency steps with the worker and push stopped, so they measure "
        "one ingest process against the broker.",
        "- CPU is each process's user + system time over the step, in % of one core (200 = both "
        "cores of this machine); `client` is the load generator and the SSE clients, `other` is "
        "everything else the machine ran meanwhile: when it is large, the figures are noise.",
        "- Worker and push figures come from `python -m loadtests.bench_worker` and "
        "`python -m loadtests.bench_push`, each starting its own processes. The worker's ceiling is "
        "`loadtests/ceiling_worker.py` on the same records: the worker's Faust app with one agent that "
        "takes the orders in batches and only acknowledges them (what Faust's per-event path allows).",
        "- Restart figures come from `python -m loadtests.bench_restart`: one order for each customer, "
        "one worker per store (`STOREPULSE_WORKER_STORE`) with a data directory of its own, timed from "
        "start to `/ready` (partitions assigned, tables recovered) after a clean stop and after SIGKILL.",
        "- Merchant app figures come from `python -m loadtests.bench_admin`: the customers' orders go "
        "through Kafka and one worker into the read models, then ingest serves `/app/api/customers` "
        "(every sort both ways and seven filters, five first pages and up to 19 pages by cursor each, "
        "one request at a time) and the CSV of every customer, timed to its last byte while ingest's "
        "resident memory is sampled. The shop grants no customer data, so no names are asked of "
        "Shopify: the times are StorePulse's own.",
        "- The import figure comes from `python -m loadtests.bench_import`: one order per customer "
        "through the worker first, then a CSV of every customer with a tier posted to "
        "`/app/api/imports`, timed until its log says completed and until the worker holds every "
        "customer's tier floor.",
        "- The sync figures come from `python -m loadtests.bench_sync`: the fake Shopify "
        "(tests/fake_shopify) with Shopify's connection cost (2 points + 1 per 10 nodes) at each "
        "restore rate, one incremental sync of every order through one worker, then one "
        "reconciliation of those customers.",
        "- The load client, the broker, Redis and the services share this machine's cores (and, "
        "while it was being built, other engineers' test runs): treat single runs as noisy.",
        "",
    ]
    path = out_dir / "benchmarks.md"
    path.write_text("\n".join(lines))
    (out_dir / "benchmarks.json").write_bytes(res.to_json())
    return path
