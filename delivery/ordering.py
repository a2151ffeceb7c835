"""Ordered delivery per subject, an option of a webhook (`ordered_delivery`).

A webhook with it gets the deliveries about one subject (a workflow run, a data set record, a
form response: kernel.catalog.ordering_subject) one at a time, in the order their events were
committed; a delivery that fails holds the later ones of its subject until it ends (succeeds,
or fails after its last try), and other subjects go on meanwhile.

It lives inside the one pipeline (docs/decisions/0011-ordered-delivery.md):
- written: each delivery of an ordered webhook gets its subject and its place (`sequence`,
  1, 2, 3... per webhook and subject) in the transaction that writes its event. The domain
  service that changes a subject holds the subject's row lock until it commits (PostgreSQL;
  on SQLite every write transaction holds the database), so the places follow commit order.
  When the place before it is pending, it is written held: its next try
  WEBHOOK_ORDER_RECHECK seconds ahead, so that the drains and the sweeper pass it by.
- claimed: a first try is claimed only when the delivery before it in its subject's line has
  ended; otherwise it is held in the same way (or put back for a moment, when the one before
  it is being claimed or recorded right then).
- ended: in the transaction that makes a delivery final (its record, or a claim that finds its
  tries used up or its webhook gone), the next delivery of its subject is made due. After the
  commit, a record hands it to its own process's pipeline (delivery/pipeline.py), a claim to
  a `deliver` task; if that hand-over is lost, the sweeper finds it due. Nothing is stranded
  if some path ended a delivery without this step: a held delivery is due again once its
  recheck time has passed, and held again if its turn has not come.

Redeliveries and recoveries are sent outside the order (no place, hold nothing): see
docs/receiving.md for why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery

from delivery.drain import destinations
from delivery.flow import Destination
from delivery.models import Delivery, DeliveryStatus

# A first try whose previous place is being claimed or recorded by another transaction at the
# moment of its claim comes back this many seconds later, when that is settled.
UNSETTLED_PAUSE = 1.0


Place = tuple[str, str, int]  # webhook id, subject, sequence


def _places(places) -> Q:
    condition = Q(pk__in=[])
    for webhook_id, subject, sequence in places:
        condition |= Q(webhook_id=webhook_id, subject=subject, sequence=sequence)
    return condition


def _states(places: set[Place]) -> dict[Place, str | None]:
    """The status of each of these places that exists, read under its row lock and so
    settled until the caller's transaction ends: the transaction that ends a pending one
    waits for it, then sees what it wrote (a delivery after it, held). None for a place
    another transaction holds (being claimed or recorded: what becomes of it is not known
    yet). A place that does not exist was pruned, long ended."""
    if not places:
        return {}
    states: dict[Place, str | None] = {
        (webhook_id, subject, sequence): status
        for webhook_id, subject, sequence, status in
        Delivery.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(_places(places)).order_by().values_list("webhook_id", "subject", "sequence",
                                                        "status")
    }
    missing = places - states.keys()
    if missing and connection.features.has_select_for_update_skip_locked:
        for webhook_id, subject, sequence, status in (
                Delivery.objects.filter(_places(missing)).order_by()
                .values_list("webhook_id", "subject", "sequence", "status")):
            # An ended delivery stays ended: only a pending one's outcome is unknown.
            states[(webhook_id, subject, sequence)] = (
                status if status != DeliveryStatus.PENDING else None)
    return states


def assign_places(deliveries: Iterable[Delivery], now) -> None:
    """Gives each delivery with a subject (one to an ordered webhook) its place, after its
    subject's last one, in the order given: the order the events were emitted in the
    transaction. A delivery whose previous place is pending is written held
    (WEBHOOK_ORDER_RECHECK ahead), so that the drains pass it by until its turn comes. Two queries
    (the subject's last place, and its state), none when no delivery has a subject."""
    ordered = [d for d in deliveries if d.subject]
    if not ordered:
        return
    last: dict[tuple[str, str], int] = defaultdict(int)
    for webhook_id, subject, place in (
        Delivery.objects.filter(webhook_id__in={d.webhook_id for d in ordered},
                                subject__in={d.subject for d in ordered},
                                sequence__isnull=False)
        .values("webhook_id", "subject").annotate(last=Max("sequence")).order_by()
        .values_list("webhook_id", "subject", "last")
    ):
        last[(webhook_id, subject)] = place
    states = _states({(*line, place) for line, place in last.items()})
    held_until = now + timedelta(seconds=settings.WEBHOOK_ORDER_RECHECK)
    for delivery in ordered:
        line = (delivery.webhook_id, delivery.subject)
        before = (*line, last[line])
        # The one before it is pending: in the database, or written just now by this change.
        if states.get(before) == DeliveryStatus.PENDING or before not in states and last[line]:
            delivery.next_try_at = held_until
        last[line] += 1
        delivery.sequence = last[line]


def held(rows: list[tuple[str, str, str, int]], now) -> tuple[set[str], dict[str, str]]:
    """Of these first tries (id, webhook id, subject, place) of ordered webhooks, locked by
    the caller's claim: those whose previous place is pending, put aside for
    WEBHOOK_ORDER_RECHECK (the drains and the sweeper pass them by; the end of the one
    before makes them due at once: next_in_line), and those whose previous place another
    transaction is claiming or recording right now, put back for UNSETTLED_PAUSE, until
    that is settled. Returns (held, put back: id -> webhook id); the caller claims neither.

    The previous place is enough: a delivery ends only after the one before it ended (it is
    claimed only then), so the one before it ended means every earlier one did. One query
    when it has (the common case: its end made this one due); one more, under the row
    locks, for those it has not."""
    if not rows:
        return set(), {}
    waiting = set(
        Delivery.objects.filter(pk__in=[row[0] for row in rows])
        .filter(Exists(_neighbour(-1).filter(status=DeliveryStatus.PENDING)))
        .order_by().values_list("id", flat=True)
    )
    if not waiting:
        return set(), {}
    rows = [row for row in rows if row[0] in waiting]
    # Read again under the row lock: pending then means pending until this claim commits,
    # and the transaction that ends it sees this one held.
    states = _states({(webhook_id, subject, place - 1)
                      for _id, webhook_id, subject, place in rows})
    held, unsettled = set(), {}
    for delivery_id, webhook_id, subject, place in rows:
        state = states.get((webhook_id, subject, place - 1), DeliveryStatus.SUCCEEDED)
        if state == DeliveryStatus.PENDING:
            held.add(delivery_id)
        elif state is None:
            unsettled[delivery_id] = webhook_id
    if held:
        Delivery.objects.filter(pk__in=held).update(
            next_try_at=now + timedelta(seconds=settings.WEBHOOK_ORDER_RECHECK))
    if unsettled:
        Delivery.objects.filter(pk__in=unsettled).update(
            next_try_at=now + timedelta(seconds=UNSETTLED_PAUSE))
    return held, unsettled


def _neighbour(step: int) -> QuerySet:
    """The deliveries `step` places from the outer row in its subject's line: one seek on
    the unique index of places, however long the subject's history."""
    return Delivery.objects.filter(webhook_id=OuterRef("webhook_id"),
                                   subject=OuterRef("subject"),
                                   sequence=OuterRef("sequence") + step)


def next_in_line(ended_ids: list[str], now) -> dict[str, Destination]:
    """Makes due the next delivery of the subject of each of these, which have just ended in
    the caller's transaction, when it waits for its first try; returns where they go (id ->
    Destination), for the hand-over once the transaction commits. Being in that transaction, a
    hand-over lost after the commit (a worker killed) leaves the next one due, for the sweeper.

    Two statements: one read of the next places with their destinations (a seek on the index
    of places for each ended one), and the update. The update checks again that each still
    waits for its first try: a claim that took it meanwhile (its recheck time passed) keeps
    its lease."""
    if not ended_ids:
        return {}
    following = (Delivery.objects.filter(pk__in=ended_ids)
                 .annotate(following=Subquery(_neighbour(+1).order_by().values("id")[:1]))
                 .order_by().values("following"))
    due = destinations(Delivery.objects.filter(pk__in=following, status=DeliveryStatus.PENDING,
                                               tries=0).order_by("pk"))
    if due:
        Delivery.objects.filter(pk__in=list(due), status=DeliveryStatus.PENDING,
                                tries=0).update(next_try_at=now)
    return due


def release(webhook_id: str, now) -> dict[str, str]:
    """Ordered delivery was turned off: the webhook's deliveries put aside for their turn
    are due now (their places are kept, and no longer looked at)."""
    ids = list(Delivery.objects.filter(webhook_id=webhook_id, status=DeliveryStatus.PENDING,
                                       tries=0, next_try_at__gt=now, sequence__isnull=False)
               .order_by().values_list("id", flat=True))
    Delivery.objects.filter(pk__in=ids).update(next_try_at=now)
    return dict.fromkeys(ids, webhook_id)
