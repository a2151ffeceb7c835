"""Waiting on what a real worker does, and small builders for delivery tests."""

import time

from accounts.models import Role
from accounts.services import add_member, create_organization
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


def org_with_admin(name: str = "Acme"):
    organization = create_organization(name)
    membership = add_member(organization, f"admin@{name.lower()}.test", Role.ADMIN)
    return organization, membership
