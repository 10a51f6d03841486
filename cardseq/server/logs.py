"""How ``cardseq serve`` logs: one level and one format for cardseq's loggers and
Granian's, its access log included.

``text`` is Granian's own layout (``[INFO] message``, the access log's line as it is);
``json`` writes one JSON object a line for log shippers: the time (UTC, ISO 8601), the
level, the logger, the message, and the record's fields (a reservation's ``series_id``,
``actor``...; an access record's ``addr``, ``method``, ``path``, ``status``, ``dt_ms``...),
and an exception's traceback as ``exception``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any, Final

LEVELS: Final = ("debug", "info", "warning", "error", "critical")
FORMATS: Final = ("text", "json")
#: the loggers a level applies to: cardseq's, Granian's (its Rust core logs as
#: ``_granian``) and Granian's access log (one INFO record a request)
LOGGERS: Final = ("cardseq", "_granian", "granian.access")

#: attributes every LogRecord has: the rest of a record's ``__dict__`` are its fields
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (values that JSON has no type for, as text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = dict(record.args) if isinstance(record.args, Mapping) else {}  # access log's
        fields.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        # (the four above win over a field of the same name: Granian's local "time")
        entry.update((k, v) for k, v in fields.items() if k not in entry)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(level: str = "info", fmt: str = "text") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for the server: Granian's, with cardseq's
    records on the same stream, every logger of ``LOGGERS`` at ``level`` (``LEVELS``),
    and each handler in the format ``fmt`` (``FORMATS``)."""
    if level not in LEVELS or fmt not in FORMATS:
        raise ValueError(f"log level {level!r} or format {fmt!r} is not one of {LEVELS}, {FORMATS}")
    from granian.log import LOGGING_CONFIG  # (here: the command reads LEVELS without Granian)

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    if fmt == "json":
        config["formatters"] = {"json": {"()": f"{__name__}.JsonFormatter"}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
    handlers = {"granian.access": ["access"]}
    for name in LOGGERS:
        config["loggers"][name] = {
            "handlers": handlers.get(name, ["console"]),
            "level": level.upper(),
            "propagate": False,
        }
    return config


__all__ = ["FORMATS", "LEVELS", "LOGGERS", "JsonFormatter", "logging_config"]
