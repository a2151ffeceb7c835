"""/forms and /forms/{id}/responses."""

from tests.api.conftest import assert_error
from workflows.models import FormResponse


def test_list_and_get_forms(api, world):
    body = api.get("/forms", as_="member").json()
    assert body["total"] == 1 and body["data"][0]["id"] == world.form.id
    form = api.get(f"/forms/{world.form.id}").json()
    assert [(f["label"], f["type"], f["required"]) for f in form["fields"]] == [
        ("Comment", "Text", True), ("Score", "Number", False),
    ]
    assert_error(api.get(f"/forms/{world.other_form.id}"), 404)
    assert_error(api.get("/forms", as_="guest"), 403)


def test_create_update_and_submit_a_response(api, world, orgs):
    comment, score = world.form_field_id("Comment"), world.form_field_id("Score")
    base = f"/forms/{world.form.id}/responses"
    response = api.post(base, {"answers": {score: 3}}, as_="member")
    created = response.json()
    assert response.status_code == 201, created
    assert created["status"] == "InProgress" and created["answers"] == {score: 3}
    assert created["formId"] == world.form.id
    assert created["createdBy"]["email"] == orgs["a"].member.user.email

    url = f"{base}/{created['id']}"
    assert api.get(url).json()["id"] == created["id"]
    assert api.get(base).json()["total"] == 1

    # submitting without the required answer is refused and changes nothing
    body = assert_error(api.post(f"{url}/submit"), 400, "answers")
    assert comment in body["details"]["answers"]
    assert FormResponse.objects.get(pk=created["id"]).status == "InProgress"

    response = api.patch(url, {"answers": {comment: "Great"}})
    assert response.status_code == 200, response.json()
    assert response.json()["answers"] == {score: 3, comment: "Great"}

    response = api.post(f"{url}/submit")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Completed" and response.json()["completedDate"]
    assert_error(api.patch(url, {"answers": {comment: "Changed"}}), 409)
    assert_error(api.post(f"{url}/submit"), 409)


def test_create_and_submit_at_once(api, world):
    comment = world.form_field_id("Comment")
    base = f"/forms/{world.form.id}/responses"
    response = api.post(base, {"answers": [{"fieldId": comment, "value": "Hi"}], "submit": True})
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "Completed"


def test_submit_at_once_without_a_required_answer_writes_nothing(api, world):
    score = world.form_field_id("Score")
    response = api.post(
        f"/forms/{world.form.id}/responses", {"answers": {score: 1}, "submit": True}
    )
    assert_error(response, 400, "answers")
    assert not FormResponse.objects.exists()


def test_response_bad_input(api, world):
    base = f"/forms/{world.form.id}/responses"
    score = world.form_field_id("Score")
    body = assert_error(api.post(base, {"answers": {"nope": 1}}), 400, "answers")
    assert "nope" in body["details"]["answers"]
    body = assert_error(api.post(base, {"answers": {score: "high"}}), 400, "answers")
    assert score in body["details"]["answers"]
    assert_error(api.post(base, {"answers": "text"}), 400, "answers")
    assert_error(api.post(base, {"submit": "perhaps"}), 400, "submit")
    assert not FormResponse.objects.exists()
    assert_error(api.post(base, {"answers": {}}, as_="guest"), 403)
    assert_error(api.post(f"/forms/{world.other_form.id}/responses", {"answers": {}}), 404)
    assert_error(api.get(f"{base}/nope"), 404)
