"""Spend budgets: a limit in USD on what a client or a session may spend, checked before each call.

A :class:`Budget` is given to ``Client(budget=...)`` or ``client.session(name, budget=...)``; every
budget that applies to a call (the client's and those of every session it runs in) must allow it.
The call factory attaches a :class:`Spend` to a call only when some budget applies, so a call
without one pays nothing for this feature.

What happens to one call:

1. **Before anything is sent to a model** (its first attempt: for the first model of the chain
   and again for each fallback, at that model's price), its cost is estimated from the catalog:
   the prompt's tokens by ``catalog.tokens.estimate_tokens`` (4 characters per token: cheap, and
   the same for every provider), all priced as fresh input, plus the output: ``max_completion_tokens`` or
   ``max_tokens`` (times ``n``) when the request sets them, else the budget's
   ``assumed_output_tokens`` (1,024 unless set); embeddings have no output.
2. Each budget must have room, ``spent + reserved + estimate <= max_usd``, or the call raises
   :class:`~llmplex.errors.BudgetExceededError` and nothing is sent. The estimate is then
   **reserved** (under the budget's lock): calls in flight count against the budget, so
   concurrent calls — threads or tasks — cannot together spend more than it allows.
3. **When the call ends**, the reservation is settled: a success is charged its real
   ``response.cost`` (the reservation itself when the price is known but the provider reported no
   usage); a failure releases it (providers report no usage for a failed call); a stream that
   ends early after it was handed over (abandoned, interrupted) and a reply that arrived but
   could not be used (invalid, failed its schema) are charged the reservation: the provider has
   billed them, and the estimate is the only figure there is.

A model whose price the catalog does not know (no entry, or a prompt past the priced tier)
cannot be estimated. ``on_unknown_price="refuse"`` (the default) raises ``BudgetExceededError``
saying so: a budget that any unpriced model could bypass would not be a limit. ``"allow"`` lets
the call through uncharged, counts it in ``budget.unpriced`` and logs one warning per model.

Fallbacks: a budget refusal is never retried; the next model of the chain is tried, checked at its
own price, so only a model whose estimate fits is sent — never a pricier one. After a refusal, a
model without a price is refused too, whatever ``on_unknown_price`` says: it cannot be shown to
be cheaper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ..catalog.info import model_info
from ..catalog.tokens import CHARS_PER_TOKEN, _estimate_tools, estimate_tokens
from ..errors import BudgetExceededError, ConfigurationError, InvalidResponseError, StructuredOutputError

if TYPE_CHECKING:
    from .._pipeline import Call
    from ..catalog.cost import Cost

__all__ = ["ASSUMED_OUTPUT_TOKENS", "Budget", "Spend", "as_budget", "attach"]

ASSUMED_OUTPUT_TOKENS = 1024
"""Output tokens a call is assumed to produce when it sets no ``max_tokens`` (per budget:
``Budget(assumed_output_tokens=...)``). The real cost is charged afterwards; a call that writes
more than assumed can take a budget past its limit by the difference."""

_ZERO = Decimal(0)
_MILLION = Decimal(1_000_000)
_log = logging.getLogger("llmplex")


class Budget:
    """A limit in USD on what calls may spend, checked before each call is sent.

    >>> import llmplex
    >>> budget = llmplex.Budget(max_usd=1.50, name="nightly-batch")
    >>> client = llmplex.Client(budget=budget)  # or Client(budget=1.50)
    >>> budget.spent, budget.remaining
    (0.0, 1.5)

    ``spent`` is what finished calls cost, ``reserved`` what calls in flight hold (their estimates),
    ``remaining`` the room left for new calls; ``reset()`` starts a new period. One budget may be
    shared by several clients and sessions; it is safe across threads and tasks.
    """

    __slots__ = ("_lock", "_max", "_reserved", "_spent", "_warned", "assumed_output_tokens", "name",
                 "on_unknown_price", "unpriced")

    def __init__(
        self,
        max_usd: float | Decimal | int,
        *,
        name: str = "budget",
        on_unknown_price: Literal["allow", "refuse"] = "refuse",
        assumed_output_tokens: int = ASSUMED_OUTPUT_TOKENS,
    ) -> None:
        self._max = _usd(max_usd, "Budget(max_usd=...)")
        if on_unknown_price not in ("allow", "refuse"):
            raise ConfigurationError(f"Budget(on_unknown_price=...) is 'allow' or 'refuse', not {on_unknown_price!r}")
        if isinstance(assumed_output_tokens, bool) or not isinstance(assumed_output_tokens, int) \
                or assumed_output_tokens < 0:
            raise ConfigurationError(
                f"Budget(assumed_output_tokens=...) must be a whole number >= 0, got {assumed_output_tokens!r}")
        self.name = name
        self.on_unknown_price = on_unknown_price
        self.assumed_output_tokens = assumed_output_tokens
        self.unpriced = 0
        """Calls let through without a price (``on_unknown_price="allow"``): not in ``spent``."""
        self._spent = _ZERO
        self._reserved = _ZERO
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @property
    def max_usd(self) -> float:
        """The limit, in USD."""
        return float(self._max)

    @property
    def spent(self) -> float:
        """What the calls that ended since the last ``reset()`` cost, in USD."""
        return float(self._spent)

    @property
    def reserved(self) -> float:
        """The estimates held by calls in flight, in USD."""
        return float(self._reserved)

    @property
    def remaining(self) -> float:
        """Room left for new calls: ``max_usd - spent - reserved`` (never below 0)."""
        with self._lock:
            return float(max(self._max - self._spent - self._reserved, _ZERO))

    def reset(self) -> None:
        """Start a new period: ``spent`` and ``unpriced`` back to 0. Calls in flight keep their
        reservations and are charged to the new period when they end."""
        with self._lock:
            self._spent = _ZERO
            self.unpriced = 0

    def __repr__(self) -> str:
        return (f"<Budget {self.name!r} spent=${self._spent:.4f} reserved=${self._reserved:.4f} "
                f"of ${self._max}>")

    # -- what Spend does, each step under the lock ---------------------------------------------------
    def _hold(self, amount: Decimal) -> tuple[Decimal, Decimal] | None:
        """Reserve ``amount`` if it fits; else ``(spent, reserved)`` as they were, for the error."""
        with self._lock:
            if self._spent + self._reserved + amount > self._max:
                return self._spent, self._reserved
            self._reserved += amount
            return None

    def _settle(self, held: Decimal, charge: Decimal) -> None:
        with self._lock:
            self._reserved -= held
            self._spent += charge

    def _let_through(self, model: str) -> None:
        """A call without a price goes ahead (``on_unknown_price="allow"``): count it, warn once."""
        with self._lock:
            self.unpriced += 1
            first = model not in self._warned
            self._warned.add(model)
        if first:
            _log.warning("budget %r: %s has no price in the catalog; its calls are let through uncounted "
                         "(on_unknown_price='allow')", self.name, model)


def _usd(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ConfigurationError(f"{where} takes an amount in USD (a number like 1.50), got {type(value).__name__}")
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ConfigurationError(f"{where} must be a finite amount in USD, got {value!r}")
    if amount < 0:
        raise ConfigurationError(f"{where} must be 0 or more USD, got {value!r}")
    return amount


def as_budget(value: Budget | float | Decimal | int | None, name: str) -> Budget | None:
    """``budget=`` of a client or session as a :class:`Budget` (a bare amount gets ``name``)."""
    if value is None or isinstance(value, Budget):
        return value
    return Budget(value, name=name)


class Spend:
    """The budgets' side of one logical call: a reservation per model tried, settled once at the end.

    Built by :func:`attach`; the drivers call :meth:`reserve` before the first attempt of each
    model, the call's observer :meth:`settle` (success) or :meth:`failed` when the call ends."""

    __slots__ = ("_held", "_prompt", "_refused", "budgets", "operation", "output", "overrides", "request")

    def __init__(self, budgets: tuple[Budget, ...], operation: str, request: Mapping[str, Any],
                 overrides: Mapping[str, Any] | None) -> None:
        self.budgets = budgets
        self.operation = operation
        self.request = request
        self.overrides = overrides
        self.output = _output_tokens(operation, request)
        """The output tokens the request caps itself to (``None``: not set, each budget assumes)."""
        self._prompt: int | None = None
        self._held: list[tuple[Budget, Decimal]] = []
        self._refused = False

    def prompt_tokens(self) -> int:
        """The prompt's estimated tokens (computed once)."""
        if self._prompt is None:
            self._prompt = _prompt_tokens(self.operation, self.request)
        return self._prompt

    def reserve(self, provider: str, model: str) -> None:
        """Reserve this model's estimated cost in every budget, or raise ``BudgetExceededError``
        (holding nothing). A reservation made for an earlier model of the chain is released first."""
        self._release(charge=False)
        rates = _rates(provider, model, self.overrides, self.prompt_tokens())
        held: list[tuple[Budget, Decimal]] = []
        for budget in self.budgets:
            output = self.output if self.output is not None else budget.assumed_output_tokens
            estimate = _estimate(rates, self.prompt_tokens(), output)
            if estimate is None:
                if budget.on_unknown_price == "allow" and not self._refused:
                    budget._let_through(f"{provider}/{model}")
                    continue
                error = _unknown_price(budget, provider, model, self._refused)
            else:
                refused = budget._hold(estimate)
                if refused is None:
                    held.append((budget, estimate))
                    continue
                error = _over_budget(budget, provider, model, refused, estimate, self.prompt_tokens(), output,
                                     self.output is None)
            for earlier, amount in held:
                earlier._settle(amount, _ZERO)
            self._refused = True
            raise error
        self._held = held

    def settle(self, cost: Cost | None) -> None:
        """The call succeeded: charge its real cost (``None``: not priced, charge the reservation —
        or nothing when there was none: an unpriced model, a response served without a call)."""
        held, self._held = self._held, []
        for budget, amount in held:
            budget._settle(amount, cost.total if cost is not None else amount)

    def failed(self, error: BaseException, streamed: bool) -> None:
        """The call failed with ``error``; ``streamed``: after its stream was handed over."""
        self._release(charge=streamed or isinstance(error, (InvalidResponseError, StructuredOutputError)))

    def _release(self, charge: bool) -> None:
        held, self._held = self._held, []
        for budget, amount in held:
            budget._settle(amount, amount if charge else _ZERO)


def attach(call: Call[Any], request: Mapping[str, Any], client_budget: Budget | None,
           overrides: Mapping[str, Any] | None) -> None:
    """Give ``call`` (and its fallbacks) a :class:`Spend` when a budget applies: the client's and
    those of the sessions the call runs in (each budget once)."""
    budgets: list[Budget] = [client_budget] if client_budget is not None else []
    for session in call.events.sessions:
        budget = session.budget
        if budget is not None and all(budget is not b for b in budgets):
            budgets.append(budget)
    if not budgets:
        return
    spend = Spend(tuple(budgets), call.events.operation, request, overrides)
    call.events.spend = spend
    for each in (call, *call.fallbacks):
        each.spend = spend


# -- estimating ----------------------------------------------------------------------------------


def _rates(provider: str, model: str, overrides: Mapping[str, Any] | None,
           prompt: int) -> tuple[Decimal | None, Decimal | None] | None:
    """(input, output) USD per million tokens, either ``None`` when unknown; ``None`` when the
    catalog knows no price for the model at all (or not for a prompt this long)."""
    info = model_info(provider, model, overrides)
    if info is None:
        return None
    if info.local:
        return _ZERO, _ZERO
    prices = info.prices
    if prices is None or (prices.up_to_prompt_tokens is not None and prompt > prices.up_to_prompt_tokens):
        return None
    output = prices.output
    if output is not None and prices.reasoning is not None:
        output = max(output, prices.reasoning)  # the estimate is an upper bound: thinking may cost more
    return prices.input, output


def _estimate(rates: tuple[Decimal | None, Decimal | None] | None, prompt: int, output: int) -> Decimal | None:
    if rates is None:
        return None
    inp, out = rates
    if inp is None or (output and out is None):
        return None
    return (inp * prompt + (out or _ZERO) * output) / _MILLION


def _output_tokens(operation: str, request: Mapping[str, Any]) -> int | None:
    """The output the request allows at most: ``max_completion_tokens`` / ``max_tokens`` times the
    choices (``n``, ``best_of``) and the prompts of a batched text completion; ``None`` when unset."""
    if operation == "embeddings":
        return 0
    cap = request.get("max_completion_tokens") or request.get("max_tokens")
    if not isinstance(cap, int) or isinstance(cap, bool):
        return None
    choices = max(_int(request.get("n")), _int(request.get("best_of")), 1)
    prompt = request.get("prompt")
    prompts = len(prompt) if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int) else 1
    return cap * choices * prompts


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _prompt_tokens(operation: str, request: Mapping[str, Any]) -> int:
    if operation == "chat":
        messages = [m if isinstance(m, Mapping) else m.model_dump(exclude_none=True) for m in request["messages"]]
        return estimate_tokens(messages) + _estimate_tools(_tool_params(request.get("tools")))
    text = request.get("prompt") if operation == "text_completion" else request.get("input")
    return _text_tokens(text, CHARS_PER_TOKEN)


def _text_tokens(value: Any, chars_per_token: int) -> int:
    """A prompt or an embeddings input: text (4 characters a token), token ids, or lists of them."""
    if isinstance(value, str):
        return -(-len(value) // chars_per_token)
    if isinstance(value, Iterable):
        return sum(1 if isinstance(part, int) else _text_tokens(part, chars_per_token) for part in value)
    return 0


def _tool_params(tools: Any) -> list[Mapping[str, Any]] | None:
    """``tools=`` as the JSON the provider gets (functions and ``Tool`` objects converted)."""
    if not tools:
        return None
    from ..tools import as_tool

    return [t if isinstance(t, Mapping) else as_tool(t).to_param() for t in tools]


# -- the errors ----------------------------------------------------------------------------------

_WHAT_TO_DO = ("raise the limit, budget.reset() for a new period, set a lower max_tokens, or use a "
               "cheaper model")


def _over_budget(budget: Budget, provider: str, model: str, state: tuple[Decimal, Decimal], estimate: Decimal,
                 prompt: int, output: int, assumed: bool) -> BudgetExceededError:
    spent, reserved = state
    in_flight = f" + ${reserved:.4f} reserved by calls in flight" if reserved else ""
    capped = f"{output:,} output tokens ({'assumed: no max_tokens set' if assumed else 'max_tokens'})"
    return BudgetExceededError(
        f"budget {budget.name!r} would be exceeded: ${spent:.4f} spent{in_flight} of ${budget._max}, and this "
        f"call is estimated at ${estimate:.4f} ({prompt:,} prompt tokens + {capped}). Nothing was sent; "
        f"{_WHAT_TO_DO}",
        provider=provider, model=model, budget=budget.name, limit=float(budget._max), spent=float(spent),
        reserved=float(reserved), estimate=float(estimate), prompt_tokens=prompt, output_tokens=output,
    )


def _unknown_price(budget: Budget, provider: str, model: str, after_refusal: bool) -> BudgetExceededError:
    why = ("a cheaper model was already refused by the budget, and a model without a price cannot be shown to "
           "fit" if after_refusal else
           f"add its prices to the catalog (Client(catalog={{{provider!r}: {{{model!r}: {{'prices': {{'input': ..., "
           f"'output': ...}}}}}}}}) or catalog: in llmplex.yaml), or create the budget with "
           f"on_unknown_price='allow' to let such calls through uncounted")
    return BudgetExceededError(
        f"budget {budget.name!r} cannot admit a call to {provider}/{model}: the catalog has no price for it, so "
        f"what it would cost is unknown. Nothing was sent; {why}",
        provider=provider, model=model, budget=budget.name, limit=float(budget._max), spent=budget.spent,
        reserved=budget.reserved,
    )
