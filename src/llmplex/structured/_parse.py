"""From a completion to ``message.parsed``, and the follow-up turn that shows a model its mistake."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidRequestError, StructuredOutputError
from ..types.chat import ChatCompletion
from ..types.parsed import ParsedChatCompletion, parsed_completion
from ._plan import StructuredPlan

__all__ = ["ValidationRetries", "parse_completion", "require_plan", "retry_messages"]


def require_plan(plan: Any) -> StructuredPlan:
    """The call's plan; ``parse()`` without a schema is a usage error."""
    if not isinstance(plan, StructuredPlan):
        raise InvalidRequestError(
            "parse() needs response_format to describe the reply: a pydantic model, a dataclass, a TypedDict "
            "or a JSON schema (use create() for text or json_object replies)"
        )
    return plan


def parse_completion(completion: ChatCompletion, plan: StructuredPlan) -> ParsedChatCompletion[Any]:
    """The completion with each choice's reply validated into ``message.parsed``.

    A refusal gives ``parsed=None`` (``message.refusal`` says why), so does a turn where the model
    calls one of the caller's tools instead of answering; a reply cut by the token limit
    or not matching the schema raises `StructuredOutputError` with the raw text.
    """
    values: list[Any] = []
    for choice in completion.choices:
        message = choice.message
        if message.refusal or (message.tool_calls and not message.content):
            values.append(None)  # a refusal, or the model called one of the caller's tools first
            continue
        if choice.finish_reason == "length":
            raise StructuredOutputError(
                f"the reply was cut at the token limit before its {plan.fmt.name} JSON was complete; "
                f"raise max_tokens (the raw text is on .raw)",
                raw=message.content or "", errors=["finish_reason: length"],
                provider=None, model=completion.model or None,
            )
        values.append(plan.fmt.parse(message.content))
    return parsed_completion(completion, values)


def retry_messages(messages: Sequence[Any], error: StructuredOutputError) -> list[Any]:
    """The conversation plus the bad reply and a user turn listing what did not validate."""
    problems = "\n".join(f"- {line}" for line in error.errors) or "- it is not valid JSON"
    return [
        *messages,
        {"role": "assistant", "content": error.raw},
        {"role": "user", "content": "That reply does not match the required JSON schema:\n" + problems
         + "\nReply again with only the corrected JSON."},
    ]


class ValidationRetries:
    """What ``parse()`` does after a reply that does not validate, the same for its sync and async
    twins: a reply from the response cache is asked for again (``cache="refresh"``, replacing the
    stored one) without counting; otherwise the model is re-asked with the errors while
    ``max_validation_retries`` (taken out of ``params``) lasts, then the error is raised."""

    __slots__ = ("left", "params")

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.left: int = params.pop("max_validation_retries", 0)

    def after(self, completion: Any, error: StructuredOutputError) -> None:
        """Update ``params`` for the next try, or raise ``error``."""
        if getattr(completion, "cached", False):
            self.params["cache"] = "refresh"
            return
        if self.left <= 0:
            raise error
        self.left -= 1
        self.params["messages"] = retry_messages(self.params["messages"], error)
