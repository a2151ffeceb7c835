"""The only code that changes form responses: created InProgress, updated, submitted once.

Answers are {FormField id: value}, validated with workflows.values; required fields are only
enforced on submit, so a response can be filled in over several calls.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils import timezone

from kernel.domain_errors import DomainConflict
from kernel.outbox import domain_change
from workflows.models import Form, FormResponse, FormResponseStatus
from workflows.values import check_values, is_empty


def _answers(form: Form, answers: Mapping[str, object], current: Mapping[str, object]) -> dict:
    fields = {f.id: f for f in form.fields.all()}
    merged = dict(current)
    for field_id, value in check_values(fields, answers, form.organization).items():
        if value is None:
            merged.pop(field_id, None)
        else:
            merged[field_id] = value
    return merged


def _locked(response: FormResponse) -> FormResponse:
    current = FormResponse.objects.select_for_update().select_related("form").get(pk=response.pk)
    if current.status == FormResponseStatus.COMPLETED:
        raise DomainConflict(
            "The form response is already completed.", field="status", code="already_completed"
        )
    return current


@domain_change
def create_form_response(
    form: Form, answers: Mapping[str, object], *, actor
) -> FormResponse:
    response = FormResponse(
        form=form, status=FormResponseStatus.IN_PROGRESS, answers=_answers(form, answers, {}),
        created_by=actor,
    )
    response.save()
    return response


@domain_change
def update_form_response(
    response: FormResponse, answers: Mapping[str, object], *, actor
) -> FormResponse:
    """Merges the answers given (None clears one); a completed response cannot change."""
    current = _locked(response)
    merged = _answers(current.form, answers, current.answers)
    if merged != current.answers:
        current.answers = merged
        current.save(update_fields=["answers", "updated_date"])
    return current


@domain_change
def submit_form_response(response: FormResponse, *, actor) -> FormResponse:
    current = _locked(response)
    missing = {
        field.id: "This field is required."
        for field in current.form.fields.all()
        if field.required and is_empty(current.answers.get(field.id))
    }
    if missing:
        raise ValidationError(missing)
    current.status = FormResponseStatus.COMPLETED
    current.completed_date = timezone.now()
    current.completed_by = actor
    current.save(update_fields=["status", "completed_date", "completed_by", "updated_date"])
    return current
