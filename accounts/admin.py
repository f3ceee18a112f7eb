import logging

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.bruteforce.admin_actions import unlock_users
from accounts.forms import PolicyAdminPasswordChangeForm, UserAddForm, UserAdminForm
from accounts.models import User, UserSession
from accounts.reauth import check_reauthentication
from accounts.twofactor.admin import reset_two_factor
from rbac.assignment import RoleChangeError, check_can_remove, get_role, set_role
from rbac.decorators import has_permission
from rbac.roles import ROLE_GROUP_NAMES, Role

logger = logging.getLogger("accounts")


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(role.value, role.label) for role in Role]

    def queryset(self, request, queryset):
        if self.value():
            try:
                role = Role.parse(self.value())
            except ValueError:
                return queryset.none()
            return queryset.filter(groups__name=role.group_name)
        return queryset


class TwoFactorFilter(admin.SimpleListFilter):
    title = "two-factor authentication"
    parameter_name = "two_factor"

    def lookups(self, request, model_admin):
        return [("yes", "Enabled"), ("no", "Not enabled")]

    def queryset(self, request, queryset):
        enrolled = queryset.filter(totpdevice__confirmed=True)
        if self.value() == "yes":
            return queryset.filter(pk__in=enrolled.values("pk"))
        if self.value() == "no":
            return queryset.exclude(pk__in=enrolled.values("pk"))
        return queryset


class RbacPermissionsMixin:
    """Admin permissions from the rbac registry instead of Django model permissions."""

    view_permission = "users.view"
    change_permission = "users.manage"

    def has_view_permission(self, request, obj=None):
        return has_permission(request.user, self.view_permission)

    def has_change_permission(self, request, obj=None):
        return has_permission(request.user, self.change_permission)

    def has_add_permission(self, request):
        return has_permission(request.user, self.change_permission)

    def has_delete_permission(self, request, obj=None):
        return has_permission(request.user, self.change_permission)

    def has_module_permission(self, request):
        return has_permission(request.user, self.view_permission)


@admin.register(User)
class UserAdmin(RbacPermissionsMixin, DjangoUserAdmin):
    form = UserAdminForm
    add_form = UserAddForm
    change_password_form = PolicyAdminPasswordChangeForm
    list_display = ["email", "full_name", "role", "is_active", "two_factor", "last_login"]
    list_filter = [RoleFilter, "is_active", TwoFactorFilter]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined", "password_changed_at", "must_change_password"]
    fieldsets = [
        (None, {"fields": ["email", "full_name", "password"]}),
        ("Access", {"fields": ["role", "is_active", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined", "password_changed_at", "must_change_password"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["email", "full_name", "role", "password1", "password2", "must_change_password"]}),
    ]
    filter_horizontal = []
    actions = ["delete_selected_users", "deactivate_users", "reactivate_users", reset_two_factor, unlock_users]

    def get_queryset(self, request):
        # One EXISTS per row instead of a device query per listed user. As in
        # the filter and the deploy checks, 2FA means a confirmed TOTP device;
        # recovery codes alone do not count.
        confirmed_totp = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).prefetch_related("groups").annotate(has_two_factor=Exists(confirmed_totp))

    @admin.display(description="Role")
    def role(self, obj):
        names = [group.name for group in obj.groups.all() if group.name in ROLE_GROUP_NAMES]
        if len(names) == 1:
            return names[0]
        if not names:
            return "none"
        return "several (invalid)"

    @admin.display(description="2FA", boolean=True)
    def two_factor(self, obj):
        if hasattr(obj, "has_two_factor"):
            return obj.has_two_factor
        return TOTPDevice.objects.filter(user=obj, confirmed=True).exists()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Roles and superuser status change on this form, so it asks for
        # recent re-authentication before showing or saving it.
        refusal = check_reauthentication(request)
        if refusal is not None:
            return refusal
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        actor = request.user

        class FormWithActor(form_class):
            def __init__(self, *args, **inner_kwargs):
                super().__init__(*args, actor=actor, **inner_kwargs)

        return FormWithActor

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            # Admins cannot demote, deactivate or strip themselves.
            readonly += ["role", "is_active", "is_superuser"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.pk == request.user.pk:
            return False
        return super().has_delete_permission(request, obj)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        role_value = form.cleaned_data.get("role")
        if not change:
            obj.must_change_password = form.cleaned_data.get("must_change_password", True)
        super().save_model(request, obj, form, change)
        if role_value and "role" in form.cleaned_data:
            set_role(obj, role_value, actor=request.user, request=request)
        if get_role(obj) is not Role.ADMIN and obj.is_superuser:
            obj.is_superuser = False
            obj.save(update_fields=["is_superuser"])

    def get_change_password_form(self):
        return self.change_password_form

    def user_change_password(self, request, id, form_url=""):
        original = self.change_password_form

        class FormWithRequest(original):
            def __init__(self, user, *args, **kwargs):
                super().__init__(user, *args, request=request, **kwargs)

        self.change_password_form = FormWithRequest
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            self.change_password_form = original

    def _guard_removal(self, request, queryset, action: str) -> bool:
        problems = []
        for user in queryset:
            try:
                check_can_remove(user, actor=request.user, action=action)
            except RoleChangeError as error:
                problems.extend(error.messages)
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)
        return not problems

    @admin.action(description="Delete selected users", permissions=["delete"])
    def delete_selected_users(self, request, queryset):
        # Check the admin rules before Django's confirmation page, so a refused
        # bulk delete removes nobody instead of failing half-way.
        if not self._guard_removal(request, queryset, "delete"):
            return None
        return delete_selected(self, request, queryset)

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate_users(self, request, queryset):
        queryset = queryset.filter(is_active=True)
        if not self._guard_removal(request, queryset, "deactivate"):
            return
        count = 0
        with transaction.atomic():
            for user in queryset:
                user.is_active = False
                user.save(update_fields=["is_active"])
                count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected users", permissions=["change"])
    def reactivate_users(self, request, queryset):
        count = 0
        with transaction.atomic():
            for user in queryset.filter(is_active=False):
                user.is_active = True
                user.save(update_fields=["is_active"])
                count += 1
        self.message_user(request, f"Reactivated {count} user(s).", messages.SUCCESS)


@admin.register(UserSession)
class UserSessionAdmin(RbacPermissionsMixin, admin.ModelAdmin):
    list_display = ["user", "ip_address", "user_agent", "created_at", "last_seen_at", "ended_at", "end_reason"]
    list_filter = ["end_reason"]
    search_fields = ["user__email", "ip_address"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False



# Admin pages defined in their feature's own package; importing registers them.
from accounts.invites import admin as invite_admin  # noqa: E402,F401
from accounts.oauth import admin as oauth_admin  # noqa: E402,F401
from accounts.apikeys import admin as apikeys_admin  # noqa: E402,F401
