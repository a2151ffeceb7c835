"""Building workflows and versions from dicts: stored shapes, stable group ids, validation."""

import pytest
from django.core.exceptions import ValidationError

from tests.domain import factories as f
from tests.support import builders
from workflows.builder import create_form, create_version, create_workflow
from workflows.models import (
    ConditionalRule,
    FormField,
    TaskTemplate,
    VersionStatus,
    Workflow,
    WorkflowVersion,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return builders.organization()


def test_workflow_version_tasks_fields_and_rules(org):
    wf = create_workflow(org, "Hiring", tasks=[
        f.task("cv", formFields=[f.field("score", "Number", required=True)]),
        f.task("call", stopTask=True, hiddenByDefault=True),
        f.approval("ok", ["cv"]),
    ], rules=[f.rule("Show", [f.clause("score", "IsGreaterThan", "5")], tasks=["call"],
                     fields=["score"])])
    version = wf.latest_version()
    assert (version.number, version.status) == (1, VersionStatus.FINISHED)
    cv, call, ok = TaskTemplate.objects.filter(version=version).order_by("order")
    assert (call.stop_task, call.hidden_by_default, ok.task_type) == (True, True, "Approval")
    assert list(ok.subject_templates.all()) == [cv]
    score = cv.field_templates.get()
    assert (score.field_type, score.required) == ("Number", True)
    rule = ConditionalRule.objects.get(version=version)
    assert rule.condition == {
        "or": [{"and": [{"widgetId": score.id, "operator": "IsGreaterThan", "value": 5}]}]
    }
    assert list(rule.target_tasks.all()) == [call] and list(rule.target_fields.all()) == [score]


def test_same_key_keeps_its_group_id_across_versions(org):
    wf = create_workflow(org, "W", tasks=[f.task("a", formFields=[f.field("x")]), f.task("b")])
    v2 = create_version(wf, tasks=[f.task("b", name="Renamed B"), f.task("c")])
    first = {t.name: t.group_id for t in TaskTemplate.objects.filter(version__number=1)}
    second = {t.name: t.group_id for t in TaskTemplate.objects.filter(version=v2)}
    assert second["Renamed B"] == first["B"]
    assert second["C"] not in first.values()
    assert len(first["A"]) == 22
    other = create_workflow(org, "Other", tasks=[f.task("a")])
    assert other.latest_version().task_templates.get().group_id != first["A"]


@pytest.mark.parametrize(
    ("tasks", "rules", "key"),
    [
        ([], [], "tasks"),
        ([{"name": ""}], [], "tasks[0].name"),
        ([f.task("a"), f.task("a")], [], "tasks[1].key"),
        ([f.task("a", taskType="Other")], [], "tasks[0].taskType"),
        ([f.task("a", formFields=[f.field("x", "Color")])], [], "tasks[0].formFields[0].type"),
        ([f.task("a", formFields=[f.field("x", "Select")])], [], "tasks[0].formFields[0].options"),
        ([f.task("a"), f.approval("r", [])], [], "tasks[1].subjects"),
        ([f.task("a"), f.approval("r", ["zz"])], [], "tasks[1].subjects"),
        ([f.task("a", subjects=["a"])], [], "tasks[0].subjects"),
        ([f.task("a", stopTask="yes")], [], "tasks[0].stopTask"),
        ([f.task("a")], [f.rule("Show", [f.clause("nope", "Is", "x")], tasks=["a"])],
         "rules[0].condition.or[0].and[0].field"),
        ([f.task("a", formFields=[f.field("x")])],
         [f.rule("Show", [f.clause("x", "Matches", "x")], tasks=["a"])],
         "rules[0].condition.or[0].and[0].operator"),
        ([f.task("a", formFields=[f.field("n", "Number")])],
         [f.rule("Show", [f.clause("n", "IsLessThan", "many")], tasks=["a"])],
         "rules[0].condition.or[0].and[0].value"),
        ([f.task("a", formFields=[f.field("x")])],
         [f.rule("Show", [f.clause("x", "Is")], tasks=["a"])],
         "rules[0].condition.or[0].and[0].value"),
        ([f.task("a", formFields=[f.field("x")])],
         [f.rule("Toggle", [f.clause("x", "HasAnyValue")], tasks=["a"])], "rules[0].action"),
        ([f.task("a", formFields=[f.field("x")])],
         [f.rule("Hide", [f.clause("x", "HasAnyValue")], tasks=["zz"])], "rules[0].targets.tasks"),
        ([f.task("a", formFields=[f.field("x")])],
         [f.rule("Hide", [f.clause("x", "HasAnyValue")])], "rules[0].targets"),
        ([f.task("a", formFields=[f.field("x")])],
         [f.rule("Hide", [], tasks=["a"])], "rules[0].condition.or[0]"),
    ],
)
def test_invalid_definitions_name_the_entry_and_write_nothing(org, tasks, rules, key):
    with pytest.raises(ValidationError) as error:
        create_workflow(org, "Bad", tasks=tasks, rules=rules)
    assert list(error.value.message_dict) == [key]
    assert Workflow.objects.count() == 0 and WorkflowVersion.objects.count() == 0
    assert TaskTemplate.objects.count() == 0


def test_invalid_new_version_leaves_the_old_one_finished(org):
    wf = create_workflow(org, "W", tasks=[f.task("a")])
    with pytest.raises(ValidationError):
        create_version(wf, tasks=[{"name": ""}])
    assert list(wf.versions.values_list("number", "status")) == [(1, VersionStatus.FINISHED)]


def test_create_form(org):
    form = create_form(org, "Feedback", [
        f.field("mood", "Select", options=["good", "bad"], required=True), f.field("note"),
    ])
    assert [(x.label, x.field_type, x.required, x.options, x.order)
            for x in FormField.objects.filter(form=form)] == [
        ("Mood", "Select", True, ["good", "bad"], 0), ("Note", "Text", False, [], 1),
    ]
    with pytest.raises(ValidationError) as error:
        create_form(org, "", [])
    assert list(error.value.message_dict) == ["name"]
