"""The scenarios and baselines, driven from a process with Django set up.

Each measurement has two phases:

* **drain** (deliveries/s): the workers stop consuming the first-try queue, the events are
  emitted, the workers start consuming again, and the rate is deliveries / (last arrival -
  consumption start);
* **paced** (latency): events are emitted at half the drain rate (open loop) while the workers
  run, and each delivery's latency is its arrival at the receiver minus its event's commit.

The emitting request's cost on webhooks is timed around `delivery.writer.write_events` (render,
outbox rows, matching, Delivery rows) and `delivery.dispatch.wake` (the on-commit wake-up of the
workers, handed to the publisher thread): the wrappers only time and call through.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

import delivery.writer as writer
from accounts.models import Role
from accounts.services import add_member, create_organization
from bench.cpu import CpuSampler
from bench.procs import ReceiverProcess
from datasets.services import create_data_set, create_record, update_record
from delivery import dispatch, throttle
from delivery.models import Delivery, DeliveryStatus
from delivery.publisher import publisher
from kernel import outbox
from kernel.redis import redis_client

FIRST_TRY_QUEUE = "webhooks"
BODY = (b'{"id":"xxxxxxxxxxxxxxxxxxxxxx","createdDate":"2026-01-01T00:00:00.000Z","data":'
        b'{"recordId":"xxxxxxxxxxxxxxxxxxxxxx","cells":{"f":"bench"}},"type":"Bench"}')


# --- timing the emitting request ----------------------------------------------------------------

class EmitProbe:
    """Times write_events and enqueue in this process and notes each event's commit time."""

    def __init__(self) -> None:
        self.commit_times: dict[str, float] = {}
        self.samples: list[tuple[float, float, int]] = []  # (write s, enqueue s, deliveries)
        self._write_started = 0.0
        self._pending: list[float] = []
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        real_write, real_wake = writer.write_events, dispatch.wake
        probe = self

        def write_events(pending):
            stamp: dict[str, float] = {}
            # Registered before write_events registers the enqueue, so it runs first, right
            # after the commit.
            transaction.on_commit(lambda: stamp.setdefault("t", time.time()))
            started = time.perf_counter()
            events = real_write(pending)
            elapsed = time.perf_counter() - started
            ids = [e.id for e in events]

            def note():
                for event_id in ids:
                    probe.commit_times[event_id] = stamp["t"]
            transaction.on_commit(note)
            probe._pending.append(elapsed)
            return events

        def wake(deliveries):
            started = time.perf_counter()
            real_wake(deliveries)
            write = probe._pending.pop() if probe._pending else 0.0
            probe.samples.append((write, time.perf_counter() - started, len(deliveries)))

        outbox.set_writer(write_events)
        dispatch.wake = wake
        self._installed = True

    def reset(self) -> None:
        self.commit_times.clear()
        self.samples.clear()
        self._pending.clear()

    def per_webhook_ms(self) -> dict[str, float]:
        if not self.samples:
            return {}
        per_sub = [(w + e) * 1000 / n for w, e, n in self.samples if n]
        writes = [w * 1000 / n for w, _e, n in self.samples if n]
        enqueues = [e * 1000 / n for _w, e, n in self.samples if n]
        return {
            "p50": percentile(per_sub, 50), "p95": percentile(per_sub, 95),
            "write_p50": percentile(writes, 50), "enqueue_p50": percentile(enqueues, 50),
            "per_event_p50": percentile([(w + e) * 1000 for w, e, _n in self.samples], 50),
            "events": len(self.samples),
        }


def cpu_per_delivery(used: dict[str, float], deliveries: int) -> dict[str, float]:
    """Processor milliseconds per delivery of each group, over the run's counted part."""
    result = {name: round(seconds * 1000 / max(deliveries, 1), 3) for name, seconds in used.items()
              if name not in ("machine busy share", "seconds")}
    if used:
        result["machine busy share"] = round(used["machine busy share"], 3)
    return result


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies: list[float]) -> dict[str, float]:
    return {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99), "max": max(latencies) if latencies else float("nan"),
            "count": len(latencies)}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


# --- consumers on and off ----------------------------------------------------------------------

@dataclass
class Consumers:
    app: object
    queue: str
    names: list[str]

    def pause(self) -> None:
        self._broadcast("cancel_consumer")

    def resume(self) -> None:
        self._broadcast("add_consumer")

    def _broadcast(self, command: str) -> None:
        replies = getattr(self.app.control, command)(
            self.queue, destination=self.names, reply=True, timeout=5
        )
        if len(replies) != len(self.names):
            raise RuntimeError(f"{command} {self.queue}: {len(replies)}/{len(self.names)} replies")


# --- the system under test ---------------------------------------------------------------------

@dataclass
class Scenario:
    key: str
    title: str
    fanout: int  # deliveries per event
    events: int  # events per drain run
    targets: list = field(default_factory=list)  # (data_set, field_id) per event, round robin
    slow_paths: set[str] = field(default_factory=set)
    actor: object = None
    organization: object = None
    # When set, each event updates one of these records, round robin (DataSetRecordUpdated),
    # instead of creating a record: its subject, for ordered delivery.
    records: list = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        return self.events * self.fanout

    @property
    def healthy_deliveries(self) -> int:
        """Deliveries to the endpoints that answer at once. Events go round robin over the
        targets, the slow ones first (build_scenarios)."""
        slow, targets = len(self.slow_paths), max(1, len(self.targets))
        return self.fanout * sum(1 for n in range(self.events) if n % targets >= slow)


def _org(name: str):
    organization = create_organization(f"{name}-{uuid.uuid4().hex[:8]}")
    membership = add_member(organization, f"bench-{uuid.uuid4().hex[:8]}@bench.test", Role.ADMIN)
    return organization, membership.user


def _webhook(organization, url: str, data_set, **options) -> None:
    from subscriptions.services import create_webhook

    create_webhook(organization, {"url": url, "triggers": ["DataSetRecordCreated"],
                                  "data_set": data_set, **options})


def _order_scenario(base: str, key: str, title: str, subjects: int, ordered: bool,
                    deliveries: int) -> Scenario:
    """A stream of record updates to one webhook, round robin over `subjects` records,
    with ordered delivery on or off. The records are written without events (bulk_create):
    only their updates are delivered."""
    from datasets.models import DataSetRecord
    from subscriptions.services import create_webhook

    org, actor = _org(key)
    data_set = create_data_set(org, key, [{"name": "Name", "fieldType": "Text"}])
    field_id = data_set.fields.get().id
    records = DataSetRecord.objects.bulk_create(
        [DataSetRecord(data_set=data_set, cells={field_id: "new"}, created_by=actor,
                       updated_by=actor) for _ in range(subjects)])
    for record in records:
        record.data_set = data_set
    create_webhook(org, {"url": f"{base}/fast/{key}", "triggers": ["DataSetRecordUpdated"],
                         "data_set": data_set, "ordered_delivery": ordered})
    return Scenario(key, title, 1, deliveries, [(data_set, field_id)], actor=actor,
                    organization=org, records=records)


def order_scenarios(receiver: ReceiverProcess, scale: float, subjects: int) -> list[Scenario]:
    """Ordered delivery per subject against the same stream unordered, in the same run:
    updates over `subjects` records with ordering off and on, and over one record (one line,
    one delivery at a time: the receiver's round trip bounds it)."""
    base, deliveries = receiver.base_url, max(50, int(5000 * scale))
    return [
        _order_scenario(base, "order-off", f"(d) updates over {subjects} records, unordered",
                        subjects, False, deliveries),
        _order_scenario(base, "order-on", f"(e) updates over {subjects} records, ordered",
                        subjects, True, deliveries),
        _order_scenario(base, "order-one", "(f) updates of 1 record, ordered", 1, True,
                        deliveries),
    ]


def build_scenarios(receiver: ReceiverProcess, scale: float, slow_receivers: int = 2
                    ) -> list[Scenario]:
    base = receiver.base_url
    deliveries = max(50, int(5000 * scale))

    org, actor = _org("fanout")
    data_set = create_data_set(org, "fanout", [{"name": "Name", "fieldType": "Text"}])
    for number in range(50):
        _webhook(org, f"{base}/fast/fanout/{number}", data_set)
    fanout = Scenario("fanout", "(a) fan-out: 1 event -> 50 subscriptions", 50,
                      max(1, deliveries // 50), [(data_set, data_set.fields.get().id)],
                      actor=actor, organization=org)

    org, actor = _org("stream")
    data_set = create_data_set(org, "stream", [{"name": "Name", "fieldType": "Text"}])
    _webhook(org, f"{base}/fast/stream", data_set)
    stream = Scenario("stream", "(b) stream: events -> 1 subscription", 1, deliveries,
                      [(data_set, data_set.fields.get().id)], actor=actor, organization=org)

    org, actor = _org("mixed")
    targets, slow = [], set()
    for number in range(20):
        data_set = create_data_set(org, f"mixed-{number}", [{"name": "Name", "fieldType": "Text"}])
        path = f"/slow/mixed/{number}" if number < slow_receivers else f"/fast/mixed/{number}"
        if number < slow_receivers:
            slow.add(path)
        _webhook(org, base + path, data_set)
        targets.append((data_set, data_set.fields.get().id))
    mixed = Scenario("mixed", f"(c) mixed: events over 20 webhooks, {slow_receivers} answer "
                     "after 2 s", 1,
                     deliveries, targets, slow, actor=actor, organization=org)
    return [fanout, stream, mixed]


def _span(arrivals: list) -> tuple[float, float]:
    # Measured from the first arrival: a consumer added back starts on its next poll of the
    # broker (up to a second later), which is not delivery work.
    times = [a[0] for a in arrivals]
    return min(times), max(times)


_update_numbers = itertools.count()


def emit(scenario: Scenario, number: int) -> None:
    data_set, field_id = scenario.targets[number % len(scenario.targets)]
    if scenario.records:
        # A value never written before: an update that changes nothing emits no event.
        record = scenario.records[number % len(scenario.records)]
        update_record(record, {field_id: f"bench {next(_update_numbers)}"}, actor=scenario.actor)
        return
    create_record(data_set, {field_id: f"bench {number}"}, actor=scenario.actor)


def wait_settled(timeout: float, organization) -> int:
    """Waits until none of the organization's deliveries is pending; returns how many still are.
    (Scoped to this run's organization: a shared PostgreSQL database may hold older rows.)"""
    deadline = time.monotonic() + timeout
    while True:
        pending = Delivery.objects.filter(
            organization=organization, status=DeliveryStatus.PENDING).count()
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(0.1)


@dataclass
class Harness:
    receiver: ReceiverProcess
    consumers: Consumers
    probe: EmitProbe
    timeout: float = 180.0
    log: Callable[[str], None] = print
    forget_slow: bool = False
    cpu_groups: dict[str, list[int]] | None = None

    def drain_run(self, scenario: Scenario, healthy_done: Callable[[], None] | None = None
                  ) -> dict:
        """`healthy_done` is called once as many deliveries arrived as go to the healthy
        endpoints (the end of the span the rates and processor times count)."""
        self.consumers.pause()
        if self.forget_slow:
            client = redis_client()
            marks = list(client.scan_iter(throttle.SLOW_KEY + "*"))
            if marks:
                client.delete(*marks)
        self.receiver.drain()
        self.probe.reset()
        emit_started = time.perf_counter()
        for number in range(scenario.events):
            emit(scenario, number)
        emit_seconds = time.perf_counter() - emit_started
        emit_cost = self.probe.per_webhook_ms()
        publisher.flush()
        started = time.time()
        with CpuSampler(self.cpu_groups or {}) as cpu:
            self.consumers.resume()
            if healthy_done is not None:
                self.receiver.wait_for(scenario.healthy_deliveries, self.timeout)
                healthy_done()
            complete = self.receiver.wait_for(scenario.deliveries, self.timeout)
        arrivals = self.receiver.drain()
        pending = wait_settled(30, scenario.organization)
        if not complete:
            self.log(f"  ! only {len(arrivals)}/{scenario.deliveries} deliveries arrived")
        if not arrivals:
            raise RuntimeError(f"{scenario.key}: no delivery arrived")
        healthy = [a for a in arrivals if a[2] not in scenario.slow_paths]
        first, last = _span(arrivals)
        result = {
            "deliveries": len(arrivals), "expected": scenario.deliveries,
            "seconds": last - first, "rate": (len(arrivals) - 1) / (last - first),
            "first_arrival_after_resume": first - started,
            "emit": emit_cost, "emit_seconds": emit_seconds, "pending_after": pending,
        }
        last_counted = last
        if scenario.slow_paths:
            _first, last_counted = _span(healthy)
            result["healthy_rate"] = (len(healthy) - 1) / (last_counted - first)
            result["healthy_deliveries"] = len(healthy)
            # When the healthy deliveries arrived, from the first: a late few (a tail) and a
            # slow pace (throughput) lower the rate alike.
            times = sorted(a[0] - first for a in healthy)
            result["healthy_arrived_by"] = {
                f"{pct}%": round(times[min(len(times) - 1, len(times) * pct // 100)], 3)
                for pct in (25, 50, 75, 90, 99, 100)}
        result["cpu"] = cpu_per_delivery(cpu.between(first, last_counted),
                                         len(healthy) if scenario.slow_paths else len(arrivals))
        return result

    def paced_run(self, scenario: Scenario, events_per_second: float, seconds: float) -> dict:
        self.receiver.drain()
        self.probe.reset()
        count = max(3, round(events_per_second * seconds))
        with CpuSampler(self.cpu_groups or {}) as cpu:
            wall_started = time.time()
            started = time.perf_counter()
            for number in range(count):
                due = started + number / events_per_second
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                emit(scenario, number)
            achieved = count / max(time.perf_counter() - started, 1e-9)
            self.receiver.wait_for(count * scenario.fanout, self.timeout)
            time.sleep(0.2)  # the last records, after the last arrival
            used = cpu.between(wall_started, time.time())
        arrivals = self.receiver.drain()
        wait_settled(30, scenario.organization)
        commits = self.probe.commit_times
        latencies = [t - commits[i] for t, i, p in arrivals
                     if i in commits and p not in scenario.slow_paths]
        return {
            "target_events_per_second": events_per_second,
            "achieved_events_per_second": achieved,
            "deliveries_per_second": achieved * scenario.fanout,
            "latency": latency_summary(latencies),
            "latencies": latencies,
            "emit": self.probe.per_webhook_ms(),
            "cpu": cpu_per_delivery(used, len(arrivals)),
        }

    def check_records(self, scenario: Scenario) -> dict:
        deliveries = Delivery.objects.filter(organization=scenario.organization)
        return {
            "deliveries": deliveries.count(),
            "succeeded_first_try": deliveries.filter(status=DeliveryStatus.SUCCEEDED,
                                                     tries=1).count(),
            "not_succeeded": deliveries.exclude(status=DeliveryStatus.SUCCEEDED).count(),
        }


# --- the bare Celery baseline ------------------------------------------------------------------

def baseline_celery_drain(receiver: ReceiverProcess, consumers: Consumers, count: int,
                          timeout: float) -> dict:
    from bench.baselines import post

    url = receiver.base_url + "/fast/baseline"
    body = BODY.decode()
    consumers.pause()
    receiver.drain()
    enqueue_times = []
    for number in range(count):
        started = time.perf_counter()
        post.apply_async(args=[url, f"celery-{number}", body])
        enqueue_times.append(time.perf_counter() - started)
    started = time.time()
    consumers.resume()
    receiver.wait_for(count, timeout)
    arrivals = receiver.drain()
    if not arrivals:
        raise RuntimeError("bare Celery baseline: no delivery arrived")
    first, last = _span(arrivals)
    return {"deliveries": len(arrivals), "seconds": last - first,
            "rate": (len(arrivals) - 1) / (last - first),
            "first_arrival_after_resume": first - started,
            "enqueue_ms_p50": percentile([t * 1000 for t in enqueue_times], 50)}


def baseline_celery_paced(receiver: ReceiverProcess, per_second: float, seconds: float,
                          timeout: float, cpu_groups: dict[str, list[int]] | None = None) -> dict:
    from bench.baselines import post

    url = receiver.base_url + "/fast/baseline"
    body = BODY.decode()
    receiver.drain()
    count = max(10, int(per_second * seconds))
    sent: dict[str, float] = {}
    with CpuSampler(cpu_groups or {}) as cpu:
        wall_started = time.time()
        started = time.perf_counter()
        for number in range(count):
            delay = started + number / per_second - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            event_id = f"paced-{number}"
            sent[event_id] = time.time()
            post.apply_async(args=[url, event_id, body])
        achieved = count / (time.perf_counter() - started)
        receiver.wait_for(count, timeout)
        time.sleep(0.2)
        used = cpu.between(wall_started, time.time())
    arrivals = receiver.drain()
    latencies = [t - sent[i] for t, i, _p in arrivals if i in sent]
    return {"target_per_second": per_second, "achieved_per_second": achieved,
            "latency": latency_summary(latencies), "latencies": latencies,
            "cpu": cpu_per_delivery(used, len(arrivals))}


def baseline_requests_loop(receiver: ReceiverProcess, count: int) -> dict:
    from bench.baselines import requests_loop

    receiver.drain()
    result: dict = {}

    def run():
        result["times"] = requests_loop(receiver.base_url + "/fast/loop", count, BODY)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    started, ended = result["times"]
    arrivals = receiver.drain()
    return {"deliveries": len(arrivals), "seconds": ended - started,
            "rate": len(arrivals) / (ended - started)}
