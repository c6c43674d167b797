"""Log redaction: phone numbers and ID document numbers never reach a log line, whatever logged them.

Our code logs ids, never personal data; this filter is the safety net for what others log: exception
messages (a database error quoting the row it refused), tracebacks, library warnings. It runs on every
configured handler, so the console, files and any error tracker see the same redacted text.
"""

import logging
import re

REDACTED = "[redacted]"
PATTERNS = [
    re.compile(r"(?<![\w-])\d{4}-\d{4}-\d{5}(?![\w-])"),  # e-Tazkira: 1400-0101-12345
    re.compile(r"(?<![\w+])\+\d[\d \-]{7,16}\d(?!\w)"),  # international phone: +93 700 123 456
    re.compile(r"(?<![\w+-])0\d{3}[ \-]?\d{3}[ \-]?\d{3}(?![\w-])"),  # local phone: 0700 123 456
    re.compile(r"(?<![\w-])\d{9,}(?![\w-])"),  # any long run of digits: paper Tazkira, passport, phone
]


def redact(text: str) -> str:
    for pattern in PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrite the record's message and traceback with personal numbers redacted (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw template
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
