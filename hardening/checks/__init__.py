"""Deploy checks of the hardening app, run by ``manage.py check --deploy``.

Ids are ``dango.E1nn`` (errors) and ``dango.W1nn`` (warnings): 10x secret
files, 11x accounts, 12x sessions, 13x client IP and allowlist settings.
Importing this package registers them.
"""

from hardening.checks import accounts, network, secrets, sessions  # noqa: F401
