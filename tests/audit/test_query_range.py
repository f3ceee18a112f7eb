"""Times at the edge of what Python's datetime holds are rejected as filters instead of crashing a scan."""

import io

import pytest
from django.core.management import CommandError, call_command

from audit.query import AuditFilter, InvalidFilter, iter_records, query


@pytest.mark.parametrize("field,value", [
    ("since", "0001-01-01"),
    ("since", "0001-01-01T00:04:59Z"),
    ("until", "9999-12-31T23:59:59"),
    ("since", "0001-01-01T00:00:00+14:00"),
    ("until", "9999-12-31T23:00:00-14:00"),
])
def test_edge_times_rejected(field, value):
    """A time within the scan margin of year 1 or 9999 raises InvalidFilter naming the field."""
    with pytest.raises(InvalidFilter) as raised:
        AuditFilter.parse(**{field: value})

    assert raised.value.field == field
    assert value in str(raised.value)


def test_times_inside_range_still_scan(audit_log):
    """Times just inside the range parse and scan in both directions."""
    audit_filter = AuditFilter.parse(since="0002-01-01", until="9998-12-31T23:59:59Z")

    assert query(audit_filter).records == []
    assert list(iter_records(audit_filter, newest_first=False)) == []


@pytest.mark.parametrize("args", [
    ("query", "--since", "0001-01-01"),
    ("export", "--until", "9999-12-31T23:59:59"),
])
def test_command_rejects_edge_times(audit_log, args):
    """``manage.py audit`` turns such a time into a CommandError instead of a traceback."""
    with pytest.raises(CommandError, match="out of range"):
        call_command("audit", *args, stdout=io.StringIO(), stderr=io.StringIO())
