"""Writes a benchmark's results: JSON, a Markdown table, and a PNG of latency percentiles."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

TARGETS = {
    # (a) and (b) deliveries/s against the bare Celery+requests task: 3x on PostgreSQL, 2x on
    # SQLite.
    "rate_vs_celery": {"PostgreSQL": 3.0, "SQLite (WAL)": 2.0},
    "p99_seconds": 1.0,  # p99 latency at half of the maximum rate
    "mixed_vs_stream": 0.8,  # (c) healthy endpoints' rate within 20% of (b)
    "ordered_vs_unordered": 0.8,  # (e) ordered over many subjects within 20% of (d)
    "emit_ms_per_subscription": 1.0,
    # Light load (50 events/s, 1 webhook): p50 at most 2x the bare task's, p99 under
    # 50 ms, workers' processor time per delivery no more than the bare task's.
    "light_p50_x_celery": 2.0,
    "light_p99_ms": 50.0,
    # API clients (bench/api.py): the webhooks add at most 10% to the p50 of each request kind.
    "api_p50_ratio": 1.10,
}


NAN = float("nan")
MISSING_RATE = {"median": NAN, "min": NAN, "max": NAN}
MISSING_CELERY = {"rate": MISSING_RATE, "enqueue_ms_p50": NAN,
                  "paced": {"latency": {"p50": NAN, "p95": NAN, "p99": NAN}}}


def _ratio(value: float, base: float) -> float:
    return value / base if base and not math.isnan(base) else float("nan")


def summarize(results: dict) -> dict:
    """Adds ratios and target checks to the raw results."""
    celery = results["baselines"].get("celery") or MISSING_CELERY
    loop = results["baselines"].get("requests_loop") or {"rate": MISSING_RATE}
    base_rate, loop_rate = celery["rate"]["median"], loop["rate"]["median"]
    base_latency = celery["paced"]["latency"]
    base_enqueue = celery["enqueue_ms_p50"]
    summary = {}
    for key, scenario in results["scenarios"].items():
        rate = scenario["rate"]["median"]
        latency = scenario["paced"]["latency"]
        emit = scenario["emit_ms_per_subscription"]
        row = {
            "rate": rate, "rate_min": scenario["rate"]["min"], "rate_max": scenario["rate"]["max"],
            "rate_spread_pct": 100 * (scenario["rate"]["max"] - scenario["rate"]["min"]) / rate,
            "rate_x_celery": _ratio(rate, base_rate), "rate_x_loop": _ratio(rate, loop_rate),
            "paced_rate": scenario["paced"]["deliveries_per_second"],
            **{f"{p}_ms": latency[p] * 1000 for p in ("p50", "p95", "p99")},
            **{f"{p}_x_celery": _ratio(latency[p], base_latency[p]) for p in ("p50", "p95", "p99")},
            "emit_ms_per_sub": emit,
            "emit_x_apply_async": _ratio(emit, base_enqueue),
        }
        if "healthy_rate" in scenario:
            row["healthy_rate"] = scenario["healthy_rate"]["median"]
        summary[key] = row
    checks = {}
    floor = TARGETS["rate_vs_celery"].get(results.get("database", ""), 3.0)
    for key in ("fanout", "stream"):
        if key in summary:
            checks[f"{key}: deliveries/s >= {floor:g} x Celery baseline"] = (
                summary[key]["rate_x_celery"] >= floor,
                f"{summary[key]['rate_x_celery']:.2f} x")
    light, base_light = results.get("light"), celery.get("light")
    if light and base_light:
        p50_x = _ratio(light["latency"]["p50"], base_light["latency"]["p50"])
        checks["light: p50 <= 2 x the bare task's"] = (
            p50_x <= TARGETS["light_p50_x_celery"], f"{p50_x:.2f} x")
        checks["light: p99 < 50 ms"] = (
            light["latency"]["p99"] * 1000 < TARGETS["light_p99_ms"],
            f"{light['latency']['p99'] * 1000:.0f} ms")
        mine, bare = light["cpu"].get("workers", NAN), base_light["cpu"].get("workers", NAN)
        checks["light: workers' CPU per delivery <= the bare task's"] = (
            mine <= bare, f"{mine:.2f} / {bare:.2f} ms")
    for key, row in summary.items():
        checks[f"{key}: p99 < 1 s at half the maximum rate"] = (
            row["p99_ms"] < TARGETS["p99_seconds"] * 1000, f"{row['p99_ms']:.0f} ms")
        checks[f"{key}: < 1 ms per matching webhook in the emitting request"] = (
            row["emit_ms_per_sub"] < TARGETS["emit_ms_per_subscription"],
            f"{row['emit_ms_per_sub']:.3f} ms")
    if "mixed" in summary and "stream" in summary:
        mixed = summary["mixed"]
        ratio = mixed.get("healthy_rate", mixed["rate"]) / summary["stream"]["rate"]
        checks["mixed: healthy endpoints' rate within 20% of (b)"] = (
            ratio >= TARGETS["mixed_vs_stream"], f"{ratio:.2f} x")
    api = results.get("api")
    if api:
        for kind, label in (("start", "run-start"), ("check", "task-check")):
            ratio = api["p50_ratio"][kind]
            checks[f"api: webhooks add <= 10% to {label} p50"] = (
                ratio <= TARGETS["api_p50_ratio"], f"{ratio:.2f} x")
    if "order-on" in summary and "order-off" in summary:
        ratio = _ratio(summary["order-on"]["rate"], summary["order-off"]["rate"])
        checks["order-on: rate within 20% of order-off (unordered, same run)"] = (
            ratio >= TARGETS["ordered_vs_unordered"], f"{ratio:.2f} x")
    return {"rows": summary, "checks": {k: {"met": v[0], "value": v[1]}
                                        for k, v in checks.items()}}


def markdown(results: dict, summary: dict) -> str:
    celery = results["baselines"].get("celery") or MISSING_CELERY
    loop = results["baselines"].get("requests_loop") or {"rate": MISSING_RATE}
    lines = [
        f"# Benchmark {results['started']}",
        "",
        f"Machine: {results['machine']['description']}",
        f"Database: {results['database']}; pool: {results['pool']}"
        + (f"; switches: {results['switches']}" if results.get("switches") else ""),
        f"Command: `{results['command']}` (scale {results['scale']}, {results['runs']} runs "
        f"per figure; latency at half of each maximum rate for {results['latency_seconds']} s)",
        "",
    ]
    if results["baselines"] or results["scenarios"]:
        lines += _baseline_and_scenario_lines(results, summary, celery, loop)
    else:
        lines += _light_lines(results)
    lines += _api_lines(results)
    lines += ["", "## Targets", "", "| target | value | met |", "| --- | --- | --- |"]
    for name, check in summary["checks"].items():
        lines.append(f"| {name} | {check['value']} | {'yes' if check['met'] else 'NO'} |")
    if results["scenarios"]:
        lines += ["", "Emitting-request detail (median per event, milliseconds):", "",
                  "| scenario | write_events per sub | wake-up hand-over per sub "
                  "| webhook part per event |",
                  "| --- | --- | --- | --- |"]
        for key, scenario in results["scenarios"].items():
            emit = scenario["runs"][0]["emit"]
            lines.append(f"| {key} | {emit['write_p50']:.3f} | {emit['enqueue_p50']:.3f} | "
                         f"{emit['per_event_p50']:.3f} |")
    lines += _cpu_lines(results)
    if results.get("queries"):
        lines += ["", "## Queries", "", "| what | queries |", "| --- | --- |"]
        for what, count in results["queries"].items():
            if isinstance(count, int):
                lines.append(f"| {what} | {count} |")
        statements = results["queries"].get("one drain batch: statements", [])
        if statements:
            lines += ["", "One drain batch's statements:", "", "```", *statements, "```"]
    if results.get("profile"):
        lines += ["", "## Profile", "", "```", results["profile"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _baseline_and_scenario_lines(results: dict, summary: dict, celery: dict, loop: dict
                                 ) -> list[str]:
    lines = [
        "## Baselines (same receiver, same pool)",
        "",
        "| baseline | deliveries/s median (min-max) | p50 / p95 / p99 ms at half rate "
        "| enqueue ms |",
        "| --- | --- | --- | --- |",
        f"| bare Celery task, one `requests.post` | {_rate(celery['rate'])} | "
        f"{_pcts(celery['paced']['latency'])} | {celery['enqueue_ms_p50']:.3f} |",
        f"| bare `requests.Session` loop, 1 thread | {_rate(loop['rate'])} | - | - |",
        "",
        *_light_lines(results),
        "## Scenarios",
        "",
        "| scenario | deliveries/s median (min-max) | x Celery | x loop | spread "
        "| p50 / p95 / p99 ms at half rate | p50 / p95 / p99 x Celery "
        "| emit ms per webhook | x apply_async |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, row in summary["rows"].items():
        scenario = results["scenarios"][key]
        rate = _rate(scenario["rate"])
        if "healthy_rate" in row:
            rate += f"; healthy endpoints {_rate(scenario['healthy_rate'])}"
        lines.append(
            f"| {scenario['title']} | {rate} | {row['rate_x_celery']:.2f} | "
            f"{row['rate_x_loop']:.2f} | {row['rate_spread_pct']:.0f}% | "
            f"{row['p50_ms']:.0f} / {row['p95_ms']:.0f} / {row['p99_ms']:.0f} "
            f"(at {row['paced_rate']:.0f}/s) | "
            f"{row['p50_x_celery']:.1f} / {row['p95_x_celery']:.1f} / {row['p99_x_celery']:.1f} | "
            f"{row['emit_ms_per_sub']:.3f} | {row['emit_x_apply_async']:.1f} |"
        )
    return lines


def _api_lines(results: dict) -> list[str]:
    api = results.get("api")
    if not api:
        return []
    none, subscribed = api["phases"]["none"], api["phases"]["subscribed"]
    lines = ["", "## API clients", "",
             f"{api['clients']} clients (one API key each) start runs of a {api['tasks']}-task "
             f"workflow and check their tasks through gunicorn (2 x 4 threads), "
             f"{api['seconds_per_phase']:g} s with {api['subscriptions']} webhooks on every "
             "workflow trigger and as long with none, in alternating parts.", "",
             "| request | p50 / p95 / p99 ms, none | req/s, none | p50 / p95 / p99 ms, webhooks "
             "| req/s, webhooks | p50 ratio |", "| --- | --- | --- | --- | --- | --- |"]
    for kind, label in (("start", "start a run (POST /workflow-runs)"),
                        ("check", "check a task (PUT .../tasks/{id})")):
        a, b = none[kind], subscribed[kind]
        errors = a["errors"] + b["errors"]
        lines.append(
            f"| {label}{f' ({errors} errors)' if errors else ''} | "
            f"{a['p50_ms']:.0f} / {a['p95_ms']:.0f} / {a['p99_ms']:.0f} | "
            f"{a['per_second']:.1f} | {b['p50_ms']:.0f} / {b['p95_ms']:.0f} / {b['p99_ms']:.0f} | "
            f"{b['per_second']:.1f} | {api['p50_ratio'][kind]:.2f} |")
    if api.get("parts"):
        lines += ["", "Part by part, in order (p50 ms of start / check; the spread of the parts "
                  "with none shows the machine's drift): " + ", ".join(
                      f"{p['phase']} {p['seconds']:g} s {p['start']['p50_ms']:.0f} / "
                      f"{p['check']['p50_ms']:.0f}" for p in api["parts"]) + "."]
    hooks = api.get("webhooks")
    if hooks:
        latency = hooks["commit_to_arrival"]
        lines += ["", f"Webhooks: {hooks['arrived']} of {hooks['deliveries']} deliveries "
                  f"arrived ({hooks['per_second_in_phase']:.0f}/s during the phase, "
                  f"{hooks['pending_after']} pending after); commit -> arrival p50 / p95 / p99 "
                  f"{_pcts(latency)} ms, max {latency['max'] * 1000:.0f} ms."]
    cpu_names = [n for n in ("web", "workers", "receiver", "redis", "bench", "machine busy")
                 if n in none["cpu_ms_per_request"]]
    if cpu_names:
        lines += ["", "Processor milliseconds per request (bench: the clients):", "",
                  "| phase | " + " | ".join(cpu_names) + " | machine busy share |",
                  "| --- " * (len(cpu_names) + 2) + "|"]
        for phase in ("none", "subscribed"):
            cpu = api["phases"][phase]["cpu_ms_per_request"]
            lines.append(f"| {phase} | " + " | ".join(f"{cpu.get(n, NAN):.1f}" for n in cpu_names)
                         + f" | {cpu.get('machine busy share', NAN):.2f} |")
    profile = api.get("profile")
    if profile:
        lines += ["", "One request at a time, in the bench process, the workers not consuming, "
                  "the two organizations' runs alternating (medians; publish: the publisher "
                  "thread's work after the response; CPU: the whole process, publisher "
                  "included):", "",
                  "| request | webhooks | statements | ms | of it SQL ms | of it BEGIN ms "
                  "| write_events ms | wake ms | publish ms | CPU ms |",
                  "| --- " * 10 + "|"]
        for kind in ("start", "check"):
            for phase in ("none", "subscribed"):
                row = profile[phase][kind]
                lines.append(f"| {kind} | {phase} | {row['queries']:g} | {row['ms']:.1f} | "
                             f"{row['sql_ms']:.1f} | {row['begin_ms']:.1f} | "
                             f"{row['write_events_ms']:.1f} | {row['wake_ms']:.2f} | "
                             f"{row['publish_ms']:.1f} | {row['cpu_ms']:.1f} |")
    return lines


def _light_lines(results: dict) -> list[str]:
    light = results.get("light")
    bare = (results["baselines"].get("celery") or {}).get("light")
    if not light:
        return []
    lines = ["## Light load", "",
             f"{light['target_events_per_second']:g} events/s to 1 webhook, commit -> "
             "arrival at the receiver; processor milliseconds per delivery of the worker "
             "processes over the phase.", "",
             "| | p50 / p95 / p99 ms | workers' CPU ms per delivery |", "| --- | --- | --- |",
             f"| this project | {_pcts(light['latency'])} | "
             f"{light['cpu'].get('workers', NAN):.2f} |"]
    if bare:
        lines.append(f"| bare Celery task, one `requests.post` | {_pcts(bare['latency'])} | "
                     f"{bare['cpu'].get('workers', NAN):.2f} |")
    return [*lines, ""]


def _cpu_lines(results: dict) -> list[str]:
    """Processor time per delivery in the drain runs (bench/cpu.py), medians of the runs."""
    rows = []
    for key, scenario in results["scenarios"].items():
        cpu = [r["cpu"] for r in scenario["runs"] if r.get("cpu")]
        if not cpu:
            continue

        def med(name: str, cpu=cpu) -> str:
            values = [c[name] for c in cpu if name in c]
            return f"{statistics.median(values):.3f}" if values else "-"

        rest = statistics.median(
            c["machine busy"] - sum(c.get(g, 0) for g in ("workers", "receiver", "redis", "bench"))
            for c in cpu)
        rows.append(f"| {key} | {med('workers')} | {med('workers sys')} | {med('receiver')} | "
                    f"{med('redis')} | {med('bench')} | {rest:.3f} | {med('machine busy')} | "
                    f"{med('machine busy share')} |")
    if not rows:
        return []
    return ["", "Processor milliseconds per delivery in the drain runs (per healthy delivery in "
            "(c), up to its last; medians of the runs; bench/cpu.py):", "",
            "| scenario | workers | of it kernel | receiver | Redis | bench | the rest (database "
            "server, other load) | whole machine | machine busy share |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |", *rows]


def _rate(stats: dict) -> str:
    return f"{stats['median']:.0f} ({stats['min']:.0f}-{stats['max']:.0f})"


def _pcts(latency: dict) -> str:
    return " / ".join(f"{latency[p] * 1000:.0f}" for p in ("p50", "p95", "p99"))


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {}
    if "celery" in results["baselines"]:
        series["bare Celery"] = results["baselines"]["celery"]["paced"]
    for key, scenario in results["scenarios"].items():
        series[key] = scenario["paced"]
    names = list(series)
    if not names:
        return
    fig, (bars, cdf) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.25
    for offset, pct in enumerate(("p50", "p95", "p99")):
        values = [series[n]["latency"][pct] * 1000 for n in names]
        positions = [i + (offset - 1) * width for i in range(len(names))]
        bars.bar(positions, values, width, label=pct)
    bars.axhline(1000, color="red", linestyle="--", linewidth=1, label="1 s target (p99)")
    bars.set_xticks(range(len(names)), names)
    bars.set_yscale("log")
    bars.set_ylabel("commit -> arrival latency (ms, log)")
    bars.set_title("Latency at half of the maximum rate")
    bars.legend()
    for name in names:
        latencies = sorted(x * 1000 for x in series[name].get("latencies", []))
        if latencies:
            n = len(latencies)
            cdf.plot(latencies, [(i + 1) / n for i in range(n)], label=name)
    cdf.set_xscale("log")
    cdf.set_xlabel("latency (ms, log)")
    cdf.set_ylabel("fraction of deliveries")
    cdf.set_title("Latency distribution")
    cdf.legend()
    fig.suptitle(f"{results['machine']['description']}; {results['database']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "latencies"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def write(results: dict, directory: Path, stem: str) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    paths = {"json": directory / f"{stem}.json", "markdown": directory / f"{stem}.md",
             "png": directory / f"{stem}.png"}
    paths["json"].write_text(json.dumps({**_strip(results), "summary": summary}, indent=2,
                                        default=str))
    paths["markdown"].write_text(markdown(results, summary))
    plot(results, paths["png"])
    if not paths["png"].exists():
        del paths["png"]
    return paths
