"""Claiming and recording tries directly (no worker): what is written when a delivery or its
webhook goes away during a try, and how SQLite finds the rows a claim and a drain read."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery import drain
from delivery.http import SendResult
from delivery.models import Attempt, Delivery, DeliveryStatus, WebhookHealth
from delivery.policy import RetryPolicy
from delivery.services import send_test
from delivery.signing_secrets import SigningSecrets
from delivery.tries import LOST_TRY_ERROR, SentTry, TryOutcome, claim_tries, record_tries
from subscriptions.services import create_webhook, delete_webhook, rotate_secret
from tests.support.builders import organization_with_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook():
    organization, membership = organization_with_admin()
    return create_webhook(organization, {"url": "http://127.0.0.1:9/hook",
                                         "triggers": ["TaskReady"]}, actor=membership.user)[0]


def _answered(claims, status_code: int):
    return [SentTry(claim, SendResult(status_code=status_code, duration_ms=3), {},
                    timezone.now()) for claim in claims]


def test_a_batch_is_claimed_once_and_recorded_with_one_attempt_each(webhook):
    policy = RetryPolicy.from_settings(settings)
    ids = [send_test(webhook).id for _ in range(3)]
    claims = claim_tries(ids, policy)
    assert sorted(c.delivery_id for c in claims) == sorted(ids)
    assert {(c.number, c.webhook_id) for c in claims} == {(1, webhook.id)}
    assert claim_tries(ids, policy) == []  # leased: not due again
    outcomes = record_tries(_answered(claims, 200), policy)
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.SUCCEEDED}
    assert Attempt.objects.filter(delivery__in=ids, response_status=200).count() == 3
    assert WebhookHealth.objects.get(webhook=webhook).last_success_date is not None


def test_a_delivery_deleted_during_its_try_keeps_no_record_and_the_others_are_kept(webhook):
    policy = RetryPolicy.from_settings(settings)
    kept, deleted = send_test(webhook).id, send_test(webhook).id
    claims = claim_tries([kept, deleted], policy)
    Delivery.objects.filter(pk=deleted).delete()
    outcomes = record_tries(_answered(claims, 200), policy)
    assert outcomes[kept].status == DeliveryStatus.SUCCEEDED
    assert Delivery.objects.get(pk=kept).status == DeliveryStatus.SUCCEEDED
    assert list(Attempt.objects.values_list("delivery_id", flat=True)) == [kept]


def test_a_webhook_deleted_during_a_try_records_the_answer_and_no_health(webhook):
    policy = RetryPolicy.from_settings(settings)
    succeeded, failed = send_test(webhook).id, send_test(webhook).id
    claims = {c.delivery_id: c for c in claim_tries([succeeded, failed], policy)}
    delete_webhook(webhook)  # cancels its pending deliveries, in flight or not
    record_tries(_answered([claims[succeeded]], 200), policy)
    outcome = record_tries(_answered([claims[failed]], 500), policy)[failed]
    # The answers that came are recorded as attempts; the 2xx tells that the receiver has the
    # event, and a failed try's delivery stays cancelled, with no retry scheduled.
    assert Delivery.objects.get(pk=succeeded).status == DeliveryStatus.SUCCEEDED
    assert outcome == TryOutcome(DeliveryStatus.CANCELLED)
    delivery = Delivery.objects.get(pk=failed)
    assert (delivery.status, delivery.next_try_at) == (DeliveryStatus.CANCELLED, None)
    assert Attempt.objects.filter(delivery__in=[succeeded, failed]).count() == 2
    assert not WebhookHealth.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
def test_claims_and_drains_find_deliveries_by_key_not_by_status(webhook):
    """Without statistics SQLite took an index led by status for these, reading every pending
    delivery of every webhook on each claim and drain."""
    ids = [send_test(webhook).id for _ in range(3)]
    statements = []

    def capture(execute, sql, params, many, context):
        if sql.startswith(("SELECT", "UPDATE")) and '"delivery_delivery"' in sql.split(
                "WHERE")[0]:
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        drain.due_first_tries(webhook.id, 25)
        claim_tries(ids, RetryPolicy.from_settings(settings))
    assert len(statements) == 3, statements  # the drain's read, the claim's read and UPDATE
    with connection.cursor() as cursor:
        for sql, params in statements:
            # With its parameters bound, as run: a literal status would let SQLite see through.
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = cursor.fetchall()[0][3]
            assert "(id=?)" in plan or "(webhook_id=?" in plan, (sql, plan)


def _lease_runs_out(delivery_id: str) -> None:
    # What the clock does to a try whose answer is late: its lease is over.
    Delivery.objects.filter(pk=delivery_id).update(
        next_try_at=timezone.now() - timedelta(seconds=1))


def test_a_late_answer_after_the_sweeper_took_the_try_for_lost_is_recorded(webhook):
    """Try 1 is answered after its lease ran out and try 2 was claimed: the 200 replaces the
    "lost" attempt, makes the delivery succeeded, raises nothing, and the other result of its
    batch is kept."""
    policy = RetryPolicy.from_settings(settings)
    late, other = send_test(webhook).id, send_test(webhook).id
    claims = {c.delivery_id: c for c in claim_tries([late, other], policy)}
    _lease_runs_out(late)
    (second,) = claim_tries([late], policy)
    assert second.number == 2
    assert Attempt.objects.get(delivery=late, number=1).error == LOST_TRY_ERROR
    outcomes = record_tries(_answered([claims[late], claims[other]], 200), policy)
    assert outcomes[late].status == outcomes[other].status == DeliveryStatus.SUCCEEDED
    first = Attempt.objects.get(delivery=late, number=1)
    assert (first.response_status, first.error) == (200, "")
    assert Delivery.objects.get(pk=other).status == DeliveryStatus.SUCCEEDED
    # Try 2's own answer, when it comes, is kept as well and changes nothing.
    record_tries(_answered([second], 200), policy)
    assert list(Attempt.objects.filter(delivery=late).values_list("number", "response_status")
                ) == [(1, 200), (2, 200)]
    assert Delivery.objects.get(pk=late).status == DeliveryStatus.SUCCEEDED


def test_a_late_failure_leaves_the_try_under_way_to_decide(webhook):
    policy = RetryPolicy.from_settings(settings)
    delivery_id = send_test(webhook).id
    (first,) = claim_tries([delivery_id], policy)
    _lease_runs_out(delivery_id)
    (second,) = claim_tries([delivery_id], policy)
    leased = Delivery.objects.get(pk=delivery_id)
    outcome = record_tries(_answered([first], 500), policy)[delivery_id]
    assert outcome == TryOutcome(DeliveryStatus.PENDING)  # no retry scheduled by it
    after = Delivery.objects.get(pk=delivery_id)
    assert (after.status, after.tries, after.next_try_at) == (
        DeliveryStatus.PENDING, 2, leased.next_try_at)
    assert Attempt.objects.get(delivery=delivery_id, number=1).response_status == 500
    outcome = record_tries(_answered([second], 503), policy)[delivery_id]
    assert outcome.retry_in is not None


def test_recording_the_same_answer_twice_keeps_one_attempt(webhook):
    policy = RetryPolicy.from_settings(settings)
    delivery_id = send_test(webhook).id
    claims = claim_tries([delivery_id], policy)
    record_tries(_answered(claims, 200), policy)
    record_tries(_answered(claims, 200), policy)
    assert Attempt.objects.filter(delivery=delivery_id).count() == 1


def test_a_claim_signs_with_the_secrets_of_the_webhooks_current_version(webhook):
    """A worker keeps a webhook's secrets between claims (delivery/signing_secrets.py): a
    rotation reaches the next claim, and an expired secret stops signing."""
    policy = RetryPolicy.from_settings(settings)
    first = list(webhook.secrets.values_list("secret", flat=True))
    assert claim_tries([send_test(webhook).id], policy)[0].secrets == first
    new = rotate_secret(webhook, grace_seconds=3600)
    assert claim_tries([send_test(webhook).id], policy)[0].secrets == [new, *first]
    newest = rotate_secret(webhook, grace_seconds=0)  # the others expire now
    assert claim_tries([send_test(webhook).id], policy)[0].secrets == [newest]


def test_kept_secrets_are_read_again_only_for_a_new_version(webhook):
    kept = SigningSecrets()
    now = timezone.now()
    version = {webhook.id: webhook.updated_date}
    with CaptureQueriesContext(connection) as reads:
        first = kept.signing(version, now)
        assert kept.signing(version, now) == first
        assert kept.signing(version, now + timedelta(days=1)) == first  # no expiry set
    assert len(reads) == 1
    rotate_secret(webhook, grace_seconds=60)
    with CaptureQueriesContext(connection) as reads:
        rotated = kept.signing({webhook.id: webhook.updated_date}, now)[webhook.id]
        later = kept.signing({webhook.id: webhook.updated_date},
                             now + timedelta(seconds=120))[webhook.id]
    assert len(reads) == 1
    assert rotated[1:] == first[webhook.id] and later == rotated[:1]


def test_kept_secrets_are_bounded():
    kept = SigningSecrets(max_webhooks=2)
    now = timezone.now()
    for webhook_id in ("a", "b", "c"):
        assert kept.signing({webhook_id: now}, now) == {webhook_id: []}
    with CaptureQueriesContext(connection) as reads:
        kept.signing({"b": now, "c": now}, now)
    assert not reads
    with CaptureQueriesContext(connection) as reads:
        kept.signing({"a": now}, now)
    assert len(reads) == 1
