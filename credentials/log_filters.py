import logging

from credentials.scrubbing import scrub

_FORMATTER = logging.Formatter()


class SecretScrubbingFilter(logging.Filter):
    """Mask secrets in a log record's message, arguments, traceback and stack.

    Install it on every handler (see LOGGING in the settings), so records
    from any logger pass through it. The message is formatted with its
    arguments first, so a secret split between the two is still found. If
    scrubbing itself fails, the record is kept but its text is withheld:
    a log line must not be the way a secret escapes.

    NOTE: the scrubbed traceback is stored in ``record.exc_text``, which the
    standard Formatter prints instead of formatting ``exc_info`` again. A
    formatter that formats ``exc_info`` itself bypasses the scrubbing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._scrub(record)
        except Exception as error:  # noqa: BLE001  (fail closed, see the class docstring)
            record.msg = f"[log message withheld: scrubbing secrets failed with {type(error).__name__}]"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Arguments that do not fit the format string; logging would
            # report the same error, so show the parts unformatted.
            message = f"{record.msg} {record.args!r}"
        scrubbed = scrub(message)
        if scrubbed != message or not isinstance(record.msg, str):
            record.msg = scrubbed
            record.args = ()

        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
