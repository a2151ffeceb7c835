"""Waiting on what a real worker does."""

import time

from delivery.models import Delivery


def wait_for_delivery(delivery_id: str, status: str, timeout: float = 30.0) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = Delivery.objects.get(pk=delivery_id)
        if delivery.status == status:
            return delivery
        time.sleep(0.1)
    delivery = Delivery.objects.get(pk=delivery_id)
    raise AssertionError(
        f"delivery {delivery_id} is {delivery.status} after {delivery.tries} tries "
        f"({delivery.last_error!r}), expected {status}"
    )
