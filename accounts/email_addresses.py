"""Keep allauth's EmailAddress rows in step with ``User.email``.

Invited users get a verified EmailAddress row. allauth's password reset
looks addresses up in that table as well as on the user, so a row left with
an old address after an Admin changes the user's email would let the current
owner of the old mailbox reset the password. Rows for any other address are
therefore deleted when the email changes.
"""

from allauth.account.models import EmailAddress
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.drop_stale_email_addresses")
def drop_stale_email_addresses(sender, instance: User, created: bool, raw=False, update_fields=None, **kwargs):
    if raw or created or (update_fields is not None and "email" not in update_fields):
        return
    EmailAddress.objects.filter(user=instance).exclude(email=instance.email).delete()
