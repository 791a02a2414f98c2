"""The benchmark report: each figure beside its target, from the sub-benchmarks' JSON."""

from __future__ import annotations

import math
from pathlib import Path

import psutil
import pytest

from loadtests.machine import this_machine
from loadtests.open_loop import RateResult
from loadtests.report import Results, write_report
from loadtests.sub_bench import SubResult, run_module

ROOT = Path(__file__).resolve().parents[2]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _push_run(clients: int, p99_ms: float) -> dict[str, float]:
    return {
        "clients": clients,
        "clients_held": clients,
        "messages_per_s": clients * 0.9,
        "p50_ms": p99_ms / 3,
        "p99_ms": p99_ms,
        "push_rss_mb_per_1000_clients": 12.0,
    }


def _summary(report: str, measurement: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(f"| {measurement} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_sub_benchmark_figures_are_printed_beside_their_targets(tmp_path: Path) -> None:
    results = Results(
        this_machine(),
        quick=False,
        worker=SubResult(
            "loadtests.bench_worker", data={"orders_per_s": 12_345.6, "orders_per_worker_cpu_s": 13_000.4}
        ),
        push=SubResult("loadtests.bench_push", data=[_push_run(1000, 40), _push_run(10_000, 180)]),
    )
    report = write_report(results, tmp_path).read_text()
    assert _summary(report, "one worker, orders/s") == [
        "one worker, orders/s",
        "12,346/s (13,000 per worker CPU second)",
        "≥ 10,000/s",
        "met",
    ]
    push = _summary(report, "one push process: clients held, delivery p99")
    assert push[1] == "10,000 of 10,000, p99 180 ms, 12.0 MB / 1,000 clients"
    assert push[2:] == ["10,000 clients, p99 < 250 ms", "met"]
    assert "| 1,000 | 1,000 | 900 | 13.3 | 40.0 | 12.0 |" in report
    assert (tmp_path / "img" / "push.png").read_bytes().startswith(PNG_MAGIC)


def test_the_merchant_apps_list_and_csv_are_judged_against_their_targets(tmp_path: Path) -> None:
    run = {
        "customers": 100_000,
        "orders": 166_000,
        "pipeline_s": 70.0,
        "index_load_ms": 900.0,
        "page_size": 50,
        "requests": 480,
        "p50_ms": 12.0,
        "p99_ms": 181.0,
        "max_ms": 240.0,
        "first_page_p99_ms": 181.0,
        "later_page_p99_ms": 9.0,
        "queries": [{"query": {"tier": "VIP"}, "total": 4_000, "first_page_median_ms": 30.0}],
        "csv_rows": 100_000,
        "csv_mb": 12.3,
        "csv_s": 4.2,
        "ingest_rss_before_mb": 180.0,
        "ingest_rss_peak_mb": 190.0,
    }
    report = write_report(
        Results(this_machine(), quick=False, admin=SubResult("loadtests.bench_admin", data=run)), tmp_path
    ).read_text()
    page = _summary(report, "merchant app: customer list p99 at 100,000 customers")
    assert page[1:] == ["181 ms (p50 12 ms, 480 pages of 50)", "< 150 ms", "**not met**"]
    export = _summary(report, "merchant app: CSV of all 100,000 customers")
    assert export[1:] == ["4.2 s, ingest RSS 180 → 190 MB", "< 10 s, flat memory", "met"]
    assert "| `tier=VIP` | 4,000 | 30.0 |" in report


def test_a_push_process_over_the_latency_target_is_not_met(tmp_path: Path) -> None:
    results = Results(
        this_machine(), quick=False, push=SubResult("loadtests.bench_push", data=[_push_run(10_000, 800)])
    )
    report = write_report(results, tmp_path).read_text()
    assert _summary(report, "one push process: clients held, delivery p99")[3] == "**not met**"
    assert "| ingest answers/s, one process | not run: not measured |" in report


def test_a_missing_sub_benchmark_is_reported_as_not_run(tmp_path: Path) -> None:
    result = run_module("loadtests.bench_that_does_not_exist", ["--orders", "1"], timeout_s=5)
    assert result.data is None
    assert result.not_run == "loadtests.bench_that_does_not_exist not present"
    report = write_report(Results(this_machine(), quick=True, worker=result), tmp_path).read_text()
    assert "| one worker, orders/s | not run: loadtests.bench_that_does_not_exist not present |" in report


def test_a_sub_benchmark_that_overruns_is_killed_with_everything_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    (tmp_path / "bench_that_hangs.py").write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = run_module("bench_that_hangs", [], timeout_s=3)
    assert result.not_run == "bench_that_hangs timed out after 3 s"
    grandchild = int(pid_file.read_text())
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


def test_every_figure_of_a_run_is_written_beside_the_report_and_reads_back(tmp_path: Path) -> None:
    starved = RateResult(4000, 10, 0, {"503": 10}, 0.0, math.nan, math.nan, {"ingest": 99.0})
    results = Results(
        this_machine(),
        quick=False,
        ingest=[starved],
        ingest_not_run=None,
        push=SubResult("loadtests.bench_push", data=[_push_run(1000, 40)]),
    )
    write_report(results, tmp_path)
    back = Results.from_json((tmp_path / "benchmarks.json").read_bytes())
    assert (back.machine, back.push, back.worker) == (results.machine, results.push, None)
    (row,) = back.ingest
    assert row.failed == {"503": 10} and math.isnan(row.p99_ms)  # a figure that does not exist


def test_docs_benchmarks_json_holds_the_run_docs_benchmarks_md_reports(tmp_path: Path) -> None:
    # python -m loadtests.capacity sizes deployments from the JSON: it must be that run's figures.
    write_report(Results.from_json((ROOT / "docs" / "benchmarks.json").read_bytes()), tmp_path)
    assert (tmp_path / "benchmarks.md").read_text() == (ROOT / "docs" / "benchmarks.md").read_text()
