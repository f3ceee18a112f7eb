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
