from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse

from accounts.admin import RbacPermissionsMixin
from accounts.invites.forms import InviteAdminForm
from accounts.invites.models import Invite
from accounts.invites.service import InviteError, create_invite, resend_invite, revoke_invite

LINKS_TEMPLATE = "accounts/admin/invite_links.html"


class InviteCreateForm(InviteAdminForm):
    """The add form, which creates the invitation while it validates.

    The service's refusals (an existing account, a pending invitation, a
    role the Admin may not grant) then show as form errors on the add page.
    The admin runs the whole add view in one transaction, so nothing is kept
    if a later step fails.
    """

    request = None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.issued = create_invite(
                cleaned["email"], cleaned["role"], actor=self.request.user, request=self.request
            )
        except (InviteError, PermissionDenied) as error:
            messages_list = error.messages if isinstance(error, ValidationError) else [str(error)]
            raise ValidationError(messages_list) from None
        self.instance = self.issued.invite
        return cleaned

    def _post_clean(self):
        # The model instance is the saved invitation from clean(); there is
        # nothing left to copy onto it or validate.
        if not hasattr(self, "issued"):
            super()._post_clean()

    def save(self, commit=True):
        self.save_m2m = lambda: None
        invite = self.issued.invite
        # Carried to response_add on the instance; the link is never stored.
        invite.issued_url = self.issued.url
        return invite


@admin.register(Invite)
class InviteAdmin(RbacPermissionsMixin, admin.ModelAdmin):
    list_display = ["email", "role_label", "status_label", "invited_by", "sent_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email"]
    ordering = ["-sent_at"]
    actions = ["resend_invites", "revoke_invites"]
    detail_fields = ["email", "role", "status_label", "invited_by", "user", "created_at", "sent_at", "expires_at",
                     "closed_at"]

    @admin.display(description="Role", ordering="role")
    def role_label(self, obj: Invite) -> str:
        return obj.role_label

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj: Invite) -> str:
        return obj.current_status.label

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs["form"] = InviteCreateForm
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type("InviteCreateFormWithRequest", (form_class,), {"request": request})

    def get_fields(self, request, obj=None):
        return ["email", "role"] if obj is None else self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.detail_fields

    def has_change_permission(self, request, obj=None):
        # An invitation changes only through the actions (resend, revoke),
        # so its page is read-only. The actions check the list-level permission.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # InviteCreateForm already saved the invitation through the service.
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        # The link is shown on this response instead of after a redirect, so
        # it never passes through the message store.
        return self._links_response(request, [(obj, obj.issued_url)], "Invitation created")

    def _links_response(self, request, issued: list, title: str):
        return TemplateResponse(
            request,
            LINKS_TEMPLATE,
            {**self.admin_site.each_context(request), "title": title, "issued": issued, "opts": self.model._meta},
        )

    @admin.action(description="Resend selected invitations (new link; the old one stops working)",
                  permissions=["change"])
    def resend_invites(self, request, queryset):
        issued = []
        for invite in queryset:
            try:
                result = resend_invite(invite, actor=request.user, request=request)
            except (InviteError, PermissionDenied) as error:
                self.message_user(request, " ".join(getattr(error, "messages", [str(error)])), messages.ERROR)
                continue
            issued.append((result.invite, result.url))
        if not issued:
            return None
        return self._links_response(request, issued, "New invitation links")

    @admin.action(description="Revoke selected invitations", permissions=["change"])
    def revoke_invites(self, request, queryset):
        revoked = 0
        for invite in queryset:
            try:
                revoke_invite(invite, actor=request.user, request=request)
            except (InviteError, PermissionDenied) as error:
                self.message_user(request, " ".join(getattr(error, "messages", [str(error)])), messages.ERROR)
                continue
            revoked += 1
        if revoked:
            self.message_user(request, f"Revoked {revoked} invitation(s).", messages.SUCCESS)
