"""End to end with an LLM labeller: a local server speaking the OpenAI API plays the LLM.

Review mode: the strategy's top tasks carry the LLM's answers as predictions. Auto mode: the
answers become LLM-made annotations, round after round, until the budget stops the loop.
"""
from __future__ import annotations

import time

import pytest
import redis
from label_studio_sdk import LabelStudio
from pytest_httpserver import HTTPServer

import label_studio_templates
from backend.project_state import ProjectState
from tests.e2e.conftest import Backend
from tests.e2e.test_e2e_label_studio import current_predictions, wait_idle
from tests.labellers.labellers_fake_servers import FakeOpenAI
from training.tiny import build_tiny_model

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

QUERY_SIZE = 4
BUDGET = 0.2  # USD; at (1000, 1000) USD per 1M tokens a request costs a few cents


@pytest.fixture(scope="module")
def llm():
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    fake = FakeOpenAI(server, api_key=None)  # a self-hosted server that takes no key
    fake.reply = lambda prompt: f"LLM says {len(prompt)}"
    yield fake
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, label_studio, redis_url, llm):
    tmp = tmp_path_factory.mktemp("e2e-llm")
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    backend = Backend(tmp, redis_url, label_studio, {
        "ATGEN_MODEL_NAME": build_tiny_model(tmp / "tiny-model"),
        "ATGEN_STRATEGY": "nsp",
        "ATGEN_ED_STRATEGY": "random",
        "ATGEN_MAX_NEW_TOKENS": "6",
        "ATGEN_TRAIN_EPOCHS": "1",
        "ATGEN_QUERY_SIZE": str(QUERY_SIZE),
    })
    try:
        yield {"ls": LabelStudio(base_url=label_studio.url, api_key=label_studio.token), "backend": backend,
               "conn": conn, "llm": llm}
    finally:
        backend.stop()


def connect_project(stack, title: str, extra_params: dict) -> int:
    ls = stack["ls"]
    project = ls.projects.create(title=title, label_config=label_studio_templates.load_template("question_answering"))
    ls.projects.import_tasks(id=project.id, request=label_studio_templates.sample_tasks("question_answering")[:20])
    ls.ml.create(project=project.id, url=stack["backend"].url, title="ATGen-LS", extra_params=extra_params)
    return project.id


def labeller_params(llm) -> dict:
    return {"model": "fake-llm", "base_url": llm.base_url, "api_key": "unused", "price": [1000, 1000],
            "max_tokens": 16, "max_retries": 1, "backoff_initial": 0.01}


def test_review_mode_puts_llm_answers_on_the_top_tasks(stack):
    llm = stack["llm"]
    project_id = connect_project(stack, "LLM review", {
        "labeller": "openai_compatible", "mode": "review", "budget": 5, "labeller_params": labeller_params(llm)})
    state = wait_idle(stack["conn"], project_id, 1, stack["backend"])
    summary = state.rounds()[-1]
    assert summary["llm"]["mode"] == "review" and summary["llm"]["answered"] == QUERY_SIZE
    assert summary["version"].endswith("+openai_compatible:fake-llm")  # the version names the labeller
    version, scores, _ = current_predictions(stack["ls"], project_id)
    top = sorted(scores, key=scores.get)[:QUERY_SIZE]
    texts = {t.id: t.model_dump()["predictions"] for t in stack["ls"].tasks.list(project=project_id, fields="all")}
    for task_id, predictions in texts.items():
        (current,) = [p for p in predictions if p["model_version"] == version]
        text = current["result"][0]["value"]["text"][0]
        assert text.startswith("LLM says") == (task_id in top)
    assert 0 < summary["llm"]["spent_usd"] <= 5


def test_auto_mode_annotates_until_the_budget_stops_it(stack):
    llm = stack["llm"]
    project_id = connect_project(stack, "LLM auto", {
        "labeller": "openai_compatible", "mode": "auto", "budget": BUDGET, "labeller_params": labeller_params(llm)})
    conn = stack["conn"]
    state = ProjectState(conn, project_id)
    deadline = time.time() + 300
    while time.time() < deadline and not any((r.get("llm") or {}).get("stop_reason") for r in state.rounds()):
        time.sleep(0.5)
    state = wait_idle(conn, project_id, 1, stack["backend"])
    rounds = [r for r in state.rounds() if r.get("llm")]
    assert rounds and "budget" in rounds[-1]["llm"]["stop_reason"], rounds
    spent = rounds[-1]["llm"]["spent_usd"]
    assert 0 < spent <= BUDGET
    annotations = [a for t in stack["ls"].tasks.list(project=project_id, fields="all")
                   for a in t.model_dump()["annotations"]]
    llm_made = [a for a in annotations if a["result"][0].get("meta", {}).get("llm_made")]
    assert len(llm_made) == state.llm_labels() >= QUERY_SIZE  # more than one batch was paid and kept
    assert all(a["result"][0]["value"]["text"][0].startswith("LLM says") for a in llm_made)
    assert any(r["trained"] for r in state.rounds())  # the loop retrained on the LLM's labels
