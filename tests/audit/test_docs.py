from pathlib import Path

from audit.eventdoc import NOT_EMITTED_YET, event_table
from audit.events import EVENT_TYPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def test_registry_has_44_events():
    """The registry contains the 44 event types."""
    assert len(EVENT_TYPES) == 44


def test_doc_lists_every_event():
    """docs/audit.md has a table row for every registered event."""
    text = DOC.read_text()

    missing = [name for name in EVENT_TYPES if f"| `{name}` |" not in text]
    assert missing == []


def test_doc_table_is_current():
    """The event table in docs/audit.md equals the output of ``python -m audit.eventdoc``."""
    assert event_table() in DOC.read_text()


def test_unbuilt_events_are_marked():
    """Events without a feature yet are marked "not emitted yet" in the doc."""
    text = DOC.read_text()

    for name in NOT_EMITTED_YET:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.endswith("| not emitted yet |")
    assert len(NOT_EMITTED_YET) == 0


def test_every_emitted_event_has_a_path_test():
    """Each event the doc calls emitted is checked by a test that reads the audit log.

    The event tests of each feature live with that feature's tests; a test
    counts when it uses the ``audit_log`` fixture and names the event.
    """
    tests_root = Path(__file__).resolve().parents[1]
    event_tests = "".join(
        text for text in (path.read_text() for path in sorted(tests_root.rglob("test_*.py"))) if "audit_log" in text
    )

    untested = [name for name in EVENT_TYPES if name not in NOT_EMITTED_YET and f'"{name}"' not in event_tests]
    assert untested == []
