"""Old spellings of the public API, kept working for one release.

A renamed method keeps its old name as a method of its own, marked ``@deprecated``; a
renamed parameter keeps its old keyword through an overload marked ``@deprecated`` and
``@renamed`` on the method. Both warn (``DeprecationWarning``, naming the new spelling)
when called, and mypy sees both: the type checker reads ``typing_extensions``'
``deprecated``, the run time uses the one here (cardseq does not depend on
``typing_extensions``). ``tools/facades.py`` writes them from an operation's
``@formerly``.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _warning(fn: Callable[..., Any], before: Callable[[dict[str, Any]], None]) -> Any:
    """``fn`` calling ``before(kwargs)`` first (a coroutine function stays one)."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awaited(*args: Any, **kwargs: Any) -> Any:
            before(kwargs)
            return await fn(*args, **kwargs)

        return awaited

    @functools.wraps(fn)
    def called(*args: Any, **kwargs: Any) -> Any:
        before(kwargs)
        return fn(*args, **kwargs)

    return called


if TYPE_CHECKING:
    from typing_extensions import deprecated
else:

    def deprecated(message: str, /) -> Callable[[F], F]:
        """Calling the function warns ``message`` (``DeprecationWarning``)."""

        def mark(fn: F) -> F:
            def warn(_: dict[str, Any]) -> None:
                warnings.warn(message, DeprecationWarning, stacklevel=3)

            wrapper = _warning(fn, warn)
            wrapper.__deprecated__ = message
            return wrapper

        return mark


def renamed(method: str, **names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Accept each old keyword (``ref="series"``: ``ref=`` for ``series=``) with a
    warning naming the new one; ``method`` names the method in it."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        def rename(kwargs: dict[str, Any]) -> None:
            for old, new in names.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{method}() got both {old}= and {new}=")
                    warnings.warn(
                        f"{method}({old}=...) is deprecated: its name is {new} now",
                        DeprecationWarning,
                        stacklevel=3,
                    )
                    kwargs[new] = kwargs.pop(old)

        wrapper = _warning(fn, rename)
        wrapper.__renamed__ = dict(names)  # for the tests that check every old name
        return wrapper  # type: ignore[no-any-return]

    return mark


def formerly(*methods: str, **names: str) -> Callable[[F], F]:
    """Mark an operation whose public method was once called each of ``methods``, and
    whose parameters were once named as the keywords say (``ref="series"``): the
    generator writes a deprecated alias for each. Changes nothing at run time."""

    def mark(op: F) -> F:
        return op

    return mark


__all__ = ["deprecated", "formerly", "renamed"]
