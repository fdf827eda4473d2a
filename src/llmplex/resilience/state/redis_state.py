"""State shared through Redis: each operation one Lua script, timed by Redis's own clock.

Every multi-step operation (a GCRA take over several buckets, a breaker admission or transition)
runs as one script, so concurrent processes never interleave inside it, and reads the time with
``redis.call('TIME')``, so replicas whose clocks disagree still agree on every decision
(RELIABILITY.md H8). Keys are ``<namespace>:<policy key>`` and expire: a bucket a second after it
is full again, a breaker a few minutes after its last change.

When Redis cannot be reached (refused, timed out, any Redis error), decisions come from this
process's own :class:`MemoryState` (breakers always; rate limits as ``on_error`` says) and Redis is
tried again ``retry_interval`` seconds later, so an outage adds at most one socket timeout per
interval to a call (H9). ``stats()`` counts errors and decisions taken without Redis.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from .. import breaker
from ..breaker import BreakerConfig, BreakerState, Transition
from ..limiter import Bucket
from .memory import MemoryState

__all__ = ["OnError", "RedisState"]

log = logging.getLogger("llmplex.state")

OnError = Literal["local", "open", "closed"]
"""What rate limits do while Redis is unreachable: ``local`` (default) enforces them per process
from in-process state; ``open`` admits every call; ``closed`` refuses every call with
``RateLimitError``. Breakers always fall back to in-process state."""

T = TypeVar("T")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function fmt(x) return string.format('%.6f', x) end
"""

_TAKE = _NOW + """
local max_wait = tonumber(ARGV[1])
local wait = 0
local moved = {}
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 3
  local interval = tonumber(ARGV[base + 1])
  local burst = tonumber(ARGV[base + 2])
  local cost = math.min(tonumber(ARGV[base + 3]), burst)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  moved[i] = tat + cost * interval
  local w = moved[i] - burst * interval - now
  if w > wait then wait = w end
end
if wait > max_wait + 0.000001 then return {0, fmt(wait)} end
if wait <= 0.000001 then wait = 0 end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, fmt(moved[i]), 'PX', math.ceil((moved[i] - now) * 1000) + 1000)
end
return {1, fmt(wait)}
"""

_ADJUST = _NOW + """
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
tat = tat + tonumber(ARGV[1])
if tat < now then tat = now end
local floor = now + tonumber(ARGV[2])
if tat < floor then tat = floor end
redis.call('SET', KEYS[1], fmt(tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
return 1
"""

# ARGV: open_for, probes, probe_timeout, ttl_ms. Returns nil (admitted) or seconds to wait.
_BREAKER_ADMIT = """
local h = redis.call('HMGET', KEYS[1], 'st', 'oa', 'pr', 'pd')
if not h[1] or h[1] == 'closed' then return false end
""" + _NOW + """
local probes, pt = tonumber(ARGV[2]), tonumber(ARGV[3])
local pr, pd = tonumber(h[3]) or 0, tonumber(h[4]) or 0
if h[1] == 'open' then
  local reopen = (tonumber(h[2]) or 0) + tonumber(ARGV[1])
  if now < reopen then return fmt(reopen - now) end
  pr = 0
  redis.call('HSET', KEYS[1], 'st', 'half_open', 'su', 0)
end
if pr < probes or now >= pd then
  if pr < probes then pr = pr + 1 else pr = 1 end
  redis.call('HSET', KEYS[1], 'pr', pr, 'pd', fmt(now + pt))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return false
end
return fmt(pd - now)
"""

# ARGV: kind, failures, failure_rate, min_calls, window, probes, ttl_ms. Mirrors breaker.record;
# returns 1 when the circuit opened, 2 when it closed, else 0.
_BREAKER_RECORD = """
local key, kind = KEYS[1], ARGV[1]
local h = redis.call('HMGET', key, 'st', 'cons', 'ws', 'c', 'f', 'pc', 'pf', 'pr', 'su')
local st = h[1] or 'closed'
if st == 'open' then return 0 end
""" + _NOW + """
if st == 'half_open' then
  local changed = 0
  if kind == 'failure' then
    redis.call('HSET', key, 'st', 'open', 'oa', fmt(now), 'pr', 0, 'su', 0)
    changed = 1
  else
    local su = tonumber(h[9]) or 0
    if kind == 'success' then su = su + 1 end
    if su >= tonumber(ARGV[6]) then
      redis.call('DEL', key)
      return 2
    end
    redis.call('HSET', key, 'pr', math.max((tonumber(h[8]) or 0) - 1, 0), 'su', su)
  end
  redis.call('PEXPIRE', key, ARGV[7])
  return changed
end
if kind ~= 'success' and kind ~= 'failure' then return 0 end
local window = tonumber(ARGV[5])
local ws, c, f = tonumber(h[3]), tonumber(h[4]) or 0, tonumber(h[5]) or 0
local pc, pf, cons = tonumber(h[6]) or 0, tonumber(h[7]) or 0, tonumber(h[2]) or 0
if ws == nil or now - ws >= 2 * window then
  ws, c, f, pc, pf = now, 0, 0, 0, 0
elseif now - ws >= window then
  ws, pc, pf, c, f = ws + window, c, f, 0, 0
end
c = c + 1
if kind == 'failure' then f, cons = f + 1, cons + 1 else cons = 0 end
local weight = math.max(0, 1 - (now - ws) / window)
local calls = c + pc * weight
local tripped = cons >= tonumber(ARGV[2])
  or (calls >= tonumber(ARGV[4]) and (f + pf * weight) >= tonumber(ARGV[3]) * calls)
if tripped then st = 'open' end
redis.call('HSET', key, 'st', st, 'cons', cons, 'ws', fmt(ws), 'c', c, 'f', f, 'pc', pc, 'pf', pf)
if tripped then redis.call('HSET', key, 'oa', fmt(now), 'pr', 0, 'su', 0) end
redis.call('PEXPIRE', key, ARGV[7])
if tripped then return 1 end
return 0
"""

_FIELDS = ("st", "cons", "ws", "c", "f", "pc", "pf", "oa", "pr", "pd", "su")
_TRANSITIONS: tuple[Transition | None, ...] = (None, "opened", "closed")


def _import_redis() -> Any:
    try:
        import redis
    except ImportError:  # pragma: no cover - depends on the environment
        from ...errors import ConfigurationError

        raise ConfigurationError("RedisState needs redis-py: pip install 'llmplex[redis]'") from None
    return redis


class RedisState:
    """State shared by every process that uses the same Redis and ``namespace``.

    ``url`` (``redis://host:6379/0``) or a ready ``client`` (a ``redis.Redis``); ``timeout``: the
    socket connect and read timeout in seconds (keep it short: it is the most an outage adds to a
    call); ``on_error``: see :data:`OnError`; ``clock``: the monotonic clock of the in-process
    fallback state and of the retry interval (Redis's ``TIME`` decides everything else).

    >>> state = RedisState("redis://127.0.0.1:6379/0", namespace="myapp")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        namespace: str = "llmplex",
        on_error: OnError = "local",
        timeout: float = 0.1,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if on_error not in ("local", "open", "closed"):
            raise ValueError(f"on_error must be 'local', 'open' or 'closed', got {on_error!r}")
        redis = _import_redis()
        if client is None:
            if url is None:
                raise ValueError("RedisState needs url= or client=")
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
            )
        self.redis = client
        self.namespace = namespace
        self.on_error = on_error
        self.retry_interval = retry_interval
        self.local = MemoryState(clock)
        self._errors_type = redis.RedisError
        self._down_until = -math.inf
        self._counts = {"redis_errors": 0, "local_decisions": 0, "limits_without_redis": 0}
        self._lock = threading.Lock()
        self._take = client.register_script(_TAKE)
        self._adjust = client.register_script(_ADJUST)
        self._admit = client.register_script(_BREAKER_ADMIT)
        self._record = client.register_script(_BREAKER_RECORD)
        self._budget_request = client.register_script(_BUDGET_REQUEST)
        self._budget_acquire = client.register_script(_BUDGET_ACQUIRE)
        self._budget_release = client.register_script(_BUDGET_RELEASE)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def _shared(self, remote: Callable[[], T], local: Callable[[], T]) -> T:
        """Run ``remote`` against Redis, or ``local`` while Redis is down."""
        if self.local.clock() >= self._down_until:
            try:
                return remote()
            except self._errors_type as exc:
                with self._lock:
                    self._counts["redis_errors"] += 1
                    first = self._down_until == -math.inf or self.local.clock() >= self._down_until
                    self._down_until = self.local.clock() + self.retry_interval
                if first:
                    log.warning("redis unreachable (%s); deciding from in-process state", type(exc).__name__)
        with self._lock:
            self._counts["local_decisions"] += 1
        return local()

    def take(self, buckets: Sequence[Bucket], max_wait: float) -> tuple[bool, float]:
        args: list[Any] = [max_wait]
        for b in buckets:
            args += [b.interval, b.burst, b.cost]

        def remote() -> tuple[bool, float]:
            admitted, seconds = self._take(keys=[self._key(b.key) for b in buckets], args=args)
            return bool(admitted), float(seconds)

        return self._shared(remote, lambda: self._take_locally(buckets, max_wait))

    def _take_locally(self, buckets: Sequence[Bucket], max_wait: float) -> tuple[bool, float]:
        with self._lock:
            self._counts["limits_without_redis"] += 1
        if self.on_error == "open":
            return True, 0.0
        if self.on_error == "closed":
            return False, self.retry_interval
        return self.local.take(buckets, max_wait)

    def adjust(self, bucket: Bucket, delta: float = 0.0, at_least: float = 0.0) -> None:
        self._shared(
            lambda: self._adjust(keys=[self._key(bucket.key)], args=[delta * bucket.interval, at_least]),
            lambda: self.local.adjust(bucket, delta, at_least),
        )

    # -- retry budget ---------------------------------------------------------------------------------
    def budget_request(self, key: str, ratio: float, window: float, min_concurrent: int) -> None:
        self._shared(
            lambda: self._budget_request(keys=[self._key(key) + ":req"], args=[math.ceil(window * 2)]),
            lambda: self.local.budget_request(key, ratio, window, min_concurrent),
        )

    def budget_acquire(self, key: str, ratio: float, window: float, min_concurrent: int) -> bool:
        base = self._key(key)
        return bool(self._shared(
            lambda: self._budget_acquire(keys=[base + ":req", base + ":ret", base + ":run", base + ":seq"],
                                         args=[ratio, window, min_concurrent, RETRY_HOLD]),
            lambda: self.local.budget_acquire(key, ratio, window, min_concurrent),
        ))

    def budget_release(self, key: str) -> None:
        self._shared(lambda: self._budget_release(keys=[self._key(key) + ":run"]),
                     lambda: self.local.budget_release(key))

    def breaker_admit(self, key: str, cfg: BreakerConfig) -> float | None:
        def remote() -> float | None:
            found = self._admit(keys=[self._key(key)], args=[cfg.open_for, cfg.probes, cfg.probe_timeout, _ttl(cfg)])
            return None if found is None else float(found)

        return self._shared(remote, lambda: self.local.breaker_admit(key, cfg))

    def breaker_record(self, key: str, kind: str, cfg: BreakerConfig) -> Transition | None:
        args = [kind, cfg.failures, cfg.failure_rate, cfg.min_calls, cfg.window, cfg.probes, _ttl(cfg)]
        changed: Transition | None = self._shared(
            lambda: _TRANSITIONS[int(self._record(keys=[self._key(key)], args=args))],
            lambda: self.local.breaker_record(key, kind, cfg),
        )
        return changed

    def breakers(self, keys: Sequence[str], cfg: BreakerConfig) -> list[BreakerState]:
        def remote() -> list[BreakerState]:
            pipe = self.redis.pipeline(transaction=False)
            pipe.time()
            for key in keys:
                pipe.hmget(self._key(key), _FIELDS)
            (seconds, micros), *rows = pipe.execute()
            now = seconds + micros / 1e6
            return [_breaker_state(row, now, cfg) for row in rows]

        return self._shared(remote, lambda: self.local.breakers(keys, cfg))

    def stats(self) -> dict[str, int]:
        """``redis_errors`` (failed Redis calls), ``local_decisions`` (operations of any policy
        answered without Redis) and ``limits_without_redis`` (rate-limit decisions among them,
        taken as ``on_error`` says)."""
        with self._lock:
            return dict(self._counts)

    def __repr__(self) -> str:
        return f"<RedisState namespace={self.namespace!r} on_error={self.on_error!r}>"


_BUDGET_REQUEST = """
local sec = redis.call('TIME')[1]
redis.call('HINCRBY', KEYS[1], sec, 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

_BUDGET_ACQUIRE = """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec + tonumber(t[2]) / 1000000
local ratio, window, floor, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local oldest = sec - window + 1
local function total(key)
  local sum = 0
  local vals = redis.call('HGETALL', key)
  for i = 1, #vals, 2 do
    if tonumber(vals[i]) < oldest then redis.call('HDEL', key, vals[i]) else sum = sum + tonumber(vals[i + 1]) end
  end
  return sum
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= floor then
  if total(KEYS[2]) + 1 > ratio * total(KEYS[1]) then return 0 end
end
local token = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[3], now + hold, token)
redis.call('HINCRBY', KEYS[2], sec, 1)
local ttl = math.ceil(window * 2 + hold)
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
return 1
"""

_BUDGET_RELEASE = """
redis.call('ZPOPMIN', KEYS[1])
return 1
"""

RETRY_HOLD = 120.0
"""Seconds a granted retry counts as under way at most (a process that dies mid-retry stops
holding a slot after this)."""


def _ttl(cfg: BreakerConfig) -> int:
    """Milliseconds a breaker's hash outlives its last change: past the window and a full
    open-then-probe cycle, after which a fresh closed breaker is the same thing."""
    return int((max(2 * cfg.window, cfg.open_for + cfg.probe_timeout) + 60.0) * 1000)


def _breaker_state(row: Sequence[bytes | None], now: float, cfg: BreakerConfig) -> BreakerState:
    values = dict(zip(_FIELDS, row, strict=True))

    def num(name: str) -> float:
        raw = values.get(name)
        return float(raw) if raw is not None else 0.0

    status = (values.get("st") or b"closed").decode()
    s = BreakerState(
        state="open" if status == "open" else "half_open" if status == "half_open" else "closed",
        consecutive=int(num("cons")), calls=int(num("c")), failed=int(num("f")),
        prev_calls=int(num("pc")), prev_failed=int(num("pf")), opened_at=num("oa"),
        probes=int(num("pr")), probe_deadline=num("pd"), successes=int(num("su")),
        window_start=num("ws") if values.get("ws") is not None else -math.inf,
    )
    s.state = breaker.current(s, now, cfg)
    return s
