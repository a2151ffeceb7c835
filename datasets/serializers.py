"""Data sets and their records in Process Street's shapes: cells as `[{fieldId, value}]`."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuditSerializer, IsoDateTimeField
from api.strict_fields import StrictTypesMixin
from datasets.models import DataSet, DataSetField, DataSetRecord


class DataSetFieldSerializer(serializers.ModelSerializer):
    fieldType = serializers.CharField(source="field_type")

    class Meta:
        model = DataSetField
        fields = ["id", "name", "fieldType"]


class DataSetSerializer(serializers.ModelSerializer):
    createdDate = IsoDateTimeField(source="created_date", read_only=True)
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    fields = DataSetFieldSerializer(many=True, read_only=True)

    class Meta:
        model = DataSet
        fields = ["id", "name", "createdDate", "updatedDate", "fields"]


class CellSerializer(serializers.Serializer):
    fieldId = serializers.CharField()
    value = serializers.JSONField(allow_null=True)


class DataSetRecordSerializer(AuditSerializer, serializers.ModelSerializer):
    dataSetId = serializers.CharField(source="data_set_id", read_only=True)
    cells = serializers.SerializerMethodField()

    class Meta:
        model = DataSetRecord
        fields = [
            "id", "dataSetId", "cells", "createdDate", "createdBy", "updatedDate", "updatedBy",
        ]
        read_only_fields = fields

    @extend_schema_field(CellSerializer(many=True))
    def get_cells(self, obj) -> list:
        """Every field of the data set in its order, null where the record has no value."""
        fields = self.context.get("fields")
        if fields is None:
            fields = list(obj.data_set.fields.all())
        return [{"fieldId": field.id, "value": obj.cells.get(field.id)} for field in fields]


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"fieldId": {"type": "string"}, "value": {}},
                    "required": ["fieldId", "value"],
                },
            },
            {"type": "object", "additionalProperties": True},
        ]
    }
)
class CellsField(serializers.Field):
    """`[{fieldId, value}]`, or a `{fieldId: value}` object; becomes `{fieldId: value}`."""

    default_error_messages = {
        "invalid": "Expected a list of {{fieldId, value}} or an object of {{fieldId: value}}."
    }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            return dict(data)
        if not isinstance(data, list):
            self.fail("invalid")
        cells = {}
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("fieldId"), str):
                self.fail("invalid")
            if "value" not in item:
                self.fail("invalid")
            cells[item["fieldId"]] = item["value"]
        return cells

    def to_representation(self, value):
        return [{"fieldId": key, "value": cell} for key, cell in value.items()]


class DataSetRecordWriteSerializer(StrictTypesMixin, serializers.Serializer):
    """`{"cells": [...]}`; a bare `{fieldId: value}` object as the whole body is accepted too."""

    cells = CellsField()

    def to_internal_value(self, data):
        if isinstance(data, dict) and data and "cells" not in data:
            data = {"cells": dict(data)}
        return super().to_internal_value(data)


