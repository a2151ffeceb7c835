"""What a change to a webhook means for its deliveries is decided above this app (delivery
imports subscriptions, not the other way): these signals, sent inside the change's transaction,
are received by delivery/receivers.py."""

from django.dispatch import Signal

# Sent with `webhook` just before it is deleted: its pending deliveries are cancelled.
webhook_deleting = Signal()

# Sent with `webhook` once an update has turned its ordered delivery off: the deliveries held
# for their turn go now, as any other.
ordered_delivery_turned_off = Signal()
