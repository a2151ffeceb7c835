"""The operator commands: replay, prune, rotate_secret."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from delivery.models import Attempt, Delivery, DeliveryStatus
from events.models import Event
from subscriptions.models import Webhook, WebhookSecret, WebhookStatus
from tests.support.builders import organization_with_admin

pytestmark = pytest.mark.django_db
START = timezone.now().replace(microsecond=0) - timedelta(days=2)


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def organization():
    return organization_with_admin()[0]


def make_webhook(organization, status=WebhookStatus.ACTIVE) -> Webhook:
    webhook = Webhook.objects.create(organization=organization, url="https://receiver.example/",
                                     triggers=["TaskReady"], status=status)
    WebhookSecret.objects.create(webhook=webhook, secret="whsec_" + "A" * 44)
    return webhook


def failed(webhook, minutes: int, status=DeliveryStatus.FAILED) -> Delivery:
    event = Event.objects.create(organization=webhook.organization, type="TaskReady",
                                 created_date=START + timedelta(minutes=minutes), body="{}")
    return Delivery.objects.create(event=event, webhook=webhook, url=webhook.url, status=status,
                                   organization=webhook.organization, tries=3)


def test_replay_redelivers_failed_deliveries_of_the_window_in_event_order(organization):
    webhook = make_webhook(organization)
    # Created out of order; the window is [10, 60) minutes; batches of 2 (test settings).
    originals = [failed(webhook, m) for m in (50, 10, 30, 20, 40)]
    outside = [failed(webhook, 5), failed(webhook, 60)]
    failed(webhook, 25, status=DeliveryStatus.SUCCEEDED)
    since, until = START + timedelta(minutes=10), START + timedelta(minutes=60)

    out, _ = run("replay", "--since", since.isoformat(), "--until", until.isoformat(),
                 "--dry-run")
    assert "Would redeliver 5 failed deliveries" in out
    assert not Delivery.objects.filter(redelivery_of__isnull=False).exists()

    out, _ = run("replay", "--since", since.isoformat(), "--until", until.isoformat())
    assert "Redelivered 5 failed deliveries" in out
    new = list(Delivery.objects.filter(redelivery_of__isnull=False).order_by("created_date",
                                                                              "pk"))
    assert sorted(d.redelivery_of_id for d in new) == sorted(d.pk for d in originals)
    minutes = [int((d.event.created_date - START).total_seconds() // 60) for d in new]
    assert minutes == sorted(minutes) == [10, 20, 30, 40, 50]
    assert all(d.status == DeliveryStatus.PENDING and d.tries == 0 for d in new)
    assert all(not d.redeliveries.exists() for d in outside)

    out, _ = run("replay", "--since", since.isoformat(), "--until", until.isoformat())
    assert "Redelivered 0 failed deliveries" in out


def test_replay_by_webhook_and_disabled_webhooks(organization):
    mine, other = make_webhook(organization), make_webhook(organization)
    disabled = make_webhook(organization, status=WebhookStatus.DISABLED)
    for webhook in (mine, other, disabled):
        failed(webhook, 1)
    since = START.date().isoformat()
    out, _ = run("replay", "--since", since, f"--webhook={mine.pk}")
    assert "Redelivered 1 failed deliveries" in out
    assert Delivery.objects.filter(redelivery_of__webhook=mine).count() == 1
    out, _ = run("replay", "--since", since)
    assert "Redelivered 1 failed deliveries" in out  # other's; the disabled one is left
    assert not Delivery.objects.filter(redelivery_of__webhook=disabled).exists()
    with pytest.raises(CommandError, match="disabled"):
        run("replay", "--since", since, f"--webhook={disabled.pk}")
    with pytest.raises(CommandError, match="No webhook"):
        run("replay", "--since", since, "--webhook", "nope")
    with pytest.raises(CommandError, match="ISO-8601"):
        run("replay", "--since", "yesterday")
    with pytest.raises(CommandError, match="after"):
        run("replay", "--since", "2025-02-01", "--until", "2025-01-01")


def test_prune_deletes_what_is_past_retention(organization, settings):
    settings.WEBHOOK_RETENTION_SUCCEEDED_DAYS, settings.WEBHOOK_RETENTION_FAILED_DAYS = 14, 60
    webhook = make_webhook(organization)
    now = timezone.now()

    def finished(status, days_ago):
        delivery = failed(webhook, 0, status=status)
        Delivery.objects.filter(pk=delivery.pk).update(completed_date=now - timedelta(days_ago))
        Attempt.objects.create(delivery=delivery, number=1, started_at=now)
        return delivery

    old_ok = [finished(DeliveryStatus.SUCCEEDED, 20) for _ in range(5)]
    kept = [finished(DeliveryStatus.SUCCEEDED, 1), finished(DeliveryStatus.FAILED, 20)]
    old_failed = finished(DeliveryStatus.FAILED, 90)
    Event.objects.filter(pk__in=[d.event_id for d in old_ok + [old_failed]]).update(
        created_date=now - timedelta(days=100))

    out, _ = run("prune")
    assert "Pruned 5 succeeded and 1 failed or cancelled deliveries, and 6 events." in out
    assert set(Delivery.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert Attempt.objects.count() == 2
    out, _ = run("prune")
    assert "Pruned 0 succeeded" in out


def test_rotate_secret_prints_the_new_secret_once(organization):
    webhook = make_webhook(organization)
    out, err = run("rotate_secret", "--grace", "600", "--", webhook.pk)
    secret = out.strip()
    assert secret.startswith("whsec_") and secret != "whsec_" + "A" * 44
    assert "600 seconds" in err and secret not in err
    secrets = {s.secret: s.expires_date for s in webhook.secrets.all()}
    assert secrets[secret] is None
    old_expiry = secrets["whsec_" + "A" * 44]
    assert timedelta(seconds=590) < old_expiry - timezone.now() <= timedelta(seconds=600)
    with pytest.raises(CommandError, match="No webhook"):
        run("rotate_secret", "missing")


def test_recover_in_the_background_goes_batch_by_batch_in_event_order(
        organization, monkeypatch, django_capture_on_commit_callbacks):
    from delivery import recovery, tasks

    webhook = make_webhook(organization)
    originals = [failed(webhook, m) for m in (50, 10, 30, 20, 40)]
    since = START
    queued = []
    monkeypatch.setattr(recovery, "_queue_batch", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.start_recovery(webhook, since) == 5
    counts = []
    while queued:  # each batch queues the next when it commits (batches of 2 in test settings)
        args = queued.pop()
        with django_capture_on_commit_callbacks(execute=True):
            counts.append(tasks.recover_deliveries(*args))
    assert counts == [2, 2, 1]
    new = Delivery.objects.filter(redelivery_of__isnull=False).order_by("created_date", "pk")
    assert sorted(d.redelivery_of_id for d in new) == sorted(d.pk for d in originals)
    assert recovery.preview_recovery(webhook, since) == 0


def test_a_batch_of_a_webhook_disabled_meanwhile_redelivers_nothing(organization):
    from delivery.recovery import redeliver_failed_batch

    webhook = make_webhook(organization)
    for minutes in (1, 2, 3):
        failed(webhook, minutes)
    Webhook.objects.filter(pk=webhook.pk).update(status=WebhookStatus.DISABLED)
    batch = redeliver_failed_batch(webhook.pk, START, None)
    assert (batch.redelivered, batch.skipped, batch.after) == (0, 3, None)
    assert not Delivery.objects.filter(redelivery_of__isnull=False).exists()
