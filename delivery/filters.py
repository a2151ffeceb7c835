import django_filters

from delivery.models import Delivery, DeliveryStatus
from events.models import Event


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    type = django_filters.CharFilter(field_name="event__type")
    webhookId = django_filters.CharFilter(field_name="webhook_id")
    eventId = django_filters.CharFilter(field_name="event_id")
    since = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="lt")

    class Meta:
        model = Delivery
        fields: list[str] = []


class EventFilter(django_filters.FilterSet):
    type = django_filters.CharFilter(field_name="type")
    since = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="lt")
    runId = django_filters.CharFilter(field_name="run_id")

    class Meta:
        model = Event
        fields: list[str] = []
