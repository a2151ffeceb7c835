"""A webhook's rate limit holds across worker processes, and waiting uses up no try."""

from collections import Counter

import pytest
from django.db import transaction

from delivery.models import Delivery, DeliveryStatus
from delivery.writer import write_events
from kernel.outbox import PendingEvent
from subscriptions.services import create_webhook
from tests.support.builders import organization_with_admin
from tests.support.receiver import Receiver

pytestmark = pytest.mark.integration


def test_two_workers_keep_a_webhook_under_its_rate_and_deliver_everything(stack):
    rate, count = 20, 500
    with Receiver() as receiver:
        organization, _ = organization_with_admin()
        webhook, _ = create_webhook(organization, {
            "url": receiver.url, "triggers": ["DataSetRecordCreated"], "rate_limit": rate})
        stack.worker()
        stack.worker()
        stack.beat()
        with transaction.atomic():
            write_events([PendingEvent(organization.id, "DataSetRecordCreated", data={"n": n})
                          for n in range(count)])
        requests = receiver.wait_for(count, timeout=count / rate + 60)
    assert len({r.headers["webhook-id"] for r in requests}) == count
    arrived = sorted(r.arrived for r in requests)
    # In any one-second window (sliding), at most the rate, with a tolerance of 10%: a try
    # that starts late, behind a shared claim, can fall into a later window.
    busiest = max(sum(1 for t in arrived[i:i + rate + 5] if t < start + 1.0)
                  for i, start in enumerate(arrived))
    assert busiest <= rate + 2, busiest
    deliveries = Delivery.objects.filter(webhook=webhook)
    assert Counter(deliveries.values_list("status", "tries")) == {
        (DeliveryStatus.SUCCEEDED, 1): count}
