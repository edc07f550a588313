"""Errors a labeller raises for problems the caller must fix (per-item failures are not raised)."""
from __future__ import annotations


class LabellerError(Exception):
    """Base class for labeller errors."""


class LabellerConfigError(LabellerError, ValueError):
    """A labeller was built with a bad or missing setting (unknown name, model, task type, key)."""


class BadCredentialsError(LabellerError):
    """The provider rejected the API key (HTTP 401/403): every further call would fail the same way."""


class UnknownPriceError(LabellerConfigError):
    """No price is known for a model, so its spending cannot be bounded."""
