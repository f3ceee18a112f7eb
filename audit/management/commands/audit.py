import argparse
import json
import logging
import os
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from audit import app_settings
from audit.display import report_lines, table_header, table_row
from audit.export import FORMATS, record_line, write_records
from audit.models import WriteFailure
from audit.query import AuditFilter, InvalidFilter, ReadStats, iter_records, parse_time, query
from audit.report import build_report
from audit.signals import audit_log_viewed
from audit.verify import verify_chain

logger = logging.getLogger("audit")

TIME_HELP = "ISO 8601 (2026-01-31, 2026-01-31T14:00:00Z; UTC when no offset) or relative to now: 30m, 24h, 7d, 2w."


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


def _add_filters(parser) -> None:
    parser.add_argument("--since", help="Only records at or after this time. " + TIME_HELP)
    parser.add_argument("--until", help="Only records at or before this time. " + TIME_HELP)
    parser.add_argument(
        "--event", action="append", default=[], metavar="EVENT",
        help="Only this event type; repeat the option (or separate with commas) for several.",
    )
    parser.add_argument("--user", help="Only records whose actor or target is this user (email address or user id).")
    parser.add_argument("--ip", help="Only records from this IP address or network (192.0.2.7, 192.0.2.0/24).")


class Command(BaseCommand):
    help = "Read and check the audit log: query, verify, export, report, acknowledge-failures."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        query_parser = actions.add_parser("query", help="Show the newest matching records, newest first.")
        _add_filters(query_parser)
        query_parser.add_argument("--limit", type=_positive_int, default=50, help="Number of records (default 50).")
        output = query_parser.add_mutually_exclusive_group()
        output.add_argument("--json", dest="as_json", action="store_true",
                            help="Print one JSON array instead of a table.")
        output.add_argument("--jsonl", dest="as_jsonl", action="store_true",
                            help="Print one JSON record per line instead of a table.")

        actions.add_parser(
            "verify", help="Check the hash chain across all files; exit status 1 at the first break."
        )

        export_parser = actions.add_parser("export", help="Write matching records, oldest first, as JSONL or CSV.")
        _add_filters(export_parser)
        export_parser.add_argument("--format", choices=FORMATS, default="jsonl", help="Output format (default jsonl).")
        export_parser.add_argument(
            "--output", "-o", default="-",
            help="File to create (mode 0600; an existing file is never overwritten). Default: standard output.",
        )

        report_parser = actions.add_parser("report", help="Summarise suspicious activity in a time window.")
        report_parser.add_argument("--since", default="24h", help="Start of the window (default 24h). " + TIME_HELP)
        report_parser.add_argument("--until", help="End of the window (default now). " + TIME_HELP)
        report_parser.add_argument("--top", type=_positive_int, default=20,
                                   help="Rows per failure table (default 20).")
        report_parser.add_argument("--json", dest="as_json", action="store_true", help="Print the report as JSON.")

        actions.add_parser(
            "acknowledge-failures",
            help="Mark the audit write failures counted so far as reviewed, so 'manage.py check' stops reporting them.",
        )

    def handle(self, *args, action: str, **options) -> None:
        handler = getattr(self, "handle_" + action.replace("-", "_"))
        try:
            handler(**options)
        except InvalidFilter as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(
                f"Could not read the audit log {app_settings.log_path()}: {error.strerror or error}. "
                "Check that the file and its folder are readable by this user."
            ) from None

    def _filter(self, options) -> AuditFilter:
        return AuditFilter.parse(
            since=options.get("since"), until=options.get("until"), events=options.get("event") or (),
            user=options.get("user"), ip=options.get("ip"),
        )

    def _warn_unreadable(self, count: int) -> None:
        if count:
            self.stderr.write(
                f"Skipped {count} line(s) that are not audit records; run 'manage.py audit verify' to locate them."
            )

    def _announce(self, via: str, audit_filter: AuditFilter, count: int, **extra) -> None:
        audit_log_viewed.send(
            sender=Command, via=via, filters={**audit_filter.describe(), **extra}, count=count, request=None
        )

    def handle_query(self, limit: int, as_json: bool = False, as_jsonl: bool = False, **options) -> None:
        audit_filter = self._filter(options)
        result = query(audit_filter, limit=limit)
        # Recorded before printing, so a reader that closes the pipe early is still recorded.
        self._announce("query", audit_filter, len(result.records), limit=limit)
        if as_json:
            self.stdout.write(_json_dumps(result.records))
        elif as_jsonl:
            for record in result.records:
                self.stdout.write(record_line(record))
        else:
            self.stdout.write(table_header())
            for record in result.records:
                self.stdout.write(table_row(record))
            more = " Older matches exist; raise --limit or narrow the filters." if result.has_more else ""
            self.stderr.write(f"{len(result.records)} record(s).{more}")
        self._warn_unreadable(result.unreadable_lines)

    def handle_verify(self, **options) -> None:
        path = app_settings.log_path()
        result = verify_chain(path)
        for warning in result.warnings:
            self.stderr.write(f"Warning: {warning}")
        if not result.ok:
            raise CommandError(
                f"The audit chain is broken at {result.chain_break}. "
                f"{result.records} record(s) before it verified."
            )
        if result.records == 0:
            self.stderr.write(f"The audit log {path} contains no records yet, so there is nothing to verify.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"The audit chain is intact: {result.records} record(s), seq {result.first_seq} to {result.head_seq}, "
            f"in {result.files} file(s). Head hash: {result.head_hash}"
        ))

    def handle_export(self, format: str, output: str, **options) -> None:
        audit_filter = self._filter(options)
        stats = ReadStats()
        records = iter_records(audit_filter, newest_first=False, stats=stats)
        if output == "-":
            count = write_records(records, self.stdout, format)
        else:
            count = self._export_to_file(Path(output), records, format)
            self.stderr.write(f"Wrote {count} record(s) to {output}.")
        self._warn_unreadable(stats.unreadable_lines)
        self._announce("export", audit_filter, count, format=format)

    def _export_to_file(self, target: Path, records, output_format: str) -> int:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{target} already exists. Choose another --output file or remove it first.") from None
        except OSError as error:
            raise CommandError(f"Could not create {target}: {error.strerror}.") from None
        try:
            with open(fd, "w", encoding="utf-8", newline="") as handle:
                return write_records(records, handle, output_format)
        except BaseException:
            # A half-written export would look complete to its reader.
            target.unlink(missing_ok=True)
            raise

    def handle_report(self, since: str, until: str | None, top: int, as_json: bool = False, **options) -> None:
        since_time = parse_time(since, "since")
        until_time = parse_time(until, "until") if until else None
        if until_time and since_time > until_time:
            raise CommandError(f"--since {since!r} is later than --until {until!r}; swap them or widen the window.")
        report = build_report(since_time, until_time)
        if as_json:
            self.stdout.write(_json_dumps(report.as_dict()))
        else:
            for line in report_lines(report, top):
                self.stdout.write(line)
        self._warn_unreadable(report.unreadable_lines)
        self._announce("report", AuditFilter(since=since_time, until=until_time), report.records_in_window)

    def handle_acknowledge_failures(self, **options) -> None:
        failure = WriteFailure.objects.filter(pk=1).first()
        if failure is None or failure.count <= failure.acknowledged_count:
            self.stdout.write("There are no unacknowledged audit write failures.")
            return
        unseen = failure.count - failure.acknowledged_count
        WriteFailure.objects.filter(pk=1).update(acknowledged_count=failure.count)
        logger.info("Acknowledged %s audit write failure(s)", unseen)
        self.stdout.write(
            f"Acknowledged {unseen} audit write failure(s); the last one was: {failure.last_error}. "
            "'manage.py check' reports only failures after this point."
        )


def _json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=True, indent=2)
