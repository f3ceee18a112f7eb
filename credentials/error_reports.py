"""Django error reports (debug pages, error e-mails) without secrets.

``SecretScrubbingExceptionReporterFilter`` (DEFAULT_EXCEPTION_REPORTER_FILTER)
masks settings, request metadata, POST data and frame variables that hold a
store value or a known secret shape, and parameters with sensitive names,
also when DEBUG is on. ``SecretScrubbingExceptionReporter``
(DEFAULT_EXCEPTION_REPORTER) also masks GET parameters and the exception
message, and scrubs the rendered report as a last pass.
"""

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from credentials.masking import is_sensitive_name
from credentials.scrubbing import scrub


class SecretScrubbingExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        # Django's filter steps aside under DEBUG. Debug pages are where
        # secrets leak most, so this one always applies.
        return True

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return scrub(cleansed)
        return cleansed

    def get_safe_request_meta(self, request) -> dict:
        meta = super().get_safe_request_meta(request)
        return {key: scrub(value) if isinstance(value, str) else value for key, value in meta.items()}

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not parameters:
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            values = cleansed.getlist(name) if hasattr(cleansed, "getlist") else [cleansed[name]]
            if is_sensitive_name(name):
                values = [self.cleansed_substitute for _ in values]
            else:
                values = [scrub(value) if isinstance(value, str) else value for value in values]
            if hasattr(cleansed, "setlist"):
                cleansed.setlist(name, values)
            else:
                cleansed[name] = values[0]
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if value == self.cleansed_substitute:
                cleansed.append((name, value))
            elif is_sensitive_name(name):
                cleansed.append((name, self.cleansed_substitute))
            else:
                cleansed.append((name, self._scrub_object(value)))
        return cleansed

    def _scrub_object(self, value):
        if isinstance(value, str):
            return scrub(value)
        try:
            text = repr(value)
        except Exception as error:  # noqa: BLE001  (a broken __repr__ must not break the report)
            return f"<unrepresentable {type(value).__name__}: {type(error).__name__}>"
        scrubbed = scrub(text)
        # Keep the object when nothing matched, so the report shows it as usual.
        return value if scrubbed == text else _ScrubbedRepr(scrubbed)


class _ScrubbedRepr:
    """Stands in for a frame variable whose repr contained a secret."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class SecretScrubbingExceptionReporter(ExceptionReporter):
    def get_traceback_data(self) -> dict:
        data = super().get_traceback_data()
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (name, self.filter.cleansed_substitute if is_sensitive_name(name) else scrub(value))
                for name, value in data["request_GET_items"]
            ]
        for key in ("exception_value", "request_insecure_uri", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = scrub(data[key])
        return data

    def get_traceback_html(self) -> str:
        # scrub() also matches the HTML-escaped forms of store values.
        return scrub(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return scrub(super().get_traceback_text())
