"""Data sets (read-only) and their records (read and write), for Admin and Member.

Guests get 403 here; everything is scoped to the caller's organization (another organization's
id is 404). Records change only through datasets.services.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.serializers import service_errors
from accounts.tenancy import OrganizationScoped
from accounts.views import AdminsAndMembers
from datasets.models import DataSet, DataSetRecord
from datasets.serializers import (
    DataSetRecordSerializer,
    DataSetRecordWriteSerializer,
    DataSetSerializer,
)


def _services():
    from datasets import services

    return services


@extend_schema_view(
    list=extend_schema(summary="List data sets"),
    retrieve=extend_schema(summary="Get a data set with its fields"),
)
class DataSetViewSet(OrganizationScoped, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AdminsAndMembers]
    serializer_class = DataSetSerializer
    queryset = DataSet.objects.none()

    def get_queryset(self):
        return self.scope(DataSet.objects.prefetch_related("fields").order_by("name", "id"))


DATA_SET_ID = OpenApiParameter(
    "data_set_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Data set id"
)
RECORD_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Record id")
WRITE = {"request": DataSetRecordWriteSerializer, "responses": {200: DataSetRecordSerializer}}


@extend_schema(parameters=[DATA_SET_ID])
@extend_schema_view(
    list=extend_schema(summary="List a data set's records"),
    retrieve=extend_schema(summary="Get a record", parameters=[RECORD_ID]),
    update=extend_schema(
        summary="Replace a record's cells (cells not named become empty)",
        parameters=[RECORD_ID], **WRITE,
    ),
    partial_update=extend_schema(
        summary="Change some of a record's cells", parameters=[RECORD_ID], **WRITE
    ),
    destroy=extend_schema(summary="Delete a record", parameters=[RECORD_ID], responses={204: None}),
)
class DataSetRecordViewSet(
    OrganizationScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [AdminsAndMembers]
    serializer_class = DataSetRecordSerializer
    queryset = DataSetRecord.objects.none()

    def get_data_set(self) -> DataSet:
        if not hasattr(self, "_data_set"):
            self._data_set = get_object_or_404(
                self.scope(DataSet.objects.prefetch_related("fields")),
                pk=self.kwargs["data_set_id"],
            )
        return self._data_set

    def get_queryset(self):
        return (
            DataSetRecord.objects.filter(data_set=self.get_data_set())
            .select_related("created_by", "updated_by")
            .order_by("created_date", "id")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "data_set_id" in self.kwargs:
            context["fields"] = list(self.get_data_set().fields.all())
        return context

    def _cells(self, request, partial: bool = False) -> tuple[dict, set[str]]:
        body = DataSetRecordWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        # PATCH without cells changes nothing, as PATCH {} does everywhere else.
        cells = body.validated_data.get("cells", {})
        known = {field.id for field in self.get_data_set().fields.all()}
        unknown = {key: ["Unknown field of this data set."] for key in cells if key not in known}
        if unknown:
            raise serializers.ValidationError({"cells": unknown})
        return cells, known

    def _respond(self, record, code=status.HTTP_200_OK):
        record = self.get_queryset().get(pk=record.pk)
        return Response(
            DataSetRecordSerializer(record, context=self.get_serializer_context()).data,
            status=code,
        )

    @extend_schema(
        summary="Create a record",
        request=DataSetRecordWriteSerializer,
        responses={201: DataSetRecordSerializer},
    )
    def create(self, request, data_set_id=None):
        cells, known = self._cells(request)
        with service_errors(nest={"cells": known}):
            record = _services().create_record(self.get_data_set(), cells, actor=request.user)
        return self._respond(record, status.HTTP_201_CREATED)

    def update(self, request, data_set_id=None, pk=None, partial=False):
        record = self.get_object()
        cells, known = self._cells(request, partial)
        if partial:
            cells = {**record.cells, **cells}
        else:
            cells = {field_id: cells.get(field_id) for field_id in known}
        with service_errors(nest={"cells": known}):
            _services().update_record(record, cells, actor=request.user)
        return self._respond(record)

    def partial_update(self, request, data_set_id=None, pk=None):
        return self.update(request, data_set_id=data_set_id, pk=pk, partial=True)

    def destroy(self, request, data_set_id=None, pk=None):
        record = self.get_object()
        with service_errors():
            _services().delete_record(record, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
