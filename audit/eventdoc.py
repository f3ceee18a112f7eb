"""Print the Markdown table of audit events that docs/audit.md carries.

Run ``python -m audit.eventdoc`` after changing the registry or after a
feature starts sending one of the events below, and paste the output into
the doc. A test fails while the two differ.
"""

from audit.events import EVENT_TYPES

# Events whose feature is not built yet: no code path sends them so far.
NOT_EMITTED_YET = frozenset({
    "ip_blocked",
    "password_reset_requested",
    "two_fa_enabled", "two_fa_disabled", "two_fa_failure", "recovery_code_used", "recovery_codes_regenerated",
    "account_unlocked", "rate_limit_hit",
    "oauth_login_rejected", "oauth_account_linked", "oauth_account_unlinked",
    "user_invited", "invite_accepted", "invite_revoked",
    "api_key_created", "api_key_revoked", "api_key_rejected",
    "encryption_key_rotated", "secret_key_rotated", "security_settings_changed",
})


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
