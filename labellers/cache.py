"""The answer cache: a paid answer is stored under (model, prompt hash) and never paid for again.

A crashed or retried round re-asks the same prompts; their answers come from here at no cost.
Only usable answers are cached (an empty or failed answer may succeed when asked again).
The cache also remembers batch jobs in flight, so a restarted round resumes polling a batch it
already paid for instead of submitting it again.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labellers.ledger import locked_file


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: float  # USD paid when the answer was first obtained


def prompt_key(model: str, request: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the model and the full request (messages, max tokens, temperature)."""
    canonical = json.dumps({"model": model, "request": request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnswerCache(ABC):
    """Answers by prompt key, plus pending batch ids by batch key."""

    @abstractmethod
    def get(self, key: str) -> CachedAnswer | None: ...

    @abstractmethod
    def put(self, key: str, answer: CachedAnswer) -> None: ...

    @abstractmethod
    def get_pending_batch(self, key: str) -> str | None: ...

    @abstractmethod
    def set_pending_batch(self, key: str, batch_id: str | None) -> None:
        """Remember ``batch_id`` for ``key``; ``None`` forgets it."""


class MemoryAnswerCache(AnswerCache):
    def __init__(self) -> None:
        self._answers: dict[str, CachedAnswer] = {}
        self._batches: dict[str, str] = {}

    def get(self, key: str) -> CachedAnswer | None:
        return self._answers.get(key)

    def put(self, key: str, answer: CachedAnswer) -> None:
        self._answers[key] = answer

    def get_pending_batch(self, key: str) -> str | None:
        return self._batches.get(key)

    def set_pending_batch(self, key: str, batch_id: str | None) -> None:
        if batch_id is None:
            self._batches.pop(key, None)
        else:
            self._batches[key] = batch_id


class FileAnswerCache(AnswerCache):
    """An append-only JSON Lines file; the last record for a key wins. Appends are locked."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _records(self) -> dict[str, dict]:
        records: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    records[record["key"]] = record
        return records

    def _append(self, record: dict) -> None:
        with self._lock, locked_file(self.path):
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def get(self, key: str) -> CachedAnswer | None:
        record = self._records().get(key)
        if record is None or "answer" not in record:
            return None
        return CachedAnswer(**record["answer"])

    def put(self, key: str, answer: CachedAnswer) -> None:
        self._append({"key": key, "answer": asdict(answer)})

    def get_pending_batch(self, key: str) -> str | None:
        record = self._records().get(f"batch:{key}")
        return record.get("batch_id") if record else None

    def set_pending_batch(self, key: str, batch_id: str | None) -> None:
        self._append({"key": f"batch:{key}", "batch_id": batch_id})


class RedisAnswerCache(AnswerCache):
    """Answers in one Redis hash (``key``), pending batches in ``key:batches``."""

    def __init__(self, client: Any, key: str) -> None:
        self.client = client
        self.key = key
        self.batches_key = f"{key}:batches"

    def get(self, key: str) -> CachedAnswer | None:
        raw = self.client.hget(self.key, key)
        return CachedAnswer(**json.loads(raw)) if raw is not None else None

    def put(self, key: str, answer: CachedAnswer) -> None:
        self.client.hset(self.key, key, json.dumps(asdict(answer), ensure_ascii=False))

    def get_pending_batch(self, key: str) -> str | None:
        raw = self.client.hget(self.batches_key, key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def set_pending_batch(self, key: str, batch_id: str | None) -> None:
        if batch_id is None:
            self.client.hdel(self.batches_key, key)
        else:
            self.client.hset(self.batches_key, key, batch_id)


def open_cache(path: str | os.PathLike | None = None, *, redis: Any = None, key: str | None = None) -> AnswerCache:
    """A cache in a JSON Lines file (``path``), a Redis hash (``redis`` + ``key``), or in memory."""
    if path is not None and redis is not None:
        raise ValueError("give a cache either a file path or a Redis client and key, not both")
    if redis is not None:
        if not key:
            raise ValueError("a Redis answer cache needs a key")
        return RedisAnswerCache(redis, key)
    if path is not None:
        return FileAnswerCache(path)
    return MemoryAnswerCache()
