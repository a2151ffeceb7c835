"""Ordered delivery per subject, an option of a webhook (`ordered_delivery`).

A webhook with it gets the deliveries about one subject (a workflow run, a data set record, a
form response: events.catalog.ordering_subject) one at a time, in the order their events were
committed; a delivery that fails holds the later ones of its subject until it ends (succeeds,
or fails after its last try), and other subjects go on meanwhile.

It lives inside the one pipeline (docs/decisions/0010-ordered-delivery.md):
- written: each delivery of an ordered webhook gets its subject and its place (`sequence`,
  1, 2, 3... per webhook and subject) in the transaction that writes its event. The domain
  service that changes a subject holds the subject's row lock until it commits (PostgreSQL;
  on SQLite every write transaction holds the database), so the places follow commit order.
- claimed: a first try is claimed only when the delivery before it in its subject's line has
  ended; otherwise it is held: its next try is put WEBHOOK_ORDER_RECHECK seconds ahead, so
  that the drains and the sweeper pass it by meanwhile.
- ended: in the transaction that makes a delivery final (its record, or a claim that finds its
  tries used up or its webhook gone), the next pending delivery of its subject is made due
  again; a wake-up task follows the commit, and the sweeper finds it if that task is lost.
  Nothing is stranded if some path ended a delivery without this: a held delivery is looked
  at again by the sweeper once its recheck time has passed.

Redeliveries and recoveries are sent outside the order (no place, hold nothing): see
docs/receiving.md for why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, QuerySet, Subquery

from delivery.models import Delivery, DeliveryStatus


def assign_places(deliveries: Iterable[Delivery]) -> None:
    """Gives each delivery with a subject (one to an ordered webhook) its place, after its
    subject's last one, in the order given: the order the events were emitted in the
    transaction. One query (on the unique index of places), and none when no delivery has a
    subject."""
    ordered = [d for d in deliveries if d.subject]
    if not ordered:
        return
    last = defaultdict(int)
    for webhook_id, subject, place in (
        Delivery.objects.filter(webhook_id__in={d.webhook_id for d in ordered},
                                subject__in={d.subject for d in ordered},
                                sequence__isnull=False)
        .values("webhook_id", "subject").annotate(last=Max("sequence")).order_by()
        .values_list("webhook_id", "subject", "last")
    ):
        last[(webhook_id, subject)] = place
    for delivery in ordered:
        key = (delivery.webhook_id, delivery.subject)
        last[key] += 1
        delivery.sequence = last[key]


def _neighbour(step: int) -> QuerySet:
    """The deliveries `step` places from the outer row in its subject's line: one seek on
    the unique index of places, however long the subject's history."""
    return Delivery.objects.filter(webhook_id=OuterRef("webhook_id"),
                                   subject=OuterRef("subject"),
                                   sequence=OuterRef("sequence") + step)


def held(delivery_ids: list[str], now) -> set[str]:
    """Those of these deliveries (first tries of ordered webhooks, with a place, locked by the
    caller's claim) whose previous place is still pending, put aside until HELD_RECHECK: the
    drains and the sweeper pass them by, and the end of the one before makes them due at
    once (next_in_line). One query to find them, one to put them aside.

    The previous place is enough: a delivery ends only after the one before it ended (it is
    claimed only then), so the one before it ended means every earlier one did."""
    if not delivery_ids:
        return set()
    ids = set(
        Delivery.objects.filter(pk__in=delivery_ids)
        .filter(Exists(_neighbour(-1).filter(status=DeliveryStatus.PENDING)))
        .order_by().values_list("id", flat=True)
    )
    if ids:
        Delivery.objects.filter(pk__in=ids).update(
            next_try_at=now + timedelta(seconds=settings.WEBHOOK_ORDER_RECHECK))
    return ids


def next_in_line(ended_ids: list[str], now) -> list[str]:
    """Makes due the next delivery of the subject of each of these, which have just ended in
    the caller's transaction, when it waits for its first try; returns their ids, for a
    wake-up once the transaction commits. Being in that transaction, a wake-up lost after
    the commit (a worker killed) leaves the next one due, for the sweeper."""
    if not ended_ids:
        return []
    following = [
        following_id for following_id in Delivery.objects.filter(pk__in=ended_ids)
        .annotate(following=Subquery(_neighbour(+1).values("id")[:1]))
        .order_by().values_list("following", flat=True)
        if following_id is not None
    ]
    if not following:
        return []
    due = sorted(Delivery.objects.filter(pk__in=following, status=DeliveryStatus.PENDING,
                                         tries=0).values_list("id", flat=True))
    Delivery.objects.filter(pk__in=due).update(next_try_at=now)
    return due


def release(webhook_id: str, now) -> list[str]:
    """Ordered delivery was turned off: the webhook's deliveries put aside for their turn
    are due now (their places are kept, and no longer looked at)."""
    ids = list(Delivery.objects.filter(webhook_id=webhook_id, status=DeliveryStatus.PENDING,
                                       tries=0, next_try_at__gt=now, sequence__isnull=False)
               .order_by().values_list("id", flat=True))
    Delivery.objects.filter(pk__in=ids).update(next_try_at=now)
    return ids


def wake(delivery_ids: list[str]) -> None:
    """The wake-up for deliveries whose turn came: on the retry queue, since they have waited
    their turn already and should not queue again behind a backlog of first tries. The
    database says they are due: the sweeper finds any whose task is lost."""
    if delivery_ids:
        from delivery.dispatch import enqueue, retry_queue

        enqueue(delivery_ids, queue=retry_queue())
