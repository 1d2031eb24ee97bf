"""Structured logs for a node: text or JSON lines on stderr.

Consensus lines carry ``height=H round=R`` at the start of the message, so
both formats can be filtered by height; the JSON format also splits them
out into fields.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Final

_HEIGHT_ROUND: Final = re.compile(r"^height=(\d+)(?: round=(\d+))?")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, node, message (+ height, round)."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "node": self.node,
            "message": message,
        }
        match = _HEIGHT_ROUND.match(message)
        if match:
            line["height"] = int(match.group(1))
            if match.group(2) is not None:
                line["round"] = int(match.group(2))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def setup_logging(level: str, fmt: str, node: str) -> None:
    """Configure the root logger once for a node process."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(node))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)-7s {node} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
