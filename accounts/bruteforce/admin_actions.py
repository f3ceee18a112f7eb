from django.contrib import admin, messages

from accounts.bruteforce.unlock import unlock


@admin.action(description="Unlock selected users (clear failed sign-ins)", permissions=["change"])
def unlock_users(modeladmin, request, queryset) -> None:
    """Clear the failed sign-ins of each selected user's email, from every IP address."""
    unlocked = untouched = 0
    for user in queryset:
        result = unlock(user.email, by=request.user, request=request)
        if result.cleared:
            unlocked += 1
        else:
            untouched += 1
    if unlocked:
        modeladmin.message_user(request, f"Cleared failed sign-ins of {unlocked} user(s).", messages.SUCCESS)
    if untouched:
        modeladmin.message_user(
            request, f"{untouched} user(s) had no failed sign-ins to clear; nothing changed for them.", messages.INFO
        )
