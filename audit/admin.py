"""The audit log viewer in the Django admin: read-only pages over the JSONL files.

Access needs the ``audit.view`` permission. Every page and every download
announces itself through ``audit.signals.audit_log_viewed``.
"""

import io
import logging
import tempfile
from datetime import datetime, timezone

from django import forms
from django.contrib import admin
from django.http import FileResponse, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from audit import app_settings
from audit.display import describe_actor, describe_details, describe_target
from audit.events import EVENT_TYPES
from audit.export import FORMATS, escape_controls, write_records
from audit.models import AuditRecord
from audit.query import AuditFilter, InvalidFilter, ReadStats, iter_records, query
from audit.signals import audit_log_viewed
from rbac.admin_mixins import ReadOnlyPermissionAdminMixin
from rbac.decorators import deny, has_permission

logger = logging.getLogger("audit")

PERMISSION = "audit.view"
PAGE_SIZE = 50
TIME_PLACEHOLDER = "24h, 7d or 2026-01-31T14:00Z"
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


class AuditFilterForm(forms.Form):
    event = forms.MultipleChoiceField(
        choices=[(name, name) for name in sorted(EVENT_TYPES)], required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    user = forms.CharField(required=False, max_length=254, help_text="Email address or user id.")
    ip = forms.CharField(label="IP", required=False, max_length=64, help_text="Address or network, e.g. 192.0.2.0/24.")
    since = forms.CharField(required=False, max_length=64, widget=forms.TextInput(attrs={"placeholder": TIME_PLACEHOLDER}))
    until = forms.CharField(required=False, max_length=64, widget=forms.TextInput(attrs={"placeholder": TIME_PLACEHOLDER}))
    p = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["filter"] = AuditFilter.parse(
                since=cleaned.get("since"), until=cleaned.get("until"), events=cleaned.get("event") or (),
                user=cleaned.get("user"), ip=cleaned.get("ip"),
            )
        except InvalidFilter as error:
            field = error.field if error.field in self.fields else None
            self.add_error(field, str(error))
        return cleaned


def _row(record: dict) -> dict:
    return {
        "seq": record.get("seq"),
        "ts": str(record.get("ts", "")),
        "event": escape_controls(str(record.get("event", ""))),
        "actor": describe_actor(record),
        "target": describe_target(record.get("target")),
        "ip": escape_controls(str(record.get("ip") or "-")),
        "user_agent": escape_controls(str(record.get("user_agent") or "")),
        "request_id": record.get("request_id") or "",
        "details": describe_details(record.get("details")),
    }


@admin.register(AuditRecord)
class AuditLogAdmin(ReadOnlyPermissionAdminMixin, admin.ModelAdmin):
    """Lists the viewer on the admin index; its only pages are the viewer and the download."""

    view_permission = PERMISSION

    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path("", self.admin_site.admin_view(self.log_view), name="%s_%s_changelist" % info),
            path("download/", self.admin_site.admin_view(self.download_view), name="%s_%s_download" % info),
        ]

    def log_view(self, request):
        if not has_permission(request.user, PERMISSION):
            return deny(request, (PERMISSION,))
        form = AuditFilterForm(request.GET or None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Audit log",
            "opts": self.opts,
            "form": form,
            "rows": [],
            "formats": FORMATS,
        }
        if request.GET and not form.is_valid():
            return TemplateResponse(request, "admin/audit/audit_log.html", context, status=400)

        cleaned = form.cleaned_data if request.GET else {}
        audit_filter = cleaned.get("filter") or AuditFilter()
        page = cleaned.get("p") or 1
        try:
            result = query(audit_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        except OSError as error:
            return self._unreadable(request, context, error)
        audit_log_viewed.send(
            sender=AuditLogAdmin, via="admin", filters={**audit_filter.describe(), "page": page},
            count=len(result.records), request=request,
        )
        context.update(
            rows=[_row(record) for record in result.records],
            page=page,
            newer_query=_page_query(request, page - 1) if page > 1 else None,
            older_query=_page_query(request, page + 1) if result.has_more else None,
            download_query=_page_query(request, None),
            unreadable_lines=result.unreadable_lines,
        )
        return TemplateResponse(request, "admin/audit/audit_log.html", context)

    def download_view(self, request):
        if not has_permission(request.user, PERMISSION):
            return deny(request, (PERMISSION,))
        output_format = request.GET.get("format", "jsonl")
        if output_format not in FORMATS:
            return HttpResponse(
                f"Unknown format {output_format!r}; choose one of: {', '.join(FORMATS)}.",
                status=400, content_type="text/plain; charset=utf-8",
            )
        form = AuditFilterForm(request.GET)
        if not form.is_valid():
            messages = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
            return HttpResponse("\n".join(messages), status=400, content_type="text/plain; charset=utf-8")

        audit_filter = form.cleaned_data["filter"]
        # The export goes to an anonymous temporary file (memory up to 8 MiB)
        # so the number of records is known before the response starts.
        buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
        try:
            count = write_records(iter_records(audit_filter, newest_first=False, stats=ReadStats()), text,
                                  output_format)
        except OSError as error:
            logger.error("Could not read the audit log %s: %s", app_settings.log_path(), error)
            return HttpResponse(f"Could not read the audit log: {error.strerror or error}.", status=503,
                                content_type="text/plain; charset=utf-8")
        text.flush()
        text.detach()
        buffer.seek(0)
        audit_log_viewed.send(
            sender=AuditLogAdmin, via="admin_download", filters={**audit_filter.describe(), "format": output_format},
            count=count, request=request,
        )
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return FileResponse(
            buffer, as_attachment=True, filename=f"audit-{stamp}.{output_format}",
            content_type=CONTENT_TYPES[output_format],
        )

    def _unreadable(self, request, context: dict, error: OSError):
        logger.error("Could not read the audit log %s: %s", app_settings.log_path(), error)
        context["read_error"] = (
            f"Could not read the audit log {app_settings.log_path()}: {error.strerror or error}. "
            "Check that the file and its folder are readable by the user running Dango."
        )
        return TemplateResponse(request, "admin/audit/audit_log.html", context, status=503)


def _page_query(request, page: int | None) -> str:
    params = request.GET.copy()
    params.pop("p", None)
    params.pop("format", None)
    if page is not None and page > 1:
        params["p"] = str(page)
    return params.urlencode()
