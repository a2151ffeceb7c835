"""django-filter's backend, strict about empty query parameters.

django-filter reads `?until=` as "no filter", so a client that sent an empty date (a bug on its
side) gets the whole list as if it had asked for it. The schema says each filter is a value of
its type; an empty one is a 400 naming the parameter, like any other wrong value.
"""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            empty = {
                name: "Give a value, or leave the parameter out."
                for name in filterset.filters
                if name in request.query_params and not request.query_params[name].strip()
            }
            if empty:
                raise ValidationError(empty)
        return filterset
