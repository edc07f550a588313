"""The budget ledger: money spent so far, persisted so a restart continues the count.

Spending is stored as an integer number of picodollars (see :mod:`labellers.pricing`) in a JSON
file or a Redis key. Before a request is sent, its worst-case cost is *reserved*; the request
goes out only if ``spent + reserved + worst_case <= budget``. When the answer arrives the
reservation is replaced by the real cost. Because the worst case bounds the real cost, the
persisted spend can never pass the budget, even with many requests in flight.

Reservations live in this process (one round per project runs at a time); the spend itself is
re-read from the store on every reservation, so spend recorded by another process counts.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labellers.pricing import units_to_usd

logger = logging.getLogger(__name__)


class Reservation:
    """Money set aside for one request; ``settle`` it with the real cost or ``release`` it."""

    def __init__(self, ledger: BudgetLedger, units: int) -> None:
        self._ledger = ledger
        self.units = units
        self._open = True

    def settle(self, actual_units: int) -> None:
        if self._open:
            self._open = False
            self._ledger._settle(self.units, actual_units)

    def release(self) -> None:
        if self._open:
            self._open = False
            self._ledger._settle(self.units, 0)


class BudgetLedger(ABC):
    """Spent money (persisted) plus in-flight reservations (this process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reserved_units = 0

    @abstractmethod
    def _read_spent_units(self) -> int: ...

    @abstractmethod
    def _add_spent_units(self, units: int) -> None: ...

    @property
    def spent_units(self) -> int:
        return self._read_spent_units()

    @property
    def spent(self) -> float:
        """USD spent so far (all processes, all runs sharing this store)."""
        return units_to_usd(self._read_spent_units())

    def reserve(self, units: int, budget_units: int | None) -> Reservation | None:
        """Set ``units`` aside if they fit under ``budget_units`` (None: no cap); None if they do not."""
        with self._lock:
            if budget_units is not None:
                committed = self._read_spent_units() + self._reserved_units
                if committed + units > budget_units:
                    return None
            self._reserved_units += units
            return Reservation(self, units)

    def _settle(self, reserved_units: int, actual_units: int) -> None:
        if actual_units > reserved_units:
            # Only possible if a provider bills more tokens than the request's upper bound.
            logger.warning(
                "request cost %d pUSD, above its reserved worst case %d pUSD", actual_units, reserved_units
            )
        with self._lock:
            if actual_units:
                self._add_spent_units(actual_units)
            self._reserved_units -= reserved_units


class MemoryLedger(BudgetLedger):
    """A ledger that forgets on restart (for simulations and tests)."""

    def __init__(self) -> None:
        super().__init__()
        self._spent = 0

    def _read_spent_units(self) -> int:
        return self._spent

    def _add_spent_units(self, units: int) -> None:
        self._spent += units


@contextmanager
def locked_file(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path``.lock, shared by every process using ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FileLedger(BudgetLedger):
    """Spend kept in a JSON file, ``{"spent_picodollars": N}``; writes are atomic (rename)."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(path)

    def _read_spent_units(self) -> int:
        if not self.path.exists():
            return 0
        return int(json.loads(self.path.read_text())["spent_picodollars"])

    def _add_spent_units(self, units: int) -> None:
        with locked_file(self.path):
            total = self._read_spent_units() + units
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps({"spent_picodollars": total}))
            os.replace(tmp, self.path)


class RedisLedger(BudgetLedger):
    """Spend kept in one Redis key, incremented atomically (``INCRBY``) by every process."""

    def __init__(self, client: Any, key: str) -> None:
        super().__init__()
        self.client = client
        self.key = key

    def _read_spent_units(self) -> int:
        value = self.client.get(self.key)
        return int(value) if value is not None else 0

    def _add_spent_units(self, units: int) -> None:
        self.client.incrby(self.key, units)


def open_ledger(path: str | os.PathLike | None = None, *, redis: Any = None, key: str | None = None) -> BudgetLedger:
    """A ledger in a file (``path``), in a Redis key (``redis`` client + ``key``), or in memory."""
    if path is not None and redis is not None:
        raise ValueError("give a ledger either a file path or a Redis client and key, not both")
    if redis is not None:
        if not key:
            raise ValueError("a Redis ledger needs a key")
        return RedisLedger(redis, key)
    if path is not None:
        return FileLedger(path)
    return MemoryLedger()
