"""Dollar amounts as the command line prints them: small costs keep two significant
digits instead of rounding to $0.0000."""

from __future__ import annotations

import math

__all__ = ["dollars"]


def dollars(amount: float) -> str:
    """``amount`` US dollars, with at least four decimals and two significant digits.

    Example:
        >>> dollars(0.0645), dollars(0.0000039), dollars(12.5), dollars(0.0)
        ('$0.0645', '$0.0000039', '$12.5000', '$0.0000')
    """
    if amount <= 0 or amount >= 0.01:
        return f"${amount:,.4f}"
    decimals = max(4, 1 - math.floor(math.log10(amount)))
    return f"${amount:.{decimals}f}"
