"""Announce changes to sign-in provider configuration as security settings changes.

A provider's client id and secret decide who can sign in, so adding,
changing or removing one is a security setting changed at run time. Model
signals cover the admin, the shell and data migrations alike.
"""

from allauth.socialaccount.models import SocialApp
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts import signals

AUDITED_FIELDS = ("provider", "client_id", "secret", "key", "name")


@receiver(pre_save, sender=SocialApp, dispatch_uid="accounts.remember_provider_config")
def remember_provider_config(sender, instance: SocialApp, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._dango_previous = None
        return
    instance._dango_previous = SocialApp.objects.filter(pk=instance.pk).values(*AUDITED_FIELDS).first()


@receiver(post_save, sender=SocialApp, dispatch_uid="accounts.announce_provider_saved")
def announce_provider_saved(sender, instance: SocialApp, created: bool, raw=False, **kwargs):
    if raw:
        return
    previous = getattr(instance, "_dango_previous", None)
    if created or previous is None:
        changed = ["created"]
    else:
        # Field names only: the client secret's value never leaves the row.
        changed = [field for field in AUDITED_FIELDS if previous.get(field) != getattr(instance, field)]
        if not changed:
            return
    signals.security_settings_changed.send(
        sender=SocialApp, setting=f"oauth_provider:{instance.provider}", changed=changed
    )


@receiver(post_delete, sender=SocialApp, dispatch_uid="accounts.announce_provider_deleted")
def announce_provider_deleted(sender, instance: SocialApp, **kwargs):
    signals.security_settings_changed.send(
        sender=SocialApp, setting=f"oauth_provider:{instance.provider}", changed=["deleted"]
    )
