"""Admin for data sets (with their fields) and records, scoped to the organizations one
administers. Records are created, changed and deleted through datasets.services, so the same
events fire as through the API."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.admin import AuditedAdmin
from accounts.admin_scoping import OrganizationScopedAdmin, OrganizationScopedInlineMixin
from datasets.models import DataSet, DataSetField, DataSetRecord
from workflows.values import FieldValueError


def _services():
    from datasets import services

    return services


class DataSetFieldInline(OrganizationScopedInlineMixin, admin.TabularInline):
    model = DataSetField
    extra = 0
    fields = ["order", "name", "field_type"]


@admin.register(DataSet)
class DataSetAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "field_count", "record_count", "updated_date"]
    list_filter = ["organization"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_date", "updated_date"]
    inlines = [DataSetFieldInline]

    @admin.display(description="fields")
    def field_count(self, obj):
        return obj.fields.count()

    @admin.display(description="records")
    def record_count(self, obj):
        return obj.records.count()


class DataSetRecordForm(forms.ModelForm):
    class Meta:
        model = DataSetRecord
        fields = ["data_set", "cells"]
        help_texts = {"cells": "An object of {field id: value}; null or \"\" empties a cell."}

    def clean(self):
        cleaned = super().clean()
        data_set = cleaned.get("data_set") or getattr(self.instance, "data_set", None)
        cells = cleaned.get("cells")
        if data_set is None or cells is None:
            return cleaned
        if not isinstance(cells, dict):
            raise ValidationError({"cells": "Enter an object of {field id: value}."})
        fields = {field.id: field for field in data_set.fields.all()}
        errors = []
        for field_id, value in cells.items():
            field = fields.get(field_id)
            if field is None:
                errors.append(f"{field_id}: unknown field of this data set.")
                continue
            try:
                _services().normalize_cell(field.field_type, value)
            except FieldValueError as error:
                errors.append(f"{field.name}: {error}")
        if errors:
            raise ValidationError({"cells": errors})
        return cleaned


@admin.register(DataSetRecord)
class DataSetRecordAdmin(AuditedAdmin, OrganizationScopedAdmin):
    form = DataSetRecordForm
    list_display = ["id", "data_set", "created_date", "updated_date", "updated_by"]
    list_filter = ["data_set__organization", "data_set"]
    search_fields = ["id", "data_set__name"]
    list_select_related = ["data_set", "updated_by"]
    readonly_fields = ["id", *AuditedAdmin.AUDIT_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "data_set"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        cells = form.cleaned_data.get("cells") or {}
        services = _services()
        if change:
            current = DataSetRecord.objects.get(pk=obj.pk).cells
            # The form holds the whole record: cells left out of it are emptied.
            changes = {**{key: None for key in current}, **cells}
            services.update_record(obj, changes, actor=request.user)
        else:
            record = services.create_record(obj.data_set, cells, actor=request.user)
            obj.pk = record.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        _services().delete_record(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for record in queryset:
            _services().delete_record(record, actor=request.user)

