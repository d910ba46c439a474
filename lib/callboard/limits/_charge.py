"""What a provider charged a call against its token limit, and how a reservation settles.

Providers do not count tokens alike. OpenAI documents that its token limit is charged
when a request arrives, from the prompt and ``max_tokens``, and says nothing of a
refund. Anthropic counts uncached input (cache reads are free for most models) and the
output actually produced, each against its own limit. A backend that knows the
provider's dialect describes a call's usage as a [`TokenCharge`][callboard.TokenCharge]; the token
limiter's ``token_accounting`` decides which figure settles the reservation.
"""

from __future__ import annotations

import attrs

from ._policy import TokenAccounting

__all__ = ["TokenCharge", "charged_tokens"]


@attrs.frozen(kw_only=True)
class TokenCharge:
    """A call's token usage as its provider counts it against rate limits.

    Attributes:
        input_tokens: input tokens the provider counts (cache reads left out where the
            provider leaves them out, as Anthropic does).
        output_tokens: output tokens produced.
        reserved_tokens: ``input_tokens`` plus the output the request allowed
            (``max_tokens``): what a provider that reserves ``max_tokens`` charged;
            ``None`` when the request set no output cap.
        dialect: the provider's rate-limit dialect (``"openai"``, ``"anthropic"``, ...).

    Example:
        >>> TokenCharge(input_tokens=20, output_tokens=5, reserved_tokens=120).total
        25
    """

    input_tokens: int
    output_tokens: int
    reserved_tokens: int | None = None
    dialect: str = "openai"

    @property
    def total(self) -> int:
        """Input plus output, as counted."""
        return self.input_tokens + self.output_tokens


def charged_tokens(
    accounting: TokenAccounting | str,
    *,
    estimate: float,
    actual: int | None,
    charge: TokenCharge | None,
) -> float | None:
    """The tokens a finished call settles at under ``accounting``; ``None`` keeps what
    was reserved (nothing is known about what the provider charged).

    Args:
        accounting: ``"usage"``, ``"reserved"``, ``"input"`` or ``"auto"`` (see
            [`AdmissionPolicy`][callboard.AdmissionPolicy]).
        estimate: what its last attempt reserved.
        actual: the call's ``actual_tokens`` (0: refused, nothing was used).
        charge: the provider's breakdown, when the backend gave one.

    Example:
        >>> charged_tokens("reserved", estimate=120, actual=25, charge=None)
        120
        >>> charged_tokens("usage", estimate=120, actual=25, charge=None)
        25
    """
    if charge is None:
        if actual is None:
            return None
        if actual == 0 or accounting != "reserved":
            return actual
        return max(estimate, actual)
    if accounting == "usage":
        return charge.total
    if accounting == "input":
        return charge.input_tokens
    bound = charge.reserved_tokens if charge.reserved_tokens is not None else charge.total
    if accounting == "reserved":
        return max(estimate, bound)
    # auto: what the provider's documentation says it charges.
    return charge.total if charge.dialect == "anthropic" else bound
