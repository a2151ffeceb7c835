"""Pagination for every API list: ?page= and ?limit=, with links and the total."""

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


def _positive_int(request, name: str, maximum: int | None = None) -> int | None:
    """The query parameter `name` as an integer from 1 (to `maximum`), None if absent; a 400
    naming it otherwise (DRF would ignore a bad `limit` and give the default page size)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    bound = f" to {maximum}" if maximum else ""
    try:
        value = int(raw) if raw.strip().lstrip("+").isdigit() else None
    except ValueError:
        value = None
    if value is None or value < 1 or (maximum is not None and value > maximum):
        raise exceptions.ValidationError({name: f"Enter a whole number from 1{bound}."})
    return value


class Pagination(PageNumberPagination):
    """?page= and ?limit= (1 to 200): a value of the wrong type or range is a 400 naming it; a
    page past the last is 404."""

    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        return _positive_int(request, self.page_size_query_param, self.max_page_size) or (
            self.page_size
        )

    def get_page_number(self, request, paginator):
        number = _positive_int(request, self.page_query_param)
        return number if number is not None else 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
                )
        return parameters

    def get_paginated_response(self, data):
        return Response(
            {
                "data": data,
                "links": {"next": self.get_next_link(), "previous": self.get_previous_link()},
                "total": self.page.paginator.count,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "links", "total"],
            "properties": {
                "data": schema,
                "links": {
                    "type": "object",
                    "properties": {
                        "next": {"type": "string", "nullable": True, "format": "uri"},
                        "previous": {"type": "string", "nullable": True, "format": "uri"},
                    },
                },
                "total": {"type": "integer"},
            },
        }
