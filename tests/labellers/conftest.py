import os

import pytest
from pytest_httpserver import HTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def _threaded_server():
    # Threaded: concurrent requests really overlap. One server per session: stopping one takes 0.5 s.
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http_server(_threaded_server):
    """The local HTTP server, with no handlers left over from another test."""
    _threaded_server.clear()
    yield _threaded_server
    _threaded_server.clear()
