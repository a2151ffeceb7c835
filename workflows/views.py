"""Workflows, workflow runs (with their tasks, form fields and approvals) and forms.

Permission rules (see accounts.views for the whole API):
- Workflows and forms: Admin and Member read; Guests get 403. Workflows are read-only here;
  form responses are written by Admin and Member.
- Runs: Admin and Member read every run of the organization and write (start, check tasks, set
  form fields, approve, complete, migrate, archive). A Guest reads only the runs they are an
  assignee of (lists are filtered, any other run is 404) with their tasks, form fields and
  approvals, and never writes (403).
- Everything is scoped to the caller's organization: another organization's id is 404.

Views never write these models: every change goes through workflows.services or
workflows.form_services, whose errors are re-raised with the API's field names.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Membership, Role
from accounts.permissions import HasRole
from accounts.serializers import service_errors
from accounts.tenancy import OrganizationScoped
from accounts.views import AdminsAndMembers
from workflows.models import (
    Form,
    FormResponse,
    RunStatus,
    Task,
    TaskStatus,
    TaskType,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)
from workflows.serializers import (
    ApprovalCreateSerializer,
    ApprovalSerializer,
    FormFieldsSerializer,
    FormFieldsUpdateSerializer,
    FormResponseCreateSerializer,
    FormResponseSerializer,
    FormResponseUpdateSerializer,
    FormSerializer,
    MigrateRunSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    WorkflowRunCreateSerializer,
    WorkflowRunSerializer,
    WorkflowSerializer,
)

UNKNOWN_FIELD = "Unknown form field."


def _services():
    from workflows import services

    return services


def _form_services():
    from workflows import form_services

    return form_services


def _bad_request(field: str, message) -> serializers.ValidationError:
    return serializers.ValidationError({field: message if isinstance(message, dict) else [message]})


class RunReaders(HasRole):
    """Every role reads (Guests only their assigned runs, by queryset); Admin and Member write."""

    message = "Guests may only read the runs they are assigned to."


# ---------------------------------------------------------------------------------------------
# Workflows


@extend_schema_view(
    list=extend_schema(summary="List workflows"),
    retrieve=extend_schema(summary="Get a workflow with its latest version's tasks and fields"),
)
class WorkflowViewSet(OrganizationScoped, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AdminsAndMembers]
    serializer_class = WorkflowSerializer
    queryset = Workflow.objects.none()

    def get_queryset(self):
        return self.scope(Workflow.objects.prefetch_related("versions").order_by("name", "id"))


# ---------------------------------------------------------------------------------------------
# Runs


class RunFilter(filters.FilterSet):
    workflowId = filters.CharFilter(field_name="workflow_id", label="Workflow id")
    status = filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = WorkflowRun
        fields = ["workflowId", "status"]


def visible_runs(view):
    """The caller's organization's runs; for a Guest, only those they are assigned to."""
    runs = view.scope(WorkflowRun.objects.all())
    membership = view.membership
    if membership is not None and membership.role == Role.GUEST:
        runs = runs.filter(assignees=membership)
    return runs


def run_with_details(queryset):
    return queryset.select_related(
        "workflow", "created_by", "updated_by", "completed_by"
    ).prefetch_related(
        "assignees__user",
        "tasks__template", "tasks__updated_by", "tasks__completed_by",
        "field_values__template", "field_values__updated_by",
    )


@extend_schema_view(
    list=extend_schema(summary="List workflow runs"),
    retrieve=extend_schema(summary="Get a workflow run with its tasks and form fields"),
)
class WorkflowRunViewSet(
    OrganizationScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [RunReaders]
    serializer_class = WorkflowRunSerializer
    filterset_class = RunFilter
    queryset = WorkflowRun.objects.none()

    def get_queryset(self):
        return run_with_details(visible_runs(self)).order_by("-created_date", "id")

    def _respond(self, run, code=status.HTTP_200_OK):
        run = get_object_or_404(run_with_details(WorkflowRun.objects.all()), pk=run.pk)
        return Response(WorkflowRunSerializer(run).data, status=code)

    @extend_schema(
        summary="Start a workflow run",
        request=WorkflowRunCreateSerializer,
        responses={201: WorkflowRunSerializer},
    )
    def create(self, request):
        body = WorkflowRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workflow = self.scope(Workflow.objects.all()).filter(pk=data["workflowId"]).first()
        if workflow is None:
            raise _bad_request("workflowId", "Unknown workflow.")
        version = workflow.latest_version()
        if version is None:
            raise _bad_request("workflowId", "The workflow has no finished version to run.")
        field_values = data.get("formFields") or {}
        known_fields = set(version.field_templates.values_list("id", flat=True))
        unknown = {key: [UNKNOWN_FIELD] for key in field_values if key not in known_fields}
        if unknown:
            raise _bad_request("formFields", unknown)
        emails = data.get("assignees") or []
        members = {
            email.lower()
            for email in self.scope(Membership.objects.all())
            .values_list("user__email", flat=True)
        }
        missing = [email for email in emails if email.lower() not in members]
        if missing:
            raise _bad_request(
                "assignees", f"Not members of the organization: {', '.join(missing)}"
            )
        with service_errors(
            {"assignee_emails": "assignees", "field_values": "formFields", "version": "workflowId",
             "workflow": "workflowId"},
            nest={"formFields": known_fields},
        ):
            run = _services().start_run(
                workflow,
                actor=request.user,
                name=data.get("name") or None,
                due_date=data.get("dueDate"),
                shared=data.get("shared", False),
                assignee_emails=tuple(emails),
                runner=self.membership,
                field_values=field_values or None,
            )
        return self._respond(run, status.HTTP_201_CREATED)

    @extend_schema(summary="Complete a workflow run", request=None,
                   responses={200: WorkflowRunSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        run = self.get_object()
        field_ids = set(run.field_values.values_list("template_id", flat=True))
        with service_errors(nest={"formFields": field_ids}):
            _services().complete_run(run, actor=request.user)
        return self._respond(run)

    @extend_schema(summary="Archive a workflow run", request=None,
                   responses={200: WorkflowRunSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        run = self.get_object()
        with service_errors():
            _services().archive_run(run, actor=request.user)
        return self._respond(run)

    @extend_schema(
        summary="Migrate a workflow run to another version of its workflow",
        request=MigrateRunSerializer,
        responses={200: WorkflowRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def migrate(self, request, pk=None):
        run = self.get_object()
        body = MigrateRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version_id = body.validated_data.get("versionId")
        if version_id:
            version = WorkflowVersion.objects.filter(pk=version_id, workflow=run.workflow).first()
            if version is None:
                raise _bad_request("versionId", "Unknown version of this run's workflow.")
        else:
            version = run.workflow.latest_version()
            if version is None:
                raise _bad_request("versionId", "The workflow has no finished version.")
        with service_errors({"version": "versionId"}):
            _services().migrate_run_to_version(run, version, actor=request.user)
        return self._respond(run)

    # -- form fields ---------------------------------------------------------------------------

    @extend_schema(methods=["GET"], summary="Get a run's form fields",
                   responses={200: FormFieldsSerializer})
    @extend_schema(
        methods=["PUT"],
        summary="Set form field values (fields not named keep their values)",
        request=FormFieldsUpdateSerializer,
        responses={200: FormFieldsSerializer},
    )
    @action(detail=True, methods=["get", "put"], url_path="form-fields")
    def form_fields(self, request, pk=None):
        run = self.get_object()
        if request.method == "PUT":
            body = FormFieldsUpdateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            # A field is addressed by its form field id (a value's own id is accepted too).
            by_id = {}
            for field_value in run.field_values.all():
                by_id[field_value.template_id] = field_value.template_id
                by_id[field_value.id] = field_value.template_id
            values, unknown = {}, {}
            for item in body.validated_data["fields"]:
                if item["id"] in by_id:
                    values[by_id[item["id"]]] = item["value"]
                else:
                    unknown[item["id"]] = [UNKNOWN_FIELD]
            if unknown:
                raise _bad_request("fields", unknown)
            with service_errors({"values": "fields"}, nest={"fields": set(by_id.values())}):
                _services().set_form_fields(run, values, actor=request.user)
        field_values = run.field_values.select_related("template", "updated_by").all()
        return Response(FormFieldsSerializer({"fields": field_values}).data)

    # -- approvals -----------------------------------------------------------------------------

    @extend_schema(methods=["GET"], summary="List a run's approvals",
                   responses={200: ApprovalSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        summary="Approve or reject subject tasks of an approval task",
        request=ApprovalCreateSerializer,
        responses={201: ApprovalSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def approvals(self, request, pk=None):
        run = self.get_object()
        if request.method == "POST":
            return self._review(request, run)
        approvals = run.approvals.select_related("reviewed_by").order_by("created_date", "id")
        return Response(ApprovalSerializer(approvals, many=True).data)

    def _review(self, request, run):
        body = ApprovalCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        approval_task = run.tasks.filter(pk=data["approvalTaskId"]).first()
        if approval_task is None:
            raise _bad_request("approvalTaskId", "Unknown task of this run.")
        if approval_task.task_type != TaskType.APPROVAL:
            raise _bad_request("approvalTaskId", "Not an approval task.")
        subject_task = None
        if data.get("subjectTaskId"):
            subject_task = run.tasks.filter(pk=data["subjectTaskId"]).first()
            if subject_task is None:
                raise _bad_request("subjectTaskId", "Unknown task of this run.")
        before = set(run.approvals.values_list("id", flat=True))
        review = _services().approve if data["status"] == "Approved" else _services().reject
        with service_errors({
            "approval_task": "approvalTaskId", "approvalTask": "approvalTaskId",
            "task": "approvalTaskId",
            "subject_task": "subjectTaskId", "subjectTask": "subjectTaskId",
        }):
            review(
                approval_task, actor=request.user, subject_task=subject_task,
                comment=data.get("comment", ""),
            )
        created = (
            run.approvals.exclude(id__in=before)
            .select_related("reviewed_by")
            .order_by("created_date", "id")
        )
        return Response(ApprovalSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


RUN_ID = OpenApiParameter("run_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Run id")
TASK_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Task id")


@extend_schema(parameters=[RUN_ID])
@extend_schema_view(
    list=extend_schema(summary="List a run's tasks"),
    retrieve=extend_schema(summary="Get a task", parameters=[TASK_ID]),
    update=extend_schema(
        summary="Check or uncheck a task", request=TaskUpdateSerializer,
        responses={200: TaskSerializer}, parameters=[TASK_ID],
    ),
    partial_update=extend_schema(
        summary="Check or uncheck a task", request=TaskUpdateSerializer,
        responses={200: TaskSerializer}, parameters=[TASK_ID],
    ),
)
class RunTaskViewSet(
    OrganizationScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [RunReaders]
    serializer_class = TaskSerializer
    queryset = Task.objects.none()

    def get_run(self) -> WorkflowRun:
        if not hasattr(self, "_run"):
            self._run = get_object_or_404(visible_runs(self), pk=self.kwargs["run_id"])
        return self._run

    def get_queryset(self):
        return (
            Task.objects.filter(run=self.get_run())
            .select_related("template", "updated_by", "completed_by")
            .order_by("order", "id")
        )

    def update(self, request, run_id=None, pk=None, partial=False):
        task = self.get_object()
        body = TaskUpdateSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        # PATCH without a status changes nothing, as PATCH {} does everywhere else.
        wanted = body.validated_data.get("status", task.status)
        if wanted != task.status:
            services = _services()
            with service_errors():
                if wanted == TaskStatus.COMPLETED:
                    services.check_task(task, actor=request.user)
                else:
                    services.uncheck_task(task, actor=request.user)
        task = self.get_queryset().get(pk=task.pk)
        return Response(TaskSerializer(task).data)

    def partial_update(self, request, run_id=None, pk=None):
        return self.update(request, run_id=run_id, pk=pk, partial=True)


# ---------------------------------------------------------------------------------------------
# Forms


@extend_schema_view(
    list=extend_schema(summary="List forms"),
    retrieve=extend_schema(summary="Get a form with its fields"),
)
class FormViewSet(OrganizationScoped, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AdminsAndMembers]
    serializer_class = FormSerializer
    queryset = Form.objects.none()

    def get_queryset(self):
        return self.scope(Form.objects.prefetch_related("fields").order_by("name", "id"))


FORM_ID = OpenApiParameter(
    "form_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Form id"
)
RESPONSE_ID = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Form response id"
)


@extend_schema(parameters=[FORM_ID])
@extend_schema_view(
    list=extend_schema(summary="List a form's responses"),
    retrieve=extend_schema(summary="Get a form response", parameters=[RESPONSE_ID]),
)
class FormResponseViewSet(
    OrganizationScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [AdminsAndMembers]
    serializer_class = FormResponseSerializer
    queryset = FormResponse.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_form(self) -> Form:
        if not hasattr(self, "_form"):
            self._form = get_object_or_404(
                self.scope(Form.objects.prefetch_related("fields")), pk=self.kwargs["form_id"]
            )
        return self._form

    def get_queryset(self):
        return (
            FormResponse.objects.filter(form=self.get_form())
            .select_related("created_by", "completed_by")
            .order_by("-created_date", "id")
        )

    def _check_answers(self, answers: dict) -> set[str]:
        known = {field.id for field in self.get_form().fields.all()}
        unknown = {key: [UNKNOWN_FIELD] for key in answers if key not in known}
        if unknown:
            raise _bad_request("answers", unknown)
        return known

    def _respond(self, response, code=status.HTTP_200_OK):
        return Response(
            FormResponseSerializer(self.get_queryset().get(pk=response.pk)).data, status=code
        )

    @extend_schema(
        summary="Create a form response (and submit it at once with `submit: true`)",
        request=FormResponseCreateSerializer,
        responses={201: FormResponseSerializer},
    )
    def create(self, request, form_id=None):
        body = FormResponseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answers = body.validated_data["answers"]
        known = self._check_answers(answers)
        services = _form_services()
        with service_errors(nest={"answers": known}), transaction.atomic():
            response = services.create_form_response(self.get_form(), answers, actor=request.user)
            if body.validated_data["submit"]:
                services.submit_form_response(response, actor=request.user)
        return self._respond(response, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a response's answers (answers not named are kept)",
        request=FormResponseUpdateSerializer,
        responses={200: FormResponseSerializer},
        parameters=[RESPONSE_ID],
    )
    def partial_update(self, request, form_id=None, pk=None):
        response = self.get_object()
        body = FormResponseUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        # PATCH without answers changes nothing, as PATCH {} does everywhere else.
        answers = body.validated_data.get("answers", {})
        known = self._check_answers(answers)
        with service_errors(nest={"answers": known}):
            _form_services().update_form_response(
                response, {**response.answers, **answers}, actor=request.user
            )
        return self._respond(response)

    @extend_schema(
        summary="Submit a form response", request=None,
        responses={200: FormResponseSerializer}, parameters=[RESPONSE_ID],
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, form_id=None, pk=None):
        response = self.get_object()
        known = {field.id for field in self.get_form().fields.all()}
        with service_errors(nest={"answers": known}):
            _form_services().submit_form_response(response, actor=request.user)
        return self._respond(response)
