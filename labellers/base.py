"""The labeller protocol and the machinery every paid (API) labeller shares.

:class:`Labeller` is what the backend sees: ``annotate(examples) -> list[Annotation]``,
``spent``, ``budget``, ``is_out_of_budget``, ``model_version``. :class:`ApiLabeller` adds the
money and failure handling of OpenAI, Anthropic and OpenAI-compatible labellers: answer cache,
budget reservations, bounded concurrency, retries, batch submission and polling. Provider
subclasses only translate requests and replies.
"""
from __future__ import annotations

import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from tqdm.auto import tqdm

from labellers.annotation import BUDGET_EXHAUSTED, Annotation
from labellers.answers import clean_answer
from labellers.cache import AnswerCache, CachedAnswer, MemoryAnswerCache, prompt_key
from labellers.errors import BadCredentialsError, LabellerConfigError, LabellerError
from labellers.ledger import BudgetLedger, MemoryLedger, Reservation
from labellers.pricing import Price, PriceLike, resolve_price, units_to_usd, usd_to_units
from labellers.prompts import Message, PromptTemplate
from labellers.retry import call_with_retries, describe, is_auth_failure, is_transient
from labellers.tokens import input_token_upper_bound
from training.example import Example

logger = logging.getLogger(__name__)


class Labeller(ABC):
    """Annotates examples. ``budget`` is in USD (None: no cap)."""

    name: str = ""
    model: str = ""

    @abstractmethod
    def annotate(self, examples: Sequence[Example], *, labeled: Sequence[Example] = ()) -> list[Annotation]:
        """One annotation per example, in order. ``labeled`` supplies few-shot examples."""

    @property
    def budget(self) -> float | None:
        return None

    @property
    def spent(self) -> float:
        return 0.0

    @property
    def is_out_of_budget(self) -> bool:
        return False

    @property
    def model_version(self) -> str:
        """Names the labeller in Label Studio predictions, e.g. ``openai:gpt-4o-mini``."""
        return f"{self.name}:{self.model}" if self.model else self.name


@dataclass(frozen=True)
class ChatRequest:
    example_id: Hashable
    messages: list[Message]
    key: str  # prompt hash; also the batch custom id (64 hex chars fit Anthropic's limit)


@dataclass(frozen=True)
class Reply:
    """What a provider answered: raw text (None if the reply had none) and billed tokens."""

    text: str | None
    input_tokens: int
    output_tokens: int
    error: str | None = None  # a paid reply that is not an answer (refusal, content filter)


class ApiLabeller(Labeller):
    """A labeller that pays per token, with a hard budget.

    Never exceeds the budget: before each request its worst-case cost (input token upper bound,
    output bounded by ``max_tokens``) is reserved in the ledger, and the request is only sent if
    the reservation fits (:mod:`labellers.ledger`). ``is_out_of_budget`` compares the persisted
    spend with the budget exactly (integer picodollars).
    """

    sdk: ModuleType
    provider: str = ""
    api_key_env: str = ""

    def __init__(
        self,
        model: str,
        *,
        budget: float | None = None,
        price: PriceLike | None = None,
        ledger: BudgetLedger | None = None,
        cache: AnswerCache | None = None,
        task: str = "generation",
        system_prompt: str | None = None,
        n_shots: int = 0,
        max_tokens: int = 512,
        temperature: float = 0.0,
        concurrency: int = 8,
        max_retries: int = 4,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        timeout: float = 120.0,
        use_batch: bool = False,
        poll_interval: float = 30.0,
        batch_timeout: float = 25 * 3600.0,
    ) -> None:
        if not model:
            raise LabellerConfigError(f"the {self.name} labeller needs a model name")
        if budget is not None and budget < 0:
            raise LabellerConfigError(f"budget must be >= 0 USD, got {budget}")
        if concurrency < 1 or max_tokens < 1:
            raise LabellerConfigError("concurrency and max_tokens must be >= 1")
        self.model = model
        self._budget = budget
        self.price = self._resolve_price(model, price)
        self.ledger = ledger if ledger is not None else MemoryLedger()
        self.cache = cache if cache is not None else MemoryAnswerCache()
        self.template = PromptTemplate.for_task(task, n_shots=n_shots, system=system_prompt)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.use_batch = use_batch
        self.poll_interval = poll_interval
        self.batch_timeout = batch_timeout

    def _resolve_price(self, model: str, price: PriceLike | None) -> Price:
        return resolve_price(model, price)

    # -- budget -----------------------------------------------------------------------------

    @property
    def budget(self) -> float | None:
        return self._budget

    @property
    def _budget_units(self) -> int | None:
        return None if self._budget is None else usd_to_units(self._budget)

    @property
    def spent(self) -> float:
        return self.ledger.spent

    @property
    def is_out_of_budget(self) -> bool:
        budget_units = self._budget_units
        return budget_units is not None and self.ledger.spent_units >= budget_units

    def _reserve(self, request: ChatRequest, *, batch: bool) -> Reservation | None:
        worst_case = self.price.cost_units(
            input_token_upper_bound(request.messages), self.max_tokens, batch=batch
        )
        return self.ledger.reserve(worst_case, self._budget_units)

    # -- annotate ---------------------------------------------------------------------------

    def annotate(self, examples: Sequence[Example], *, labeled: Sequence[Example] = ()) -> list[Annotation]:
        requests = [self._prepare(example, labeled) for example in examples]
        by_key: dict[str, Annotation] = {}
        to_send: dict[str, ChatRequest] = {}
        for request in requests:
            if request.key in by_key or request.key in to_send:
                continue
            cached = self.cache.get(request.key)
            if cached is not None:
                by_key[request.key] = Annotation(
                    request.example_id, cached.text, self.model, from_cache=True
                )
            else:
                to_send[request.key] = request
        if to_send:
            send = self._send_batch if self.use_batch else self._send_sync
            by_key.update(send(list(to_send.values())))
        return self._in_order(requests, by_key)

    def _prepare(self, example: Example, labeled: Sequence[Example]) -> ChatRequest:
        messages = self.template.messages(example, labeled)
        key = prompt_key(
            self.model, {"messages": messages, "max_tokens": self.max_tokens, "temperature": self.temperature}
        )
        return ChatRequest(example.id, messages, key)

    @staticmethod
    def _in_order(requests: list[ChatRequest], by_key: dict[str, Annotation]) -> list[Annotation]:
        """Annotations in request order; a repeated prompt reuses the first answer at no cost."""
        annotations, seen = [], set()
        for request in requests:
            annotation = replace(by_key[request.key], example_id=request.example_id)
            if request.key in seen and annotation.ok:
                annotation = replace(annotation, input_tokens=0, output_tokens=0, cost=0.0, from_cache=True)
            seen.add(request.key)
            annotations.append(annotation)
        return annotations

    def _finish(self, request: ChatRequest, reply: Reply, cost_units: int) -> Annotation:
        """The annotation of a paid reply; usable answers go to the cache."""
        text, error = ("", reply.error) if reply.error else clean_answer(reply.text)
        cost = units_to_usd(cost_units)
        if error is None:
            self.cache.put(
                request.key, CachedAnswer(text, self.model, reply.input_tokens, reply.output_tokens, cost)
            )
        return Annotation(
            request.example_id, text, self.model, reply.input_tokens, reply.output_tokens, cost, error
        )

    def _failed(self, request: ChatRequest, error: str) -> Annotation:
        return Annotation(request.example_id, "", self.model, error=error)

    # -- provider calls with retries and error classification -------------------------------

    def _call(self, fn):
        """Run one SDK call with retries; a rejected key becomes :class:`BadCredentialsError`."""
        try:
            return call_with_retries(
                fn,
                is_retryable=lambda exc: is_transient(exc, self.sdk),
                max_retries=self.max_retries,
                backoff_initial=self.backoff_initial,
                backoff_max=self.backoff_max,
            )
        except self.sdk.APIStatusError as exc:
            if is_auth_failure(exc, self.sdk):
                raise BadCredentialsError(
                    f"{self.provider} rejected the API key (HTTP {exc.status_code}: {exc.message}); "
                    f"check the api_key passed to the labeller or the {self.api_key_env} variable"
                ) from exc
            raise

    # -- synchronous path -------------------------------------------------------------------

    def _send_sync(self, requests: list[ChatRequest]) -> dict[str, Annotation]:
        results: dict[str, Annotation] = {}
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            futures = {pool.submit(self._ask, request): request for request in requests}
            progress = tqdm(as_completed(futures), total=len(futures), desc=f"{self.name} annotate", disable=None)
            for future in progress:
                results[futures[future].key] = future.result()
        finally:
            # On a bad key, stop queued requests; those in flight finish and their answers are kept.
            pool.shutdown(wait=True, cancel_futures=True)
        return results

    def _ask(self, request: ChatRequest) -> Annotation:
        reservation = self._reserve(request, batch=False)
        if reservation is None:
            return self._failed(request, BUDGET_EXHAUSTED)
        try:
            reply = self._call(lambda: self._complete(request.messages))
        except self.sdk.APIError as exc:
            reservation.release()
            return self._failed(request, describe(exc, self.sdk))
        except BaseException:
            reservation.release()
            raise
        cost_units = self.price.cost_units(reply.input_tokens, reply.output_tokens)
        reservation.settle(cost_units)
        return self._finish(request, reply, cost_units)

    @abstractmethod
    def _complete(self, messages: list[Message]) -> Reply:
        """Send one chat request synchronously (no retries here)."""

    # -- batch path -------------------------------------------------------------------------

    def _send_batch(self, requests: list[ChatRequest]) -> dict[str, Annotation]:
        """Reserve worst cases at the batch price, submit what fits as one batch, poll, map back.

        The batch id is remembered in the cache until its results are in, so a crashed round
        resumes polling the same batch instead of paying for a second one.
        """
        results: dict[str, Annotation] = {}
        admitted: dict[str, tuple[ChatRequest, Reservation]] = {}
        for request in requests:
            reservation = self._reserve(request, batch=True)
            if reservation is None:
                results[request.key] = self._failed(request, BUDGET_EXHAUSTED)
            else:
                admitted[request.key] = (request, reservation)
        if not admitted:
            return results
        batch_key = hashlib.sha256(" ".join(sorted(admitted)).encode()).hexdigest()
        try:
            batch_id = self.cache.get_pending_batch(batch_key)
            if batch_id is None:
                batch_id = self._submit_batch([request for request, _ in admitted.values()])
                self.cache.set_pending_batch(batch_key, batch_id)
            else:
                logger.info("resuming %s batch %s", self.provider, batch_id)
            replies, missing_reason = self._wait_and_collect(batch_id)
        except BaseException:
            for _, reservation in admitted.values():
                reservation.release()
            raise
        for key, (request, reservation) in admitted.items():
            reply = replies.get(key, missing_reason)
            if isinstance(reply, Reply):
                cost_units = self.price.cost_units(reply.input_tokens, reply.output_tokens, batch=True)
                reservation.settle(cost_units)
                results[key] = self._finish(request, reply, cost_units)
            else:
                reservation.release()
                results[key] = self._failed(request, reply)
        self.cache.set_pending_batch(batch_key, None)
        failures = sum(1 for key in admitted if not results[key].ok)
        if failures:
            logger.warning("%s batch %s: %d of %d requests failed", self.provider, batch_id, failures, len(admitted))
        return results

    def _wait_and_collect(self, batch_id: str) -> tuple[dict[str, Reply | str], str]:
        deadline = time.monotonic() + self.batch_timeout
        while True:
            done, batch = self._call(lambda: self._poll_batch(batch_id))
            if done:
                return self._collect_batch(batch)
            if time.monotonic() > deadline:
                raise LabellerError(
                    f"{self.provider} batch {batch_id} still running after {self.batch_timeout:.0f} s; "
                    "annotating the same examples again resumes it"
                )
            time.sleep(self.poll_interval)

    @abstractmethod
    def _submit_batch(self, requests: list[ChatRequest]) -> str:
        """Create a batch whose custom ids are the requests' keys; return its id."""

    @abstractmethod
    def _poll_batch(self, batch_id: str) -> tuple[bool, Any]:
        """``(finished, batch object)``; finished includes ended, expired, failed, cancelled."""

    @abstractmethod
    def _collect_batch(self, batch: Any) -> tuple[dict[str, Reply | str], str]:
        """Per custom id a :class:`Reply` or an error message for a failed row; and the error
        for requests with no row at all (e.g. the batch expired before they ran)."""
