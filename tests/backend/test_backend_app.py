"""The HTTP protocol against a real Redis (no worker: rounds stay queued)."""
import base64
import json

import pytest
from rq import Queue

import label_studio_templates
from backend.app import create_app
from backend.settings import ServiceSettings

pytestmark = pytest.mark.unit

QA = label_studio_templates.load_template("question_answering")
PARAMS = {"strategy": "random", "ed_strategy": "random", "retrain_every": 3}


@pytest.fixture()
def service(tmp_path):
    return ServiceSettings(model_dir=tmp_path / "models", state_dir=tmp_path, queue_name="atgen-test")


@pytest.fixture()
def client(service, conn):
    return create_app(service, conn).test_client()


def setup_project(client, project="7.1700000000", params=PARAMS):
    return client.post("/setup", json={"project": project, "schema": QA, "extra_params": params,
                                       "hostname": "http://127.0.0.1:1", "access_token": "secret-token"})


def annotation_event(annotation_id, project=7, action="ANNOTATION_CREATED"):
    return {"action": action, "project": {"id": project}, "task": {"id": 100 + annotation_id, "project": project},
            "annotation": {"id": annotation_id, "updated_at": "2026-01-01T00:00:00Z",
                           "result": [{"from_name": "answer", "to_name": "question", "type": "textarea",
                                       "value": {"text": ["x"]}}]}}


def queued(conn):
    return Queue("atgen-test", connection=conn).count


def test_health_reports_status_redis_and_versions(client):
    setup_project(client)
    body = client.get("/health").get_json()
    assert body["status"] == "UP" and body["model_class"] == "ATGenLS"
    assert body["redis"] is True
    assert body["model_versions"] == {"7": "atgen-base"}
    assert body["rounds_completed"] == {"7": 0} and body["training_rounds_completed"] == {"7": 0}
    assert client.get("/").get_json()["status"] == "UP"


def test_setup_returns_a_model_version_and_queues_the_experimental_design_round(client, conn):
    response = setup_project(client)
    assert response.status_code == 200
    assert response.get_json() == {"model_version": "atgen-base"}
    assert queued(conn) == 1
    # Label Studio calls /setup again before most actions: no new round each time.
    setup_project(client)
    assert queued(conn) == 1


def test_setup_without_textarea_is_a_400_naming_it(client):
    response = client.post("/setup", json={"project": "1.1", "schema": '<View><Text name="t" value="$t"/></View>'})
    assert response.status_code == 400
    assert "TextArea" in response.get_json()["message"]


def test_setup_with_bad_setting_is_a_400_naming_the_key(client):
    response = setup_project(client, params={**PARAMS, "query_size": -2})
    assert response.status_code == 400
    assert "query_size" in response.get_json()["message"]


@pytest.mark.parametrize("route", ["/setup", "/predict", "/webhook"])
def test_malformed_json_is_a_400(client, route):
    response = client.post(route, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]


def test_unknown_webhook_actions_are_ignored(client):
    setup_project(client)
    response = client.post("/webhook", json={"action": "PROJECT_UPDATED", "project": {"id": 7}})
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"


def test_round_is_requested_after_retrain_every_new_annotations(client, conn):
    setup_project(client)
    conn.delete(*conn.keys("rq:*"))  # drop the set-up round to watch only annotation rounds
    for annotation_id in (1, 2):
        body = client.post("/webhook", json=annotation_event(annotation_id)).get_json()
        assert body["status"] == "recorded"
    body = client.post("/webhook", json=annotation_event(3)).get_json()
    assert body["status"] == "queued"
    assert queued(conn) == 1


def test_replayed_webhook_is_counted_once(client):
    setup_project(client)
    first = client.post("/webhook", json=annotation_event(1)).get_json()
    again = client.post("/webhook", json=annotation_event(1)).get_json()
    assert first == {"status": "recorded", "new_annotations": 1, "retrain_every": 3}
    assert again == {"status": "duplicate"}
    assert client.post("/webhook", json=annotation_event(2)).get_json()["new_annotations"] == 2


def test_an_edit_is_a_new_event_but_its_replay_is_not(client):
    setup_project(client)
    event = annotation_event(1, action="ANNOTATION_UPDATED")
    assert client.post("/webhook", json=event).get_json()["status"] == "recorded"
    assert client.post("/webhook", json=event).get_json()["status"] == "duplicate"
    event["annotation"]["updated_at"] = "2026-01-02T00:00:00Z"
    assert client.post("/webhook", json=event).get_json()["status"] == "recorded"


def test_annotation_storm_gives_one_queued_round(client, conn):
    setup_project(client)
    statuses = [client.post("/webhook", json=annotation_event(i)).get_json()["status"] for i in range(1, 501)]
    # The set-up round is still queued: every request from the 3rd annotation on joins it.
    assert queued(conn) == 1
    assert statuses.count("recorded") == 2 and statuses.count("coalesced") == 498


def test_start_training_always_requests_a_training_round(client, conn):
    setup_project(client)
    body = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 7}}).get_json()
    assert body["status"] == "coalesced"  # joins the queued set-up round...
    intent = conn.hgetall("atgen:p:7:intent")
    assert intent[b"train"] == b"1"  # ...which now also trains


def test_webhook_for_unconnected_project_is_ignored(client):
    body = client.post("/webhook", json=annotation_event(1, project=99)).get_json()
    assert body["status"] == "ignored"


def test_predict_for_task_without_input_field_returns_empty_result(client):
    setup_project(client)
    response = client.post("/predict", json={"project": "7.1", "tasks": [{"id": 1, "data": {"text": "wrong field"}}]})
    assert response.status_code == 200
    (result,) = response.get_json()["results"]
    assert result["result"] == [] and result["model_version"] == "atgen-base"


def test_predict_serves_cached_predictions_of_the_current_version(client, conn):
    from backend.project_state import ProjectState

    setup_project(client)
    state = ProjectState(conn, 7)
    state.publish_version("atgen-v1", {5: {"text": "Paris", "score": 0.0}, 6: {"text": "Rome", "score": 0.5}})
    body = client.post("/predict", json={"project": "7.1", "tasks": [
        {"id": 6, "data": {"question": "q6"}}, {"id": 5, "data": {"question": "q5"}}]}).get_json()
    assert body["model_version"] == "atgen-v1"
    assert [r["result"][0]["value"]["text"] for r in body["results"]] == [["Rome"], ["Paris"]]
    assert [r["score"] for r in body["results"]] == [0.5, 0.0]
    assert all(r["model_version"] == "atgen-v1" for r in body["results"])


def test_basic_auth_is_enforced_when_configured(service, conn):
    service.basic_auth_user, service.basic_auth_pass = "ls", "s3cret"
    client = create_app(service, conn).test_client()
    assert client.get("/health").status_code == 401
    bad = base64.b64encode(b"ls:wrong").decode()
    assert client.get("/health", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    good = base64.b64encode(b"ls:s3cret").decode()
    assert client.get("/health", headers={"Authorization": f"Basic {good}"}).status_code == 200


def test_metrics_expose_requests_queue_and_versions(client):
    setup_project(client)
    client.get("/health")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'atgen_requests_total{route="/setup",status="200"} 1.0' in text
    assert "atgen_request_latency_seconds_bucket" in text
    assert "atgen_queue_depth 1.0" in text


def test_access_token_is_stored_but_never_returned(client, conn):
    setup_project(client)
    assert "secret-token" not in json.dumps(client.get("/health").get_json())
    assert conn.hget("atgen:p:7:label_studio", "token") == b"secret-token"


@pytest.mark.parametrize("template", label_studio_templates.available())
def test_setup_accepts_every_shipped_template(client, template):
    response = client.post("/setup", json={"project": "9.1", "schema": label_studio_templates.load_template(template),
                                           "extra_params": PARAMS})
    assert response.status_code == 200, response.get_json()
