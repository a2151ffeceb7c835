"""Admin for workflows (templates and their versions), runs, tasks, approvals and forms, scoped
to the organizations one administers.

Workflow templates and forms are plain data and are edited directly. Runs, tasks, approvals and
form responses are shown read-only; what changes them (complete, archive, check, uncheck,
submit) are admin actions calling workflows.services and workflows.form_services, so the same
events fire as through the API.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedInlineMixin,
    ReadOnlyInlineMixin,
)
from kernel.domain_errors import DomainConflict
from workflows.admin_builder import (
    ConditionalRuleForm,
    FormFieldTemplateForm,
    TaskTemplateForm,
    save_version_formset,
)
from workflows.models import (
    Approval,
    ConditionalRule,
    Form,
    FormField,
    FormFieldTemplate,
    FormFieldValue,
    FormResponse,
    Task,
    TaskTemplate,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)


def _services():
    from workflows import services

    return services


def _form_services():
    from workflows import form_services

    return form_services


def _run_action(modeladmin, request, queryset, call, verb: str) -> None:
    """Calls `call(obj)` for each selected object; reports successes and refusals."""
    done, failed = 0, []
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except (ValidationError, DomainConflict) as error:
            message = getattr(error, "message", None) or "; ".join(
                str(m) for m in getattr(error, "messages", [error])
            )
            failed.append(f"{obj}: {message}")
    if done:
        modeladmin.message_user(request, f"{verb} {done} item(s).", messages.SUCCESS)
    for failure in failed:
        modeladmin.message_user(request, failure, messages.ERROR)


class ReadOnlyAdminMixin:
    """Shows objects without letting the admin form write them; actions do the changes."""

    def has_add_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + [
            field.name for field in self.model._meta.many_to_many
        ]

    def has_change_permission(self, request, obj=None):
        # Viewable (read-only form) but never saved through the form.
        return False


# ---------------------------------------------------------------------------------------------
# Templates


class WorkflowVersionInline(OrganizationScopedInlineMixin, admin.TabularInline):
    model = WorkflowVersion
    extra = 0
    fields = ["number", "status", "created_date"]
    readonly_fields = ["created_date"]
    show_change_link = True


@admin.register(Workflow)
class WorkflowAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "version_count", "created_date", "updated_date"]
    list_filter = ["organization"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_date", "updated_date"]
    inlines = [WorkflowVersionInline]

    @admin.display(description="versions")
    def version_count(self, obj):
        return obj.versions.count()


# The three inlines below are edited together and saved in one go: tasks, fields and rules
# refer to one another through pickers (workflows/admin_builder.py).
class TaskTemplateInline(OrganizationScopedInlineMixin, admin.TabularInline):
    model = TaskTemplate
    form = TaskTemplateForm
    extra = 0
    fields = ["order", "name", "task_type", "stop_task", "hidden_by_default", "group_id",
              "subjects"]


class FormFieldTemplateInline(OrganizationScopedInlineMixin, admin.TabularInline):
    model = FormFieldTemplate
    form = FormFieldTemplateForm
    extra = 0
    fields = ["task", "order", "label", "field_type", "required", "hidden_by_default",
              "options", "group_id"]


class ConditionalRuleInline(OrganizationScopedInlineMixin, admin.StackedInline):
    model = ConditionalRule
    form = ConditionalRuleForm
    extra = 0
    fields = ["order", "action", "condition", "target_tasks_refs", "target_fields_refs"]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(OrganizationScopedAdmin):
    list_display = ["__str__", "workflow", "number", "status", "created_date"]
    list_filter = ["status", "workflow__organization"]
    search_fields = ["workflow__name", "id"]
    list_select_related = ["workflow"]
    readonly_fields = ["id", "created_date"]
    inlines = [TaskTemplateInline, FormFieldTemplateInline, ConditionalRuleInline]

    class Media:
        js = ["workflows/version_builder.js"]
        css = {"all": ["workflows/version_builder.css"]}

    def save_formset(self, request, form, formset, change):
        save_version_formset(request, form.instance, formset)


# ---------------------------------------------------------------------------------------------
# Runs


class TaskInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.TabularInline):
    model = Task
    fields = [
        "order", "name", "task_type", "status", "stopped", "hidden", "ready", "completed_date",
        "completed_by",
    ]
    readonly_fields = fields


class FormFieldValueInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.TabularInline):
    model = FormFieldValue
    fields = ["template", "value", "hidden", "updated_date", "updated_by"]
    readonly_fields = fields
    show_change_link = False


class ApprovalInline(ReadOnlyInlineMixin, OrganizationScopedInlineMixin, admin.TabularInline):
    model = Approval
    fk_name = "run"
    fields = ["approval_task", "subject_task", "status", "reviewed_by", "comment", "created_date"]
    readonly_fields = fields


@admin.register(WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "name", "workflow", "organization", "status", "version", "created_date",
        "completed_date",
    ]
    list_filter = ["status", "organization", "workflow"]
    search_fields = ["name", "id", "workflow__name"]
    list_select_related = ["workflow", "organization", "version__workflow"]
    date_hierarchy = "created_date"
    inlines = [TaskInline, FormFieldValueInline, ApprovalInline]
    actions = ["complete_runs", "archive_runs", "migrate_to_latest"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description="Complete the selected runs", permissions=["view"])
    def complete_runs(self, request, queryset):
        _run_action(
            self, request, queryset,
            lambda run: _services().complete_run(run, actor=request.user), "Completed",
        )

    @admin.action(description="Archive the selected runs", permissions=["view"])
    def archive_runs(self, request, queryset):
        _run_action(
            self, request, queryset,
            lambda run: _services().archive_run(run, actor=request.user), "Archived",
        )

    @admin.action(
        description="Migrate the selected runs to their workflow's latest version",
        permissions=["view"],
    )
    def migrate_to_latest(self, request, queryset):
        def migrate(run):
            version = run.workflow.latest_version()
            if version is None:
                raise ValidationError("The workflow has no finished version.")
            _services().migrate_run_to_version(run, version, actor=request.user)

        _run_action(self, request, queryset, migrate, "Migrated")


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "name", "run", "task_type", "status", "stopped", "hidden", "ready", "updated_date",
    ]
    list_filter = ["status", "ready", "stopped", "hidden", "task_type", "run__organization"]
    search_fields = ["name", "id", "run__name"]
    list_select_related = ["run"]
    actions = ["check_tasks", "uncheck_tasks"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Check (complete) the selected tasks", permissions=["view"])
    def check_tasks(self, request, queryset):
        _run_action(
            self, request, queryset.order_by("run", "order"),
            lambda task: _services().check_task(task, actor=request.user), "Checked",
        )

    @admin.action(description="Uncheck the selected tasks", permissions=["view"])
    def uncheck_tasks(self, request, queryset):
        _run_action(
            self, request, queryset.order_by("run", "-order"),
            lambda task: _services().uncheck_task(task, actor=request.user), "Unchecked",
        )


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ["subject_task", "approval_task", "status", "run", "reviewed_by", "created_date"]
    list_filter = ["status", "run__organization"]
    search_fields = ["run__name", "subject_task__name", "approval_task__name", "comment"]
    list_select_related = ["run", "subject_task", "approval_task", "reviewed_by"]

    def has_delete_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------------------------------------
# Forms


class FormFieldInline(OrganizationScopedInlineMixin, admin.TabularInline):
    model = FormField
    extra = 0
    fields = ["order", "label", "field_type", "required", "options"]


@admin.register(Form)
class FormAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "response_count", "updated_date"]
    list_filter = ["organization"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_date", "updated_date"]
    inlines = [FormFieldInline]

    @admin.display(description="responses")
    def response_count(self, obj):
        return obj.responses.count()


@admin.register(FormResponse)
class FormResponseAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ["id", "form", "status", "created_date", "created_by", "completed_date"]
    list_filter = ["status", "form__organization", "form"]
    search_fields = ["id", "form__name"]
    list_select_related = ["form", "created_by"]
    actions = ["submit_responses"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description="Submit the selected responses", permissions=["view"])
    def submit_responses(self, request, queryset):
        _run_action(
            self, request, queryset,
            lambda response: _form_services().submit_form_response(response, actor=request.user),
            "Submitted",
        )
