"""End to end: a real Label Studio, the backend and its RQ worker, a real (tiny) model.

A user creates a QA project from our template, connects the backend, imports tasks and
labels some; the backend retrains in the background and Label Studio's queue follows the
strategy's ranking.
"""
from __future__ import annotations

import time

import pytest
import redis
import requests
from label_studio_sdk import LabelStudio
from rq.job import Job

import label_studio_templates
from backend.project_state import ProjectState
from tests.e2e.conftest import Backend
from training.precision import resolve_precision
from training.tiny import build_tiny_model

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

N_TASKS = 30
N_ANNOTATED = 10
RETRAIN_EVERY = 5


def wait_idle(conn: redis.Redis, project_id: int, min_rounds: int, backend: Backend, timeout: float = 300) -> ProjectState:
    """Wait until ``min_rounds`` rounds finished and nothing is queued or running."""
    state = ProjectState(conn, project_id)
    deadline = time.time() + timeout
    while time.time() < deadline:
        busy = conn.exists(state.key("round-job")) or conn.exists(state.key("intent"))
        if state.rounds_total() >= min_rounds and not busy:
            return state
        time.sleep(0.5)
    raise TimeoutError(f"rounds: {state.rounds_total()} < {min_rounds}\n{backend.log_tail()}")


def current_predictions(ls: LabelStudio, project_id: int) -> tuple[str, dict[int, float], set[int]]:
    """(project model_version, {unlabeled task id: score of that version}, labeled ids)."""
    version = ls.projects.get(id=project_id).model_version
    scores, labeled = {}, set()
    for task in ls.tasks.list(project=project_id, fields="all"):
        task = task.model_dump()
        if task["annotations"]:
            labeled.add(task["id"])
            continue
        for prediction in task["predictions"]:
            if prediction["model_version"] == version:
                scores[task["id"]] = prediction["score"]
    return version, scores, labeled


def join_as_annotator(label_studio, email: str) -> requests.Session:
    """A second person joins the organisation through an invite link and logs in."""
    invite = requests.get(f"{label_studio.url}/api/invite", headers={"Authorization": f"Token {label_studio.token}"}).json()
    session = requests.Session()
    signup = f"{label_studio.url}/user/signup/?token={invite['token']}"
    session.get(signup)
    response = session.post(signup, data={"email": email, "password": "annotator-pass-1",
                                          "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": signup}, allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    return session


@pytest.fixture(scope="module")
def stack(tmp_path_factory, label_studio, redis_url):
    tmp = tmp_path_factory.mktemp("e2e")
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    model = build_tiny_model(tmp / "tiny-model")
    backend = Backend(tmp, redis_url, label_studio, {
        "ATGEN_MODEL_NAME": model,
        "ATGEN_STRATEGY": "nsp",
        "ATGEN_ED_STRATEGY": "facility_location",
        "ATGEN_RETRAIN_EVERY": str(RETRAIN_EVERY),
        "ATGEN_MAX_NEW_TOKENS": "8",
        "ATGEN_TRAIN_EPOCHS": "1",
    })
    try:
        ls = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
        project = ls.projects.create(title="ATGen-LS e2e QA",
                                     label_config=label_studio_templates.load_template("question_answering"))
        tasks = label_studio_templates.sample_tasks("question_answering")[:N_TASKS]
        ls.projects.import_tasks(id=project.id, request=tasks)
        ml = ls.ml.create(project=project.id, url=backend.url, title="ATGen-LS")
        yield {"ls": ls, "project": project.id, "ml": ml.id, "backend": backend, "conn": conn,
               "label_studio": label_studio}
    finally:
        backend.stop()


def test_connecting_orders_the_queue_before_any_label(stack):
    state = wait_idle(stack["conn"], stack["project"], 1, stack["backend"])
    first = state.rounds()[0]
    assert first["strategy"] == "facility_location" and first["trained"] is None
    version, scores, _ = current_predictions(stack["ls"], stack["project"])
    assert version == first["version"]
    assert len(scores) == N_TASKS


def test_labels_retrain_and_reorder_the_queue(stack):
    ls, project_id, conn = stack["ls"], stack["project"], stack["conn"]
    wait_idle(conn, project_id, 1, stack["backend"])
    tasks = [t.model_dump() for t in ls.tasks.list(project=project_id, fields="all")][:N_ANNOTATED]
    # Batches of RETRAIN_EVERY, each after the previous round finished: a round started by the
    # 5th label may also take in labels submitted while it starts, so one batch of ten could
    # leave a few of them waiting for the next five (that is the contract, but not a fixed count).
    batches = [tasks[start : start + RETRAIN_EVERY] for start in range(0, N_ANNOTATED, RETRAIN_EVERY)]
    for rounds, batch in enumerate(batches, start=2):
        for task in batch:
            ls.annotations.create(id=task["id"], result=[{
                "from_name": "answer", "to_name": "question", "type": "textarea",
                "value": {"text": [task["data"]["reference"]]},
            }])
        state = wait_idle(conn, project_id, rounds, stack["backend"])
        last = state.rounds()[-1]
        assert last["labeled"] == RETRAIN_EVERY * (rounds - 1) and last["strategy"] == "nsp", state.rounds()
        assert last["trained"]["train_count"] + last["trained"]["eval_count"] == last["labeled"]
    # PRECISION defaults to auto: the worker trained in bf16 exactly where this CPU computes it
    assert last["trained"]["precision"] == resolve_precision("auto", "cpu")
    assert len(state.rounds()) == 1 + len(batches)  # the set-up round plus one per five labels
    job = Job.fetch(last["job_id"], connection=conn)
    assert job.meta["stage"] == "done" and job.get_status() == "finished"

    version, scores, labeled = current_predictions(ls, project_id)
    assert version == last["version"]
    assert len(labeled) == N_ANNOTATED
    assert set(scores) == {t.id for t in ls.tasks.list(project=project_id)} - labeled
    # The next task Label Studio serves is the one the strategy ranked first (lowest score).
    next_task = requests.get(f"{stack['label_studio'].url}/api/projects/{project_id}/next/",
                             headers={"Authorization": f"Token {stack['label_studio'].token}"}).json()
    assert next_task["id"] == min(scores, key=scores.get)


def test_replayed_webhook_does_not_grow_the_training_set(stack):
    ls, project_id, conn, backend = stack["ls"], stack["project"], stack["conn"], stack["backend"]
    state = wait_idle(conn, project_id, 2, backend)
    before = state.rounds_total()
    task = next(t.model_dump() for t in ls.tasks.list(project=project_id, fields="all") if t.annotations)
    annotation = task["annotations"][0]
    event = {"action": "ANNOTATION_CREATED", "project": {"id": project_id},
             "task": {"id": task["id"], "project": project_id}, "annotation": annotation}
    for _ in range(2):
        assert requests.post(f"{backend.url}/webhook", json=event).json()["status"] == "duplicate"
    ls.ml.train(id=stack["ml"])  # START_TRAINING: a round that retrains on what Label Studio holds
    state = wait_idle(conn, project_id, before + 1, backend)
    last = state.rounds()[-1]
    assert last["labeled"] == N_ANNOTATED
    assert last["trained"]["train_count"] + last["trained"]["eval_count"] == N_ANNOTATED


def test_two_annotators_get_different_tasks_from_the_top(stack):
    ls, project_id = stack["ls"], stack["project"]
    wait_idle(stack["conn"], project_id, 2, stack["backend"])
    _, scores, _ = current_predictions(ls, project_id)
    ranked = sorted(scores, key=scores.get)
    admin = requests.Session()
    admin.headers["Authorization"] = f"Token {stack['label_studio'].token}"
    second = join_as_annotator(stack["label_studio"], "second.annotator@atgen.local")
    url = f"{stack['label_studio'].url}/api/projects/{project_id}/next/"
    first_id = admin.get(url).json()["id"]
    second_id = second.get(url).json()["id"]
    assert first_id != second_id
    # With N annotators Label Studio picks among the top N+1 by score.
    assert {first_id, second_id} <= set(ranked[:3])
