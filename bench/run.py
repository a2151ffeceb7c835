"""`python -m bench.run`: the webhook delivery benchmark (issue 9).

Starts its own Redis, receiver and Celery workers, uses a fresh SQLite file (or PostgreSQL when
DATABASE_URL points to one), measures the baselines and the three scenarios, and writes
bench/results/<stem>.json, .md and .png. Every wait has a timeout and the whole run has a
deadline (--max-seconds), so it always stops by itself.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.procs import (
    CeleryWorkers,
    PoolConfig,
    ReceiverProcess,
    RedisServer,
    child_environment,
    migrate,
    sqlite_url,
)

RESULTS = Path(__file__).resolve().parent / "results"


class Deadline(Exception):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small counts and short latency phases (under 2 minutes)")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", 1)),
                        help="multiplies the delivery counts (5,000 per scenario at 1); "
                             "default BENCH_SCALE or 1")
    parser.add_argument("--runs", type=int, default=3, help="drain runs per figure (median)")
    parser.add_argument("--run-seconds", type=float, default=20.0,
                        help="size each drain run to about this long, from a warm-up run's rate "
                             "(never above the issue's counts times --scale)")
    parser.add_argument("--latency-seconds", type=float, default=10.0,
                        help="length of each paced latency phase")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="worker processes (system and Celery baseline alike)")
    parser.add_argument("--concurrency", type=int, default=32, help="threads per worker")
    parser.add_argument("--pool", default="threads", help="Celery pool (threads, gevent)")
    parser.add_argument("--prefetch", type=int, default=1, help="worker prefetch multiplier")
    parser.add_argument("--scenarios", default="fanout,stream,mixed,api",
                        help="comma-separated: fanout, stream, mixed (delivery scenarios), "
                             "api (clients through the REST API, bench/api.py), and order-off, "
                             "order-on, order-one (ordered delivery per subject against the same "
                             "stream unordered)")
    parser.add_argument("--api-seconds", type=float, default=20.0,
                        help="api: seconds of requests with the webhooks, and as many without "
                             "(in alternating parts, see --api-rounds)")
    parser.add_argument("--api-rounds", type=int, default=2,
                        help="api: alternations of the phases (none, subscribed, none, ...)")
    parser.add_argument("--api-clients", type=int, default=8, help="api: concurrent clients")
    parser.add_argument("--api-subscriptions", type=int, default=10,
                        help="api: webhooks in the subscribed phase")
    parser.add_argument("--api-profile-runs", type=int, default=10,
                        help="api: workflow runs per condition timed one request at a time")
    parser.add_argument("--order-subjects", type=int, default=1000,
                        help="records the order-off and order-on scenarios' updates go round "
                             "robin over (their subjects)")
    parser.add_argument("--light-rate", type=float, default=50.0,
                        help="events/s of the light-load phase (1 webhook; 0: skip it)")
    parser.add_argument("--light-seconds", type=float, default=10.0,
                        help="length of the light-load phase")
    parser.add_argument("--slow-receivers", type=int, default=2,
                        help="how many of (c)'s 20 webhooks answer after 2 s (0: its cost "
                             "of spreading over 20 webhooks alone)")
    parser.add_argument("--forget-slow", action="store_true",
                        help="start each drain run with no endpoint known as slow, as when "
                             "receivers turn slow: their first answers must show it")
    parser.add_argument("--profile", nargs="?", const="stream", default="",
                        help="sample a worker with py-spy during an extra drain run of these "
                             "scenarios (comma-separated; stream when none named; needs py-spy)")
    parser.add_argument("--profile-gil", action="store_true",
                        help="with --profile: sample every worker process, only the thread "
                             "holding the GIL (where the interpreter's time goes), instead of "
                             "every thread of one worker, waiting ones too")
    parser.add_argument("--stem", default="", help="results file name (default: a timestamp)")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the baselines (for quick experiments; no ratios)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, database)")
    parser.add_argument("--max-seconds", type=int, default=1500,
                        help="hard deadline for the whole run")
    args = parser.parse_args(argv)
    args.app = "webhooks_project"
    if args.quick:
        args.scale = min(args.scale, 0.1)
        args.latency_seconds = min(args.latency_seconds, 4.0)
        args.run_seconds = min(args.run_seconds, 3.0)
        args.latency_seconds = min(args.latency_seconds, 3.0)
        args.api_seconds = min(args.api_seconds, 6.0)
    return args


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cores = os.cpu_count()
    return {"cores": cores, "cpu": model, "memory": memory, "python": platform.python_version(),
            "platform": platform.platform(),
            "description": f"{cores} cores ({model or platform.machine()}), {memory} RAM, "
                           f"Python {platform.python_version()}, {platform.system()}"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sized(count: int, per_second: float, seconds: float, floor: int = 2) -> int:
    """How many items make a run of about `seconds` at `per_second`, within [floor, count]."""
    return max(min(floor, count), min(count, int(per_second * seconds)))


def median_stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_alarm(*_):
        raise Deadline(f"the run passed its deadline of {args.max_seconds} s")

    signal.signal(signal.SIGALRM, on_alarm)
    # Stopped from outside: unwind through the finally below, which stops every child process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.alarm(args.max_seconds)
    config = PoolConfig(args.workers, args.pool, args.concurrency, args.prefetch)
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    started = datetime.now(UTC)
    redis = RedisServer(data_dir=workdir / "redis")
    receiver = ReceiverProcess(workdir)
    workers: list[CeleryWorkers] = []
    try:
        redis.start()
        receiver.start()
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
            database_url = sqlite_url(workdir)
        env = child_environment(database_url, redis.url, redis.url[:-1] + "1", config)
        log(f"work dir {workdir}; database {database_url.split('@')[-1]}; {config.describe()}")
        migrate(env, workdir)
        os.environ.update({k: env[k] for k in (
            "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "BENCH_REDIS_URL",
            "WEBHOOK_ALLOWED_NETWORKS", "WEBHOOK_MAX_PER_ORGANIZATION", "DEBUG", "SECRET_KEY",
            "CELERY_WORKER_PREFETCH_MULTIPLIER")})
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from bench import scenarios as sc

        results: dict = {
            "started": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "database": "PostgreSQL" if "postgres" in database_url else "SQLite (WAL)",
            "pool": config.describe(), "scale": args.scale,
            "switches": {k: v for k, v in sorted(os.environ.items())
                         if k.startswith(("WEBHOOK_", "CELERY_"))},
            "runs": args.runs,
            "latency_seconds": args.latency_seconds,
            "command": "python -m bench.run " + shlex.join(argv if argv is not None
                                                            else sys.argv[1:]),
            "baselines": {}, "scenarios": {},
        }
        count = max(50, int(5000 * args.scale))
        timeout = 120 + 60 * args.scale

        # --- baselines ---------------------------------------------------------------------
        if not args.no_baselines:
            measure_baselines(args, results, receiver, env, config, workdir, workers, count,
                              timeout)

        # --- the system ----------------------------------------------------------------------
        from webhooks_project.celery import app as project_app

        system = CeleryWorkers(args.app, "webhooks,webhooks-retry", env, config, workdir,
                               "system")
        workers.append(system.start(project_app))
        probe = sc.EmitProbe()
        probe.install()
        # This process emits the events: it starts as a web process does (gunicorn_conf.py).
        from delivery.dispatch import prepare_wake_ups
        from delivery.publisher import publisher

        prepare_wake_ups()
        publisher.flush()
        harness = sc.Harness(receiver, sc.Consumers(project_app, sc.FIRST_TRY_QUEUE,
                                                    system.names), probe, timeout, log,
                             forget_slow=args.forget_slow,
                             cpu_groups=cpu_groups(system, receiver, redis))
        wanted = args.scenarios.split(",")
        built = {s.key: s for s in sc.build_scenarios(receiver, args.scale, args.slow_receivers)}
        if any(key.startswith("order-") for key in wanted):
            built.update((s.key, s) for s in sc.order_scenarios(receiver, args.scale,
                                                                args.order_subjects))
        if args.light_rate:
            # First, on workers that have done nothing else: a user's webhook on a quiet system.
            light = harness.paced_run(built["stream"], args.light_rate, args.light_seconds)
            light.pop("latencies", None)
            results["light"] = light
            log(f"light load, {args.light_rate:g} events/s to 1 webhook: latency "
                f"{light['latency']}; CPU ms per delivery {light['cpu']}")
        # Ordered delivery is compared with the same stream unordered run for run, in turns,
        # so that the machine's other work weighs on both alike.
        paired = ["order-off", "order-on"] if {"order-off", "order-on"} <= set(wanted) else []
        done: dict[str, tuple] = {}
        for scenario in built.values():
            if scenario.key not in wanted:
                continue
            if scenario.key in done:
                spec_events, warm, runs = done[scenario.key]
            else:
                group = ([built[key] for key in paired] if scenario.key in paired
                         else [scenario])
                for member in group:
                    spec_events = member.events
                    member.events = max(1, min(spec_events, 200 // member.fanout))
                    warm = harness.drain_run(member)
                    # (c)'s overall rate is its slow receivers' (about 35/s): sized by it, its
                    # runs were cut to about 2,000 events, and the healthy endpoints' measured
                    # span to tenths of a second. Its healthy endpoints' rate sizes it instead.
                    rate = warm.get("healthy_rate", warm["rate"])
                    member.events = sized(spec_events, rate / member.fanout, args.run_seconds)
                    log(f"{member.title}: warm-up {warm['rate']:.0f}/s; {member.events} "
                        f"events ({member.deliveries} deliveries) per run")
                    done[member.key] = (spec_events, warm, [])
                for _number in range(args.runs):
                    for member in group:
                        done[member.key][2].append(harness.drain_run(member))
                spec_events, warm, runs = done[scenario.key]
            for number, one in enumerate(runs):
                log(f"  {scenario.key} run {number + 1}: {one['rate']:.0f}/s"
                    + (f", healthy {one['healthy_rate']:.0f}/s (arrived by "
                       + " / ".join(f"{v:.2f}" for v in one["healthy_arrived_by"].values())
                       + " s)" if "healthy_rate" in one else "")
                    + f", emit {one['emit'].get('p50', float('nan')):.3f} ms/sub"
                    + "; CPU ms per delivery " + ", ".join(
                        f"{k} {v}" for k, v in one["cpu"].items()))
            if scenario.key in args.profile.split(","):
                # An extra run, not counted: sampling slows the worker down.
                pids = system.pids if args.profile_gil else system.pids[:1]
                samplers = [start_profiler(pid, workdir, scenario.key, args.profile_gil)
                            for pid in pids]
                # Sampled until the healthy endpoints' last delivery: the span that counts, not
                # the slow receivers' tail after it.
                profiled = harness.drain_run(
                    scenario, healthy_done=functools.partial(interrupt_profilers, samplers))
                if None not in samplers:
                    results["profile"] = results.get("profile", "") + "\n\n".join(
                        f"{scenario.key}, worker process {pid}:\n{stop_profiler(sampler)}"
                        for pid, sampler in zip(pids, samplers, strict=True)) + "\n\n"
                    results.setdefault("profiled_run_rate", {})[scenario.key] = profiled["rate"]
            rate = median_stats([r["rate"] for r in runs])
            paced = harness.paced_run(scenario, rate["median"] / 2 / scenario.fanout,
                                      args.latency_seconds)
            entry = {
                "title": scenario.title, "events": scenario.events, "spec_events": spec_events,
                "warm_up": warm,
                "deliveries": scenario.deliveries, "rate": rate, "runs": runs, "paced": paced,
                "emit_ms_per_subscription": statistics.median(r["emit"]["p50"] for r in runs),
                "records": harness.check_records(scenario),
            }
            if scenario.slow_paths:
                entry["healthy_rate"] = median_stats([r["healthy_rate"] for r in runs])
            results["scenarios"][scenario.key] = entry
            log(f"  median {rate['median']:.0f}/s; latency at "
                f"{paced['deliveries_per_second']:.0f}/s: "
                + ", ".join(f"{k} {paced['latency'][k] * 1000:.0f} ms"
                            for k in ("p50", "p95", "p99"))
                + f"; records {entry['records']}")

        if "api" in wanted:
            from bench import api

            results["api"] = api.run(args, env, workdir, receiver, harness.consumers,
                                     cpu_groups(system, receiver, redis), log)

        from bench import report
        from bench.profile import query_counts

        if set(wanted) & set(built):
            results["queries"] = query_counts(built["fanout"], built["stream"],
                                              harness.consumers)
        sc.wait_settled(30, built["fanout"].organization)
        sc.wait_settled(30, built["stream"].organization)
        receiver.drain()
        stem = args.stem or started.strftime("%Y%m%d-%H%M%S")
        paths = report.write(results, RESULTS, stem)
        print(paths["markdown"].read_text())
        log("wrote " + ", ".join(str(p.relative_to(RESULTS.parent.parent))
                                 for p in paths.values()))
        return 0
    finally:
        signal.alarm(0)
        for group in workers:
            group.stop()
        receiver.stop()
        redis.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def measure_baselines(args, results, receiver, env, config, workdir, workers, count, timeout):
    from bench import scenarios as sc
    from bench.baselines import QUEUE
    from bench.baselines import app as baseline_app

    warm = sc.baseline_requests_loop(receiver, min(count, 200))
    loop_count = sized(count, warm["rate"], args.run_seconds, 100)
    loop_runs = [sc.baseline_requests_loop(receiver, loop_count) for _ in range(args.runs)]
    results["baselines"]["requests_loop"] = {
        "rate": median_stats([r["rate"] for r in loop_runs]), "runs": loop_runs}
    log(f"requests.Session loop: {results['baselines']['requests_loop']['rate']}")
    baseline = CeleryWorkers("bench.baselines", QUEUE, env, config, workdir, "baseline")
    workers.append(baseline.start(baseline_app))
    consumers = sc.Consumers(baseline_app, QUEUE, baseline.names)
    warm = sc.baseline_celery_drain(receiver, consumers, min(count, 200), timeout)
    count = sized(count, warm["rate"], args.run_seconds, 100)
    celery_runs = [sc.baseline_celery_drain(receiver, consumers, count, timeout)
                   for _ in range(args.runs)]
    celery_rate = median_stats([r["rate"] for r in celery_runs])
    paced = sc.baseline_celery_paced(receiver, celery_rate["median"] / 2,
                                     args.latency_seconds, timeout)
    results["baselines"]["celery"] = {
        "rate": celery_rate, "runs": celery_runs, "paced": paced,
        "enqueue_ms_p50": statistics.median(r["enqueue_ms_p50"] for r in celery_runs)}
    if args.light_rate:
        light = sc.baseline_celery_paced(receiver, args.light_rate, args.light_seconds, timeout,
                                         cpu_groups={"workers": baseline.pids})
        results["baselines"]["celery"]["light"] = light
        log(f"bare Celery at {args.light_rate:g}/s: latency {light['latency']}; "
            f"CPU ms per delivery {light['cpu']}")
    log(f"bare Celery: {celery_rate}; latency {paced['latency']}")
    baseline.stop()
    workers.remove(baseline)


def cpu_groups(system, receiver, redis) -> dict[str, list[int]]:
    return {"workers": system.pids, "receiver": [receiver.process.pid],
            "redis": [redis.process.pid], "bench": [os.getpid()]}


def py_spy() -> str | None:
    return shutil.which("py-spy") or shutil.which("py-spy", path=os.environ.get(
        "BENCH_PY_SPY_PATH", str(Path(sys.executable).parent)))


def start_profiler(pid: int, workdir: Path, label: str, gil_only: bool = False):
    import subprocess

    binary = py_spy()
    if binary is None:
        log("  (py-spy not found: no profile)")
        return None
    out = workdir / f"profile-{label}-{pid}.txt"
    process = subprocess.Popen(
        [binary, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
         "--rate", "200", "--nonblocking", "--threads", "--gil" if gil_only else "--idle"],
        stdout=subprocess.DEVNULL, stderr=(workdir / "py-spy.log").open("ab"),
    )
    return process, out


def interrupt_profilers(samplers: list) -> None:
    for sampler in samplers:
        if sampler is not None:
            sampler[0].send_signal(signal.SIGINT)


def stop_profiler(sampler) -> str:
    from bench.profile import summarize_collapsed

    process, out = sampler
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except Exception:  # noqa: BLE001 - a profiler that will not stop is killed
        process.kill()
        process.wait()
    return summarize_collapsed(out) if out.exists() else "(no profile written)"


if __name__ == "__main__":
    sys.exit(main())
