"""The relay's log: one line per event, as text for a terminal or JSON for a collector.

JSON lines (``--log-format json``) carry ``time`` (ISO 8601, UTC), ``level``, ``logger``,
``message`` and, for an exception, ``error`` with its traceback: journald, Loki and
Docker's log drivers read one object per line without a parsing rule.
"""

from __future__ import annotations

import datetime
import json
import logging

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonLines()
    return logging.Formatter(TEXT_FORMAT)
