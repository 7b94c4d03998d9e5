"""One log format for every process (`serve`, `worker`, the CLI): logfmt, one event a line.

    ts=2026-12-01T14:52:15Z level=info logger=outreach.dispatch msg="invitation 12 survey: send sms"

Key=value lines read well in a terminal and are parsed as they are by the usual log shippers.
Uvicorn, Litestar, Alembic and APScheduler all log through the root logger configured here, so
a start prints one format, not three. Libraries' chatter (APScheduler's "Adding job" and
"Running job" lines, Alembic's driver notes) is raised to WARNING: it says nothing an operator
acts on. Message bodies are never logged (the dev outbox logs a one-line summary).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

_BARE = re.compile(r"^[^\s=\"]+$")
QUIET = {
    "apscheduler": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
    "alembic.runtime.migration": logging.WARNING,
    "httpx": logging.WARNING,
    # The twilio client logs every request at INFO (ten lines: URL, each header, the response
    # headers); the dispatcher's own line per message says what matters, and formatting the
    # rest cost the worker more CPU per SMS than the database did.
    "twilio.http_client": logging.WARNING,
}
# Attributes every LogRecord has; anything else was passed with `extra=` and is printed as a field.
# (uvicorn adds `color_message`, the same text with terminal colours.)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message"}


def _value(value: Any) -> str:
    text = str(value)
    if text and _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        fields = [f"ts={ts}", f"level={record.levelname.lower()}", f"logger={record.name}",
                  f"msg={_value(record.getMessage())}"]
        fields += [f"{k}={_value(v)}" for k, v in vars(record).items()
                   if k not in _STANDARD and not k.startswith("_")]
        if record.exc_info:
            fields.append(f"exc={_value(self.formatException(record.exc_info))}")
        return " ".join(fields)


def configure_logging(level: int = logging.INFO) -> None:
    """Install the one handler on the root logger (idempotent: a second call replaces it)."""
    handler = logging.StreamHandler()
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    # Uvicorn installs handlers of its own unless told not to (log_config=None); make its
    # loggers hand their records to the root handler in any case.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
