"""Local servers speaking the OpenAI and Anthropic wire formats, for tests through the real SDKs.

Each fake answers chat requests with ``answer: <last user message>``, bills tokens as word
counts (always below the labellers' byte-based upper bound, like real tokenizers), and keeps
files and batches in memory. Tests script failures: ``fail_next`` queues HTTP statuses for the
next synchronous calls; ``fail_row`` makes batch rows fail; ``expire_after`` expires a batch
after that many rows ran.
"""
from __future__ import annotations

import itertools
import json
import re
import threading
import time

from werkzeug import Request, Response


def words(text: str) -> int:
    return len(text.split())


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class _Fake:
    auth_error_body: dict

    def __init__(self, server, api_key: str = "sk-test") -> None:
        self.server = server
        self.api_key = api_key
        self.lock = threading.Lock()
        self.scripted_statuses: list[int] = []
        self.sync_calls = 0
        self.paid_calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.latency = 0.0
        self.reply = lambda prompt: f"answer: {prompt}"
        self.fail_row = lambda prompt: False
        self.expire_after: int | None = None
        self.polls_until_done = 2
        self.batches: dict[str, dict] = {}
        self.ids = itertools.count(1)

    def fail_next(self, *statuses: int) -> None:
        self.scripted_statuses.extend(statuses)

    def _authorised(self, request: Request) -> bool:
        raise NotImplementedError

    def _sync(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(self.auth_error_body, 401)
        with self.lock:
            self.sync_calls += 1
            status = self.scripted_statuses.pop(0) if self.scripted_statuses else 200
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.latency)
            if status != 200:
                return _json(self.error_body(status, "scripted failure"), status)
            with self.lock:
                self.paid_calls += 1
            return _json(self.answer(json.loads(request.data)))
        finally:
            with self.lock:
                self.in_flight -= 1

    def _poll(self, batch_id: str) -> dict:
        batch = self.batches[batch_id]
        batch["polls"] += 1
        if batch["polls"] >= self.polls_until_done and not batch["done"]:
            batch["done"] = True
            self.finish_batch(batch)
        return batch


class FakeOpenAI(_Fake):
    auth_error_body = {
        "error": {"message": "Incorrect API key provided: sk-bad.", "type": "invalid_request_error",
                  "param": None, "code": "invalid_api_key"}
    }

    def __init__(self, server, api_key: str | None = "sk-test") -> None:
        super().__init__(server, api_key)
        self.files: dict[str, bytes] = {}
        self.requests_seen: list[dict] = []
        server.expect_request(re.compile(r"^/v1/chat/completions$"), method="POST").respond_with_handler(self._sync)
        server.expect_request(re.compile(r"^/v1/files$"), method="POST").respond_with_handler(self._upload)
        server.expect_request(re.compile(r"^/v1/files/[^/]+/content$"), method="GET").respond_with_handler(
            self._download
        )
        server.expect_request(re.compile(r"^/v1/batches$"), method="POST").respond_with_handler(self._create_batch)
        server.expect_request(re.compile(r"^/v1/batches/[^/]+$"), method="GET").respond_with_handler(
            self._retrieve_batch
        )

    @property
    def base_url(self) -> str:
        return self.server.url_for("/v1")

    def _authorised(self, request: Request) -> bool:
        # api_key=None plays a self-hosted server that ignores keys.
        return self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}"

    @staticmethod
    def error_body(status: int, message: str) -> dict:
        return {"error": {"message": message, "type": "server_error", "param": None, "code": str(status)}}

    def answer(self, body: dict) -> dict:
        self.requests_seen.append(body)
        prompt = body["messages"][-1]["content"]
        text = self.reply(prompt)
        prompt_tokens = sum(words(m["content"]) for m in body["messages"])
        completion_tokens = min(words(text), body.get("max_completion_tokens") or body.get("max_tokens") or 10**9)
        return {
            "id": f"chatcmpl-{next(self.ids)}", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def _upload(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(self.auth_error_body, 401)
        file_id = f"file-{next(self.ids)}"
        content = request.files["file"].read()
        assert request.form["purpose"] == "batch"
        self.files[file_id] = content
        return _json({"id": file_id, "object": "file", "bytes": len(content), "created_at": 0,
                      "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})

    def _download(self, request: Request) -> Response:
        file_id = request.path.split("/")[3]
        return Response(self.files[file_id], content_type="application/octet-stream")

    def _create_batch(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(self.auth_error_body, 401)
        body = json.loads(request.data)
        batch_id = f"batch_{next(self.ids)}"
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
            "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
            "status": "in_progress", "output_file_id": None, "error_file_id": None, "created_at": 0,
            "request_counts": {"total": 0, "completed": 0, "failed": 0}, "polls": 0, "done": False,
        }
        return _json(self._public(self.batches[batch_id]))

    def _retrieve_batch(self, request: Request) -> Response:
        return _json(self._public(self._poll(request.path.rsplit("/", 1)[1])))

    @staticmethod
    def _public(batch: dict) -> dict:
        return {k: v for k, v in batch.items() if k not in ("polls", "done")}

    def finish_batch(self, batch: dict) -> None:
        outputs, errors = [], []
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines()]
        for ran, line in enumerate(lines):
            row = {"id": f"batch_req_{next(self.ids)}", "custom_id": line["custom_id"]}
            if self.expire_after is not None and ran >= self.expire_after:
                errors.append({**row, "response": None, "error": {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired."}})
            elif self.fail_row(line["body"]["messages"][-1]["content"]):
                errors.append({**row, "error": None, "response": {"status_code": 400, "request_id": "req",
                    "body": {"error": {"message": "Invalid 'messages[1].content'", "type": "invalid_request_error"}}}})
            else:
                self.paid_calls += 1
                outputs.append({**row, "error": None, "response": {
                    "status_code": 200, "request_id": "req", "body": self.answer(line["body"])}})
        for rows, field in ((outputs, "output_file_id"), (errors, "error_file_id")):
            if rows:
                file_id = f"file-{next(self.ids)}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[field] = file_id
        batch["status"] = "expired" if self.expire_after is not None else "completed"
        batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}


class FakeAnthropic(_Fake):
    auth_error_body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}

    def __init__(self, server, api_key: str = "sk-ant-test") -> None:
        super().__init__(server, api_key)
        server.expect_request(re.compile(r"^/v1/messages$"), method="POST").respond_with_handler(self._sync)
        server.expect_request(re.compile(r"^/v1/messages/batches$"), method="POST").respond_with_handler(
            self._create_batch
        )
        server.expect_request(re.compile(r"^/v1/messages/batches/[^/]+/results$"), method="GET").respond_with_handler(
            self._results
        )
        server.expect_request(re.compile(r"^/v1/messages/batches/[^/]+$"), method="GET").respond_with_handler(
            self._retrieve_batch
        )

    @property
    def base_url(self) -> str:
        return self.server.url_for("")

    def _authorised(self, request: Request) -> bool:
        # SDK 2.x sends the key as a bearer token; earlier SDKs sent x-api-key.
        return self.api_key in (request.headers.get("x-api-key"), request.headers.get("Authorization", "")[7:])

    @staticmethod
    def error_body(status: int, message: str) -> dict:
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def answer(self, params: dict) -> dict:
        last = params["messages"][-1]["content"]
        text = self.reply(last)
        system = params.get("system", "")
        input_tokens = words(system) + sum(words(m["content"]) for m in params["messages"])
        return {
            "id": f"msg_{next(self.ids)}", "type": "message", "role": "assistant", "model": params["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": min(words(text), params["max_tokens"])},
        }

    def _create_batch(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(self.auth_error_body, 401)
        batch_id = f"msgbatch_{next(self.ids)}"
        self.batches[batch_id] = {
            "id": batch_id, "type": "message_batch", "processing_status": "in_progress",
            "request_counts": {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
            "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z", "ended_at": None,
            "archived_at": None, "cancel_initiated_at": None, "results_url": None,
            "requests": json.loads(request.data)["requests"], "polls": 0, "done": False, "results": [],
        }
        return _json(self._public(self.batches[batch_id]))

    def _retrieve_batch(self, request: Request) -> Response:
        return _json(self._public(self._poll(request.path.rsplit("/", 1)[1])))

    @staticmethod
    def _public(batch: dict) -> dict:
        return {k: v for k, v in batch.items() if k not in ("requests", "polls", "done", "results")}

    def finish_batch(self, batch: dict) -> None:
        counts = batch["request_counts"]
        for ran, item in enumerate(batch["requests"]):
            if self.expire_after is not None and ran >= self.expire_after:
                result, kind = {"type": "expired"}, "expired"
            elif self.fail_row(item["params"]["messages"][-1]["content"]):
                result, kind = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "invalid_request_error", "message": "messages: text content blocks must be non-empty"}}}, "errored"
            else:
                self.paid_calls += 1
                result, kind = {"type": "succeeded", "message": self.answer(item["params"])}, "succeeded"
            counts[kind] += 1
            batch["results"].append({"custom_id": item["custom_id"], "result": result})
        batch["processing_status"] = "ended"
        batch["ended_at"] = "2026-01-01T01:00:00Z"
        batch["results_url"] = self.server.url_for(f"/v1/messages/batches/{batch['id']}/results")

    def _results(self, request: Request) -> Response:
        batch = self.batches[request.path.split("/")[4]]
        body = "".join(json.dumps(r) + "\n" for r in batch["results"])
        return Response(body, content_type="application/binary")
