"""Print the Markdown table of audit events that docs/audit.md carries.

Run ``python -m audit.eventdoc`` after changing the registry or after a
feature starts sending one of the events below, and paste the output into
the doc. A test fails while the two differ.
"""

from audit.events import EVENT_TYPES

# Events whose feature is not built yet: no code path sends them so far.
NOT_EMITTED_YET: frozenset[str] = frozenset()


def event_table() -> str:
    unknown = sorted(NOT_EMITTED_YET - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"NOT_EMITTED_YET names unregistered events: {', '.join(unknown)}")
    lines = ["| event | domain | emitted when | status |", "|---|---|---|---|"]
    for event in EVENT_TYPES.values():
        status = "not emitted yet" if event.name in NOT_EMITTED_YET else "emitted"
        lines.append(f"| `{event.name}` | {event.domain} | {event.emitted_when} | {status} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(event_table())
