"""Announce user lifecycle changes and guard the admin rules at the model layer.

Checking here, not only in forms, covers every path that saves a user: the
admin (including bulk actions), commands, the API and the shell.
"""

from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts import signals
from accounts.models import User
from accounts.sessions import end_other_sessions
from rbac.assignment import RoleChangeError, check_can_remove, is_restoring
from rbac.roles import ROLE_GROUP_NAMES


@receiver(pre_save, sender=User, dispatch_uid="accounts.remember_active_state")
def remember_active_state(sender, instance: User, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._was_active = None
        return
    previous = User.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    instance._was_active = previous
    if previous and not instance.is_active:
        # Check the stored row: the instance already says inactive, and an
        # inactive user never counts as the last active Admin.
        check_can_remove(User.objects.get(pk=instance.pk), actor=None, action="deactivate")


@receiver(post_save, sender=User, dispatch_uid="accounts.announce_user_saved")
def announce_user_saved(sender, instance: User, created: bool, raw=False, **kwargs):
    if raw:
        return
    if created:
        signals.user_created.send(sender=User, user=instance)
        return
    was_active = getattr(instance, "_was_active", None)
    if was_active and not instance.is_active:
        signals.user_deactivated.send(sender=User, user=instance)
        # The auth backend already treats an inactive user as anonymous; ending
        # the sessions also removes them from the account page and the store.
        end_other_sessions(instance, keep_session_key=None, reason="deactivated")
    elif was_active is False and instance.is_active:
        signals.user_reactivated.send(sender=User, user=instance)


@receiver(pre_delete, sender=User, dispatch_uid="accounts.guard_user_delete")
def guard_user_delete(sender, instance: User, origin=None, **kwargs):
    # A queryset delete sends every pre_delete before removing any row, so each
    # Admin in the batch would see the others as remaining; exclude them all.
    removing_pks = ()
    if isinstance(origin, QuerySet) and origin.model is User:
        removing_pks = origin.values_list("pk", flat=True)
    check_can_remove(instance, actor=None, action="delete", removing_pks=removing_pks)


@receiver(post_delete, sender=User, dispatch_uid="accounts.announce_user_deleted")
def announce_user_deleted(sender, instance: User, **kwargs):
    signals.user_deleted.send(sender=User, user_id=instance.pk, email=instance.email)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.guard_role_groups")
def guard_role_groups(sender, instance, action, reverse, pk_set, **kwargs):
    """Reject group edits that bypass ``rbac.assignment.set_role``.

    Adding a user to a role group directly could give them two roles or skip
    the last-Admin rule, so only ``set_role`` may touch role groups.
    """
    if action not in {"pre_add", "pre_remove", "pre_clear"}:
        return
    from django.contrib.auth.models import Group

    if reverse:
        touches_roles = instance.name in ROLE_GROUP_NAMES
        allowed = False
    else:
        if action == "pre_clear":
            touches_roles = instance.groups.filter(name__in=ROLE_GROUP_NAMES).exists()
        else:
            touches_roles = Group.objects.filter(pk__in=pk_set or [], name__in=ROLE_GROUP_NAMES).exists()
        allowed = getattr(instance, "_rbac_allow_role_write", False) or is_restoring()
    if touches_roles and not allowed:
        raise RoleChangeError(
            "Role groups change only through rbac.assignment.set_role, which keeps one role per user.",
            code="direct_role_write",
        )
