"""Two organizations, each with one object of every kind the API serves, and the routes of
/api/v1/ read from the URL conf (so a new route is covered without touching these tests)."""

import re
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.api.conftest import RULES, TASKS
from tests.support.builders import Org

WEBHOOK_URL = "http://127.0.0.1:9/hook"
API_PREFIX = "api/v1/"
# Path parameters that name their parent object; `pk` is the view's own model.
PARENT_PARAMS = {
    "run_id": "WorkflowRun",
    "form_id": "Form",
    "data_set_id": "DataSet",
    "workflow_id": "Workflow",
}


@dataclass
class Route:
    """One (method, route) of the API, e.g. ("post", "webhooks/{pk}/test")."""

    method: str
    template: str  # with {name} for each path parameter
    params: tuple[str, ...]
    model: str  # the model `pk` refers to
    name: str
    view: type | None  # the view class, None for a plain function view

    @property
    def label(self) -> str:
        return f"{self.method.upper()} /{self.template}"

    def path(self, ids: dict[str, str]) -> str:
        return "/api/v1/" + self.template.format(**ids)


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _template(regex: str) -> str:
    text = regex.replace("^", "").replace("$", "").replace("/?", "")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)


def model_served_by(view_class) -> type | None:
    """The model a view lists or fetches (None: it serves no model)."""
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model
    serializer = getattr(view_class, "serializer_class", None)
    return serializer.Meta.model if serializer is not None else None


def _model_of(view_class) -> str:
    model = model_served_by(view_class)
    return model.__name__ if model is not None else ""


def api_routes() -> list[Route]:
    """Every (method, route) under /api/v1/, from the URL conf."""
    routes = []
    for regex, pattern in _walk(get_resolver().url_patterns):
        if not regex.startswith(API_PREFIX):
            continue
        template = _template(regex[len(API_PREFIX):])
        params = tuple(re.findall(r"{(\w+)}", template))
        view_class = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None) or {}
        # DRF adds "head" (as "get") to a viewset's actions on its first request.
        methods = sorted(set(actions) - {"head", "options"}) if actions else ["get"]
        for method in methods:
            routes.append(
                Route(method, template, params, _model_of(view_class), pattern.name, view_class)
            )
    return routes


@dataclass
class Universe:
    """One object of every kind in one organization, by model name."""

    org: Org
    objects: dict[str, object] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # ids a request body needs

    def id_of(self, param: str, route: Route) -> str:
        model = route.model if param == "pk" else PARENT_PARAMS.get(param)
        # A child under a specific parent kind, e.g. "IncomingWebhook@data_set_id".
        for other in route.params:
            if param == "pk" and f"{model}@{other}" in self.objects:
                return self.objects[f"{model}@{other}"].pk
        if model not in self.objects:
            raise AssertionError(
                f"{route.label}: no test object for parameter {param!r} (model {model!r}); "
                "add one to tests/security/conftest.py build_universe"
            )
        return self.objects[model].pk

    def ids_for(self, route: Route) -> dict[str, str]:
        return {param: self.id_of(param, route) for param in route.params}

    def all_ids(self) -> set[str]:
        return {str(obj.pk) for obj in self.objects.values()}


def build_universe(org: Org, *, assign_guest: bool = True) -> Universe:
    from accounts.keys import create_api_key
    from datasets.services import create_data_set, create_record
    from delivery.models import Delivery
    from incoming.services import create_incoming_webhook
    from subscriptions import services as webhook_services
    from workflows import form_services, services
    from workflows.builder import create_form, create_workflow

    actor = org.admin.user
    workflow = create_workflow(org.org, "Onboarding", tasks=TASKS, rules=RULES, actor=actor)
    webhook, secret = webhook_services.create_webhook(
        org.org, {"url": WEBHOOK_URL, "triggers": ["TaskCheckedUnchecked", "TaskApproved"]},
        actor=actor,
    )
    name_field = workflow.latest_version().field_templates.get(label="Name").id
    assignees = (org.guest.user.email,) if assign_guest else ()
    run = services.start_run(
        workflow, actor=actor, assignee_emails=assignees, field_values={name_field: "Ada"}
    )
    tasks = {task.name: task for task in run.tasks.all()}
    services.check_task(tasks["Intro"], actor=actor)
    services.check_task(tasks["Gate"], actor=actor)
    (approval,) = services.approve(tasks["Review"], actor=actor)
    form = create_form(org.org, "Feedback", [
        {"label": "Comment", "type": "Text", "required": True},
    ])
    comment = form.fields.get().id
    response = form_services.create_form_response(form, {comment: "hello"}, actor=actor)
    data_set = create_data_set(org.org, "Customers", [{"name": "Name", "fieldType": "Text"}])
    record = create_record(data_set, {data_set.fields.get().id: "Ada"}, actor=actor)
    delivery = Delivery.objects.filter(webhook=webhook).order_by("created_date").first()
    api_key, raw_key = create_api_key(org.admin, name="spare")
    incoming_webhook = create_incoming_webhook(
        org.org, workflow=workflow, name="From the shop", verify_signatures=True
    )
    data_set_incoming = create_incoming_webhook(
        org.org, data_set=data_set, name="CRM sync", verify_signatures=True
    )
    objects = {
        "Workflow": workflow, "WorkflowRun": run, "Task": tasks["After the gate"],
        "Approval": approval, "DataSet": data_set, "DataSetRecord": record, "Form": form,
        "FormResponse": response, "Webhook": webhook, "Delivery": delivery,
        "Event": delivery.event, "ApiKey": api_key, "IncomingWebhook": incoming_webhook,
        "IncomingWebhook@data_set_id": data_set_incoming,
    }
    secrets = [secret, raw_key, *org.keys.values()]
    for hook in (incoming_webhook, data_set_incoming):
        secrets += [hook.signing_secret, hook.token]
    extra = {
        "name_field": name_field, "review_task": tasks["Review"].pk, "comment_field": comment,
        "record_field": data_set.fields.get().id,
    }
    return Universe(org=org, objects=objects, secrets=[s for s in secrets if s], extra=extra)


def body_for(route: Route, universe: Universe):
    """A request body that is valid for `universe`'s objects (None: the route takes none)."""
    e, o = universe.extra, universe.objects
    bodies = {
        "POST /api-keys": {"name": "new key"},
        "POST /workflow-runs": {"workflowId": o["Workflow"].pk},
        "POST /workflow-runs/{pk}/approvals": {
            "approvalTaskId": e["review_task"], "status": "Rejected", "comment": "again"},
        "PUT /workflow-runs/{pk}/form-fields": {"fields": [{"id": e["name_field"],
                                                             "value": "Bob"}]},
        "POST /workflow-runs/{pk}/migrate": {},
        "PUT /workflow-runs/{run_id}/tasks/{pk}": {"status": "Completed"},
        "PATCH /workflow-runs/{run_id}/tasks/{pk}": {"status": "Completed"},
        "POST /forms/{form_id}/responses": {"answers": {e["comment_field"]: "new"}},
        "PATCH /forms/{form_id}/responses/{pk}": {"answers": {e["comment_field"]: "changed"}},
        "POST /data-sets/{data_set_id}/records": {"cells": {e["record_field"]: "Bob"}},
        "PUT /data-sets/{data_set_id}/records/{pk}": {"cells": {e["record_field"]: "Bob"}},
        "PATCH /data-sets/{data_set_id}/records/{pk}": {"cells": {e["record_field"]: "Bob"}},
        "POST /webhooks": {"url": WEBHOOK_URL, "triggers": ["TaskCheckedUnchecked"],
                           "workflowId": o["Workflow"].pk},
        "PUT /webhooks/{pk}": {"url": WEBHOOK_URL, "triggers": ["TaskReady"]},
        "POST /webhooks/{pk}/recover": {"since": "2020-01-01T00:00:00.000Z"},
        "POST /workflows/{workflow_id}/incoming-webhooks": {"name": "New"},
        "PUT /workflows/{workflow_id}/incoming-webhooks/{pk}": {"name": "Renamed"},
        "PATCH /workflows/{workflow_id}/incoming-webhooks/{pk}": {"name": "Renamed"},
        "POST /data-sets/{data_set_id}/incoming-webhooks": {"name": "New"},
        "PUT /data-sets/{data_set_id}/incoming-webhooks/{pk}": {"name": "Renamed"},
        "PATCH /data-sets/{data_set_id}/incoming-webhooks/{pk}": {"name": "Renamed"},
    }
    return bodies.get(route.label)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def call(client: APIClient, method: str, path: str, key: str, data=None):
    return getattr(client, method)(path, data, format="json", HTTP_X_API_KEY=key)
