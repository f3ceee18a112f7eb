from django.dispatch import Signal

# User lifecycle. Arguments: user. Sent from model save/delete, so every path
# (admin, commands, API, shell) announces the change; the request, if any, is
# taken from the audit request context.
user_created = Signal()
user_deactivated = Signal()
user_reactivated = Signal()
# Arguments: user_id, email (the row is already gone).
user_deleted = Signal()

# Arguments: user, request (or None), reason: "self", "reset", "admin", "command", "invite".
password_changed = Signal()

# A session ended because it was idle too long or reached its absolute lifetime.
# Arguments: user, request, reason: "idle" or "absolute".
session_expired = Signal()

# A session was signed out from another session or by an admin.
# Arguments: user, session (UserSession), request (or None), reason: "revoked", "others_revoked",
# "password_changed", "deactivated".
session_revoked = Signal()

# Someone asked for a password reset email.
# Arguments: email (normalised, as submitted), request, user (or None when no account matches).
password_reset_requested = Signal()

# Two-factor authentication. Arguments: user, request (or None), plus:
# two_fa_enabled: device (name); two_fa_disabled: by (user or None for the command line);
# two_fa_failure: reason ("wrong_code", "replayed", "throttled");
# recovery_code_used: remaining (count left); recovery_codes_regenerated: count.
two_fa_enabled = Signal()
two_fa_disabled = Signal()
two_fa_failure = Signal()
recovery_code_used = Signal()
recovery_codes_regenerated = Signal()

# A lockout was cleared. Arguments: email (or None), ip_address (or None), by (user or None), request (or None).
account_unlocked = Signal()

# A request was refused by a rate limit. Arguments: request, limit (name), key_kind ("ip", "email", "api_key", …),
# retry_after (seconds).
rate_limit_hit = Signal()

# API keys. Arguments: key (the ApiKey row, never the raw key), request (or None), plus
# api_key_rejected: reason ("unknown", "malformed", "expired", "revoked", "inactive_user"), key may be None.
api_key_created = Signal()
api_key_revoked = Signal()
api_key_rejected = Signal()

# Invitations. Arguments: invite, request (or None). user_invited also takes actor (user, or None for
# the command line) and resent (True when a new link replaced the old one). invite_revoked also takes actor.
user_invited = Signal()
invite_accepted = Signal()
invite_revoked = Signal()

# Social sign-in. Arguments: provider ("google", "github"), request, plus
# oauth_login_rejected: email (or None), reason; oauth_account_linked / unlinked: user, uid.
oauth_login_rejected = Signal()
oauth_account_linked = Signal()
oauth_account_unlinked = Signal()

# A security setting stored in the database changed (today: a sign-in provider's configuration).
# Arguments: setting (name, such as "oauth_provider:google"), changed (list of field names, or
# ["created"] / ["deleted"]; never values).
security_settings_changed = Signal()
