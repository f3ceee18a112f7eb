from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import UserSession
from accounts.sessions import active_sessions, current_user_session, end_other_sessions, end_session
from rbac.assignment import get_role
from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_PERMISSIONS


@login_required
def home(request):
    role = get_role(request.user)
    granted = sorted(ROLE_PERMISSIONS.get(role, ())) if role else []
    return render(
        request,
        "home.html",
        {"role": role, "permissions": [PERMISSIONS[name] for name in granted]},
    )


@login_required
def account(request):
    current = current_user_session(request)
    sessions = list(active_sessions(request.user).order_by("-last_seen_at"))
    return render(
        request,
        "accounts/account.html",
        {"sessions": sessions, "current_session_key": current.session_key if current else request.session.session_key},
    )


@login_required
@require_POST
def revoke_session(request, session_id: int):
    current = current_user_session(request)
    user_session = get_object_or_404(UserSession, pk=session_id, user=request.user, ended_at=None)
    if user_session.pk == getattr(current, "pk", None) or user_session.session_key == request.session.session_key:
        # Ending the current session is what "Sign out" does; doing it here
        # would skip the sign-out event and leave a stale cookie.
        raise Http404("Use Sign out to end the session you are using.")
    end_session(user_session, reason="revoked", request=request)
    messages.success(request, "The session was signed out.")
    return redirect("account")


@login_required
@require_POST
def revoke_other_sessions(request):
    current = current_user_session(request)
    keep = current.session_key if current else request.session.session_key
    count = end_other_sessions(request.user, keep, reason="others_revoked", request=request)
    messages.success(request, f"Signed out {count} other session(s).")
    return redirect("account")
