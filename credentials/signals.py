from django.dispatch import Signal

# Django's SECRET_KEY was rotated or its fallbacks dropped.
# Arguments: phase ("rotated" or "finished"), fallbacks (count kept after the step).
secret_key_rotated = Signal()

# The encryption key list was rotated. Arguments: counts (dict of store name -> items re-encrypted).
encryption_key_rotated = Signal()
