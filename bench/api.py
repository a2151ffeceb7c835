"""The API scenario: integrators' clients driving workflow runs through the REST API, with
webhooks subscribed to every workflow trigger and with none.

gunicorn is started as the Procfile starts it (its config file, 127.0.0.1 on a free port, 2
processes x 4 threads), on the run's database, Redis and workers. One organization has a 20-task
workflow (a stop task every 5 tasks) and one API key per client; each client (a thread with its
own `requests.Session`) starts a run (POST /workflow-runs) and checks its tasks in order
(PUT /workflow-runs/{id}/tasks/{id}), again and again, for the length of a phase. The phases
alternate (none, subscribed, none, ..., the first and last none half as long; --api-rounds),
so that a drift of the machine over the run weighs on both alike; each subscribed part's
deliveries are waited for before the next part. The subscribed phase has 10 webhooks (created
and deleted through the API), each with every workflow trigger, half scoped to the workflow.

Commit -> arrival of a webhook: its arrival at the receiver minus its Delivery row's
created_date, which the bulk insert stamps as the emitting transaction's last statement before
its commit (the web processes are not instrumented).

Where the emitting request's time goes is measured apart, in this process, one request at a
time through Django's test client, with the workers not consuming: statements, time in
delivery.writer.write_events (render, outbox rows, matching, Delivery rows) and in
delivery.dispatch.wake (the hand-over to the publisher thread), with the webhooks and without.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path

import requests

from bench.cpu import CpuSampler
from devtools.processes import start_gunicorn, stop_process

TASKS = 20
STOP_EVERY = 5
CLIENTS = 8
SUBSCRIPTIONS = 10
KINDS = ("start", "check")


def percentile(values: list[float], pct: float) -> float:
    from bench.scenarios import percentile as pct_of

    return pct_of(values, pct)


class Gunicorn:
    """The Procfile's `web` process: gunicorn with the project's config, on 127.0.0.1."""

    def __init__(self, env: dict[str, str], log_dir: Path, workers: int = 2, threads: int = 4
                 ) -> None:
        self.env = env
        self.log_path = log_dir / "gunicorn.log"
        self.workers, self.threads = workers, threads
        self.process: subprocess.Popen | None = None
        self.url = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def worker_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", self.log())]

    def start(self, timeout: float = 60.0) -> Gunicorn:
        self.process, self.url = start_gunicorn(
            self.log_path, self.env,
            ["--workers", str(self.workers), "--threads", str(self.threads), "--timeout", "30",
             "--access-logfile", "-"],
            ready=lambda log: log.count("Booting worker with pid:") >= self.workers,
            timeout=timeout)
        return self

    def stop(self) -> None:
        stop_process(self.process, timeout=20.0)


# --- set-up ---------------------------------------------------------------------------------------

def workflow_triggers() -> list[str]:
    from kernel.catalog import KIND_OF, EventType, Kind

    return [t.value for t in EventType if KIND_OF[t] == Kind.WORKFLOW]


def build_world(clients: int, tasks: int) -> dict:
    """An organization with an Admin key (for the webhooks), one Member key per client and a
    workflow of `tasks` tasks."""
    from accounts.keys import create_api_key
    from accounts.models import Role
    from accounts.services import add_member, create_organization
    from workflows.builder import create_workflow

    tag = uuid.uuid4().hex[:8]
    organization = create_organization(f"api-{tag}")
    admin = add_member(organization, f"admin-{tag}@bench.test", Role.ADMIN)
    keys = []
    for number in range(clients):
        member = add_member(organization, f"client{number}-{tag}@bench.test", Role.MEMBER)
        keys.append(create_api_key(member, f"client {number}")[1])
    specs = [{"key": f"t{n}", "name": f"Task {n + 1}",
              **({"stopTask": True} if (n + 1) % STOP_EVERY == 0 and n + 1 < tasks else {})}
             for n in range(tasks)]
    workflow = create_workflow(organization, "API bench", tasks=specs, actor=admin.user)
    return {"organization": organization, "workflow_id": workflow.id, "keys": keys,
            "admin_key": create_api_key(admin, "bench admin")[1]}


def create_webhooks(base: str, admin_key: str, receiver_url: str, workflow_id: str,
                    count: int) -> list[str]:
    ids = []
    with requests.Session() as session:
        session.headers["X-API-Key"] = admin_key
        for number in range(count):
            body = {"name": f"bench {number}", "url": f"{receiver_url}/fast/api/{number}",
                    "triggers": workflow_triggers()}
            if number % 2 == 0:
                body["workflowId"] = workflow_id
            response = session.post(f"{base}/api/v1/webhooks", json=body, timeout=30)
            if response.status_code != 201:
                raise RuntimeError(f"creating a webhook: {response.status_code} {response.text}")
            ids.append(response.json()["id"])
    return ids


def delete_webhooks(base: str, admin_key: str, ids: list[str]) -> None:
    with requests.Session() as session:
        session.headers["X-API-Key"] = admin_key
        for webhook_id in ids:
            response = session.delete(f"{base}/api/v1/webhooks/{webhook_id}", timeout=30)
            if response.status_code != 204:
                raise RuntimeError(f"deleting a webhook: {response.status_code} {response.text}")


# --- the clients ----------------------------------------------------------------------------------

def client_loop(base: str, key: str, workflow_id: str, until: float,
                samples: list[tuple[str, float, float, int]], progress: dict) -> None:
    """Starts runs and checks their tasks in order until `until` (time.time()); appends
    (kind, started, seconds, status) per request. `progress` keeps the client's run between
    phases, so that a phase does not begin with every client starting a run at once."""

    def timed(kind: str, call, url: str, body: dict) -> requests.Response:
        started, clock = time.time(), time.perf_counter()
        response = call(url, json=body, timeout=30)
        samples.append((kind, started, time.perf_counter() - clock, response.status_code))
        return response

    with requests.Session() as session:
        session.headers["X-API-Key"] = key
        while time.time() < until:
            if not progress.get("tasks"):
                response = timed("start", session.post, f"{base}/api/v1/workflow-runs",
                                 {"workflowId": workflow_id})
                if response.status_code != 201:
                    time.sleep(0.05)
                    continue
                run = response.json()
                progress["run"], progress["tasks"] = run["id"], [t["id"] for t in run["tasks"]]
                continue
            task_id = progress["tasks"].pop(0)
            timed("check", session.put,
                  f"{base}/api/v1/workflow-runs/{progress['run']}/tasks/{task_id}",
                  {"status": "Completed"})


def drive(base: str, world: dict, seconds: float) -> tuple[list, float, float]:
    samples: list[tuple[str, float, float, int]] = []
    progress = world.setdefault("progress", [{} for _ in world["keys"]])
    started = time.time()
    until = started + seconds
    threads = [threading.Thread(target=client_loop, name=f"api-client-{n}", daemon=True,
                                args=(base, key, world["workflow_id"], until, samples,
                                      progress[n]))
               for n, key in enumerate(world["keys"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return samples, started, until


def request_stats(samples: list, seconds: float) -> dict:
    result = {}
    for kind in KINDS:
        mine = [s for s in samples if s[0] == kind]
        ok = [s[2] * 1000 for s in mine if 200 <= s[3] < 300]
        result[kind] = {
            "requests": len(mine), "errors": len(mine) - len(ok),
            "per_second": len(ok) / seconds,
            "p50_ms": percentile(ok, 50), "p95_ms": percentile(ok, 95),
            "p99_ms": percentile(ok, 99),
        }
    return result


def cpu_per_request(used: dict[str, float], requests_done: int) -> dict[str, float]:
    result = {name: round(seconds * 1000 / max(requests_done, 1), 2)
              for name, seconds in used.items()
              if name not in ("machine busy share", "seconds") and not name.endswith(" sys")}
    if used:
        result["machine busy share"] = round(used["machine busy share"], 3)
    return result


# --- commit -> arrival ------------------------------------------------------------------------

def commit_to_arrival(arrivals: list, organization) -> dict:
    from bench.scenarios import latency_summary
    from delivery.models import Delivery

    ids = list({a[1] for a in arrivals})
    stamped: dict[str, float] = {}
    for offset in range(0, len(ids), 500):
        rows = Delivery.objects.filter(organization=organization,
                                       event_id__in=ids[offset:offset + 500])
        for event_id, created in rows.values_list("event_id", "created_date"):
            stamp = created.timestamp()
            stamped[event_id] = min(stamp, stamped.get(event_id, stamp))
    latencies = [t - stamped[i] for t, i, _p in arrivals if i in stamped]
    return latency_summary(latencies)


# --- where the emitting request's time goes ----------------------------------------------------

def profile_requests(worlds: dict[str, dict], runs: int) -> dict:
    """Per condition and request kind: median statements, milliseconds in the view, in its SQL
    (BEGIN apart: on SQLite, the wait for the write lock), in write_events, in wake, in the
    publisher thread after it (flushed before the next request), and processor milliseconds of
    the whole process (the publisher's included). One request at a time in this process; the
    conditions' workflow runs alternate."""
    from django.db import connection
    from django.test import Client

    from delivery import dispatch
    from delivery.publisher import publisher
    from delivery.writer import write_events as real_write
    from kernel import outbox

    spent = {"write": 0.0, "wake": 0.0}
    real_wake = dispatch.wake

    def write_events(pending):
        started = time.perf_counter()
        try:
            return real_write(pending)
        finally:
            spent["write"] += time.perf_counter() - started

    def wake(deliveries):
        started = time.perf_counter()
        try:
            return real_wake(deliveries)
        finally:
            spent["wake"] += time.perf_counter() - started

    rows: dict[str, dict[str, list[tuple]]] = {
        label: {kind: [] for kind in KINDS} for label in worlds}

    def call(label: str, kind: str, method, url: str, body: dict, expected: int) -> dict:
        spent["write"] = spent["wake"] = 0.0
        sql = {"count": 0, "all": 0.0, "begin": 0.0}

        def timer(execute, statement, params, many, context):
            started = time.perf_counter()
            try:
                return execute(statement, params, many, context)
            finally:
                elapsed = time.perf_counter() - started
                sql["count"] += 1
                sql["all"] += elapsed
                if statement.startswith("BEGIN"):
                    sql["begin"] += elapsed

        cpu = time.process_time()
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            response = method(url, body, content_type="application/json")
            elapsed = time.perf_counter() - started
        flushed = time.perf_counter()
        publisher.flush()
        publish = time.perf_counter() - flushed
        cpu = time.process_time() - cpu
        if response.status_code != expected:
            raise RuntimeError(f"{kind}: {response.status_code} {response.content[:300]!r}")
        rows[label][kind].append((sql["count"], elapsed, sql["all"], sql["begin"], spent["write"],
                                  spent["wake"], publish, cpu))
        return response.json()

    def one_run(label: str, client: Client, workflow_id: str) -> None:
        run = call(label, "start", client.post, "/api/v1/workflow-runs",
                   {"workflowId": workflow_id}, 201)
        for task in run["tasks"]:
            call(label, "check", client.put,
                 f"/api/v1/workflow-runs/{run['id']}/tasks/{task['id']}",
                 {"status": "Completed"}, 200)

    clients = {label: Client(HTTP_X_API_KEY=world["keys"][0]) for label, world in worlds.items()}
    outbox.set_writer(write_events)
    dispatch.wake = wake
    try:
        for number in range(runs + 1):  # the first round warms up, not counted
            for label, world in worlds.items():
                one_run(label, clients[label], world["workflow_id"])
            if number == 0:
                rows = {label: {kind: [] for kind in KINDS} for label in worlds}
    finally:
        outbox.set_writer(real_write)
        dispatch.wake = real_wake
    names = ("queries", "ms", "sql_ms", "begin_ms", "write_events_ms", "wake_ms", "publish_ms",
             "cpu_ms")
    return {label: {kind: {"requests": len(values), **{
                name: statistics.median(v[i] * (1 if i == 0 else 1000) for v in values)
                for i, name in enumerate(names)}}
                    for kind, values in by_kind.items()}
            for label, by_kind in rows.items()}


# --- the scenario ---------------------------------------------------------------------------------

def phase_plan(seconds: float, rounds: int) -> list[tuple[str, float]]:
    """`rounds` times none, subscribed, none (the nones half as long), adjacent nones merged:
    each condition gets `seconds` in all, and a drift of the machine weighs on both alike."""
    rounds = max(1, rounds)
    plan: list[tuple[str, float]] = []
    for _ in range(rounds):
        for phase, length in (("none", seconds / rounds / 2), ("subscribed", seconds / rounds),
                              ("none", seconds / rounds / 2)):
            if plan and plan[-1][0] == phase:
                plan[-1] = (phase, plan[-1][1] + length)
            else:
                plan.append((phase, length))
    return plan


def run(args, env: dict[str, str], workdir: Path, receiver, consumers,
        cpu_groups: dict[str, list[int]], log) -> dict:
    from bench.scenarios import wait_settled
    from delivery.models import Delivery
    from delivery.publisher import publisher

    world = build_world(args.api_clients, TASKS)
    organization = world["organization"]
    # One key per client, each under the default limit at this load; raised so that a busy
    # client is never answered 429 (the throttle's Redis round trip stays).
    web_env = dict(env, API_RATE="100000/min", LOG_LEVEL=env.get("LOG_LEVEL", "WARNING"))
    web = Gunicorn(web_env, workdir)
    result: dict = {"clients": args.api_clients, "tasks": TASKS, "subscriptions":
                    args.api_subscriptions, "triggers": workflow_triggers(),
                    "seconds_per_phase": args.api_seconds, "rounds": args.api_rounds,
                    "phases": {}}
    try:
        web.start()
        groups = {"web": web.worker_pids, **cpu_groups}
        log(f"api: gunicorn at {web.url} (2 x 4 threads); {args.api_clients} clients, "
            f"{TASKS}-task workflow")
        drive(web.url, world, min(3.0, args.api_seconds / 4))  # warm-up, not counted
        plan = phase_plan(args.api_seconds, args.api_rounds)
        collected: dict[str, list] = {"none": [], "subscribed": []}
        cpu_used: dict[str, list[dict]] = {"none": [], "subscribed": []}
        arrivals: list = []
        deliveries = 0
        result["parts"] = []
        with CpuSampler(groups) as cpu:
            for phase, seconds in plan:
                if phase == "subscribed":
                    webhooks = create_webhooks(web.url, world["admin_key"], receiver.base_url,
                                               world["workflow_id"], args.api_subscriptions)
                    receiver.drain()
                samples, started, ended = drive(web.url, world, seconds)
                collected[phase].append((samples, seconds))
                cpu_used[phase].append((cpu.between(started, ended), len(samples)))
                stats = request_stats(samples, seconds)
                result["parts"].append({"phase": phase, "seconds": seconds, **stats})
                if phase == "subscribed":
                    # Settled before the next part, so that no delivery runs into it.
                    pending = wait_settled(120, organization)
                    mine = receiver.drain()
                    in_phase = sum(1 for a in mine if a[0] <= ended)
                    log(f"  subscribed: {len(mine)} webhooks arrived ({in_phase / seconds:.0f}/s "
                        f"in the phase), {pending} pending after")
                    deliveries += Delivery.objects.filter(
                        organization=organization, webhook_id__in=webhooks).count()
                    delete_webhooks(web.url, world["admin_key"], webhooks)
                    arrivals += mine
                    result["parts"][-1]["webhooks_per_second"] = in_phase / seconds
                    result["parts"][-1]["pending_after"] = pending
                log(f"  {phase} {seconds:g} s: " + "; ".join(
                    f"{k} p50 {v['p50_ms']:.0f} ms p99 {v['p99_ms']:.0f} ms "
                    f"{v['per_second']:.1f}/s" for k, v in stats.items()))
        parts = [p for p in result["parts"] if p["phase"] == "subscribed"]
        result["webhooks"] = {
            "deliveries": deliveries, "arrived": len(arrivals),
            "pending_after": sum(p["pending_after"] for p in parts),
            "per_second_in_phase": sum(p["webhooks_per_second"] * p["seconds"] for p in parts)
            / sum(p["seconds"] for p in parts),
            "commit_to_arrival": commit_to_arrival(arrivals, organization),
        }
        for phase, parts in collected.items():
            seconds = sum(s for _samples, s in parts)
            merged = [x for samples, _s in parts for x in samples]
            used: dict[str, float] = {}
            for part, _count in cpu_used[phase]:
                for name, value in part.items():
                    weight = part["seconds"] if name == "machine busy share" else 1.0
                    used[name] = used.get(name, 0.0) + value * weight
            if used:
                used["machine busy share"] /= used["seconds"] or 1.0
            result["phases"][phase] = {
                "seconds": seconds, **request_stats(merged, seconds),
                "cpu_ms_per_request": cpu_per_request(used, len(merged)),
            }
        # Where the time goes, one request at a time: the webhooks' organization against one
        # like it with none, run for run, with the workers not consuming (the request's own
        # cost, without the deliveries' competition for the processors and the database).
        webhooks = create_webhooks(web.url, world["admin_key"], receiver.base_url,
                                   world["workflow_id"], args.api_subscriptions)
        other = build_world(1, TASKS)
        consumers.pause()
        try:
            result["profile"] = profile_requests({"none": other, "subscribed": world},
                                                 max(2, args.api_profile_runs))
        finally:
            consumers.resume()
        publisher.flush()
        wait_settled(120, organization)
        delete_webhooks(web.url, world["admin_key"], webhooks)
        receiver.drain()
    finally:
        web.stop()
    none, subscribed = result["phases"]["none"], result["phases"]["subscribed"]
    result["p50_ratio"] = {k: subscribed[k]["p50_ms"] / none[k]["p50_ms"] for k in KINDS}
    return result
