from django.dispatch import Signal

# Sent when a user's role changes.
# Arguments: user, old_role (Role or None), new_role (Role), actor (user or None), request (or None).
role_changed = Signal()

# Sent when syncing roles changed the permissions a role group carries.
# Arguments: role (Role), added (sorted list of names), removed (sorted list of names).
role_permissions_changed = Signal()

# Sent when a signed-in user is refused because a permission is missing.
# Arguments: request, user, permission (dotted name).
permission_denied = Signal()
