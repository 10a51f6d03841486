"""The types of the ``cardseq`` command's option values: integers, decimal numbers,
times and words from a list, each read strictly and checked against its range.

A bad value is the library's coded error naming the option (and the environment
variable, when it came from one) and the value: never a click usage error, a traceback,
or a value that passes here and breaks the server later (``nan``, ``1e400``, a time that
UTC cannot hold).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from typing import Any

import click
from click.core import ParameterSource

from .errors import CardSeqError, InvalidArgument
from .integers import text_int
from .store.records import OUTSIDE_UTC, utc

#: a decimal number in ASCII: digits, an optional fraction and exponent (no sign, no
#: spaces, no ``_``, no ``nan`` or ``inf``, which Python's ``float()`` all takes)
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def option_name(param: click.Parameter | None, ctx: click.Context | None) -> str:
    """How a message names the option of a value: ``--rate``, or ``$CARDSEQ_RATE
    (--rate)`` when the value came from the environment (the variable is what to fix)."""
    name = param.opts[0] if param is not None and param.opts else "value"
    if param is None or param.name is None or ctx is None:
        return name
    if ctx.get_parameter_source(param.name) is not ParameterSource.ENVIRONMENT:
        return name
    envvar = param.envvar
    if envvar is None:  # click's automatic name: the prefix and the option's name
        envvar = f"{ctx.auto_envvar_prefix}_{param.name.upper()}"
    if not isinstance(envvar, str):
        envvar = next((v for v in envvar if os.environ.get(v)), envvar[0])
    return f"${envvar} ({name})"


class StrictInt(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3 only
    """An integer option, read by ``text_int`` (ASCII digits only) and within ``[minimum,
    maximum]``: a bad value is the library error of the option's field (``error``), not
    a click usage error."""

    name = "integer"

    def __init__(
        self,
        error: type[CardSeqError] = InvalidArgument,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> None:
        self.error = error
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):  # a default
            return value
        field = option_name(param, ctx)
        return text_int(value, field, self.error, minimum=self.minimum, maximum=self.maximum)


class StrictFloat(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3 only
    """A decimal option (``0.5``, ``30``, ``2e3``) from ``minimum`` to ``maximum``, both
    finite: anything else (``nan``, ``inf``, ``1e400``, which is infinite as a float,
    ``1_0``) is error 701 naming the option."""

    name = "number"

    def __init__(self, *, minimum: float, maximum: float) -> None:
        assert math.isfinite(minimum) and math.isfinite(maximum)
        self.minimum = minimum
        self.maximum = maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float | int) and not isinstance(value, bool):  # a default
            return float(value)
        number = float(value) if isinstance(value, str) and _DECIMAL.fullmatch(value) else None
        # (the finite bounds also refuse infinity, and nan compares false with them)
        if number is None or not self.minimum <= number <= self.maximum:
            raise InvalidArgument.bad(
                option_name(param, ctx),
                value,
                f"must be a number from {self.minimum:g} to {self.maximum:g} (ASCII digits,"
                " a decimal point)",
            )
        return number


class When(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3 only
    """A time, ISO 8601 (``2026-11-27``, ``2026-11-27T09:30``, ``...+01:00``); without
    an offset it is UTC. The result is in UTC; a bad time, or one UTC cannot hold
    (``0001-01-01T00:00+01:00`` is in year 0 there), is error 701 naming the option."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        field = option_name(param, ctx)
        try:
            when = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidArgument.bad(
                field, value, "is not an ISO 8601 date or time (2026-11-27, 2026-11-27T09:30)"
            ) from None
        try:
            in_utc = utc(field, when)
        except InvalidArgument:  # said again with the text as typed
            raise InvalidArgument.bad(field, value, OUTSIDE_UTC) from None
        assert in_utc is not None
        return in_utc


class OneOf(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3 only
    """One word of ``choices``, in any letter case (the result is the choice as
    written there); anything else is error 701 naming the option and the choices, also
    when the value came from the environment (``$CARDSEQ_LOG_LEVEL``)."""

    name = "choice"

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, str):
            for choice in self.choices:
                if value.lower() == choice.lower():
                    return choice
        raise InvalidArgument.bad(
            option_name(param, ctx), value, f"must be one of {', '.join(self.choices)}"
        )


__all__ = ["OneOf", "StrictFloat", "StrictInt", "When", "option_name"]
