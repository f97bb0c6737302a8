"""Rate limits on what can be guessed or flooded: sign-in, consent codes, claims.

Fixed windows counted in Redis when `SKILLVOUCHER_REDIS_URL` is set, so that every process of a
deployment shares one count; otherwise in this process's memory (development, the demo, one
process). A limit says how many hits a key may make per window; the hit past it is refused with
RateLimited, which says when to come back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from skillvoucher.domain.errors import DomainError


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after_seconds: int = 60) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Limit:
    name: str
    hits: int
    window_seconds: int


# Why these numbers: a person types a password or a six-digit code a few times a minute at
# most; a script tries thousands. Consent codes (10^6 values, 10-minute life) get 10 tries per
# voucher per 10 minutes: a guesser's odds stay below 1 in 100,000 per code.
SIGN_IN_PER_USER = Limit("sign-in:user", 10, 60)
SIGN_IN_PER_CLIENT = Limit("sign-in:client", 30, 60)
CONSENT_GRANTS_PER_VOUCHER = Limit("consent:grant", 5, 600)
CONSENT_TRIES_PER_VOUCHER = Limit("consent:try", 10, 600)
CLAIMS_PER_PERSON = Limit("claim:person", 5, 60)


class Counter(Protocol):
    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one hit of ``key`` in its current window: (hits so far, seconds left)."""
        ...


class NoCounter:
    """Counts nothing: every hit is the first (limits switched off)."""

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        return 1, window_seconds


class MemoryCounter:
    """One process's counts; enough for development and a single-process demo."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        with self._lock:
            if len(self._counts) > 100_000:  # old windows are never read again
                self._counts = {k: v for k, v in self._counts.items() if v[1] >= window}
            count, seen_window = self._counts.get(key, (0, window))
            count = count + 1 if seen_window == window else 1
            self._counts[key] = (count, window)
        return count, int((window + 1) * window_seconds - now) + 1


class RedisCounter:
    """Counts shared by every process: INCR on a key per window, expiring with it."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        import redis  # only deployments that configure Redis need the client loaded

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._clock = clock

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = self._clock()
        window = int(now // window_seconds)
        name = f"skillvoucher:rate:{key}:{window}"
        with self._redis.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds + 1)
            count, _ = pipe.execute()
        return int(count), int((window + 1) * window_seconds - now) + 1


class RateLimiter:
    def __init__(self, counter: Counter) -> None:
        self._counter = counter

    def check(self, limit: Limit, subject: str) -> None:
        """Count a hit of ``subject`` against ``limit``; RateLimited past it."""
        count, seconds_left = self._counter.hit(f"{limit.name}:{subject}", limit.window_seconds)
        if count > limit.hits:
            raise RateLimited(
                f"too many attempts; try again in {seconds_left} seconds", seconds_left
            )


def limiter_for(redis_url: str | None) -> RateLimiter:
    return RateLimiter(RedisCounter(redis_url) if redis_url else MemoryCounter())
