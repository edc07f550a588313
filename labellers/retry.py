"""Retries with exponential backoff and jitter, and error classification shared by the SDKs.

The ``openai`` and ``anthropic`` SDKs expose the same exception layout (``APIStatusError`` with
``status_code``, ``APITimeoutError``, ``APIConnectionError``), so one set of rules serves both.
Their built-in retries are switched off (``max_retries=0``) and tenacity retries instead, so the
backoff is configurable (tests use millisecond waits) and logged.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

logger = logging.getLogger(__name__)
T = TypeVar("T")

# 408 request timeout, 409 lock conflict, 429 rate limit, 5xx/529 server trouble: worth retrying.
_TRANSIENT_STATUS = {408, 409, 429}


def is_transient(exc: BaseException, sdk: ModuleType) -> bool:
    if isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError)):
        return True
    return isinstance(exc, sdk.APIStatusError) and (
        exc.status_code in _TRANSIENT_STATUS or exc.status_code >= 500
    )


def is_auth_failure(exc: BaseException, sdk: ModuleType) -> bool:
    return isinstance(exc, sdk.APIStatusError) and exc.status_code in (401, 403)


def describe(exc: BaseException, sdk: ModuleType) -> str:
    """A short per-item error message."""
    if isinstance(exc, sdk.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def call_with_retries(
    fn: Callable[[], T],
    *,
    is_retryable: Callable[[BaseException], bool],
    max_retries: int,
    backoff_initial: float,
    backoff_max: float,
) -> T:
    """Call ``fn``; on a retryable error wait ``backoff_initial * 2**attempt`` (capped at
    ``backoff_max``) plus up to ``backoff_initial`` of random jitter, at most ``max_retries`` times."""
    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        wait=wait_exponential_jitter(initial=backoff_initial, max=backoff_max, jitter=backoff_initial),
        stop=stop_after_attempt(max_retries + 1),
        reraise=True,
        before_sleep=lambda state: logger.info(
            "retrying after %s (attempt %d)", state.outcome.exception(), state.attempt_number
        ),
    )
    return retrying(fn)
