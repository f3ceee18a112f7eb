"""Every deploy check fires on the unsafe state and stays quiet on the safe one."""

import datetime
import os
import re
import subprocess

import pytest
import time_machine
from django.core.checks import run_checks
from django.db import connection
from django.test import override_settings
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hardening.checks import accounts, network, secrets, sessions

pytestmark = pytest.mark.django_db


def dango_messages() -> dict:
    """Run the deploy checks and return the dango.* messages by id."""
    messages = {}
    for message in run_checks(include_deployment_checks=True, tags=["security"]):
        if message.id and message.id.startswith("dango."):
            messages.setdefault(message.id, []).append(message)
    return messages


def test_every_check_has_an_id_and_a_hint(tmp_path, settings):
    """Each dango.* message carries an id in the dango.E1nn/W1nn form and a hint."""
    settings.PROJECT_ROOT = tmp_path
    settings.DANGO_SESSION_IDLE_TIMEOUT = 0
    settings.DANGO_CLIENT_IP_MODE = "proxy"
    settings.DANGO_TRUSTED_PROXIES = []
    for found in dango_messages().values():
        for message in found:
            assert message.hint, message.id
            assert re.fullmatch(r"dango\.[EW]1\d\d", message.id), message.id


# Secret files: permissions.


@pytest.fixture
def project(tmp_path, settings):
    settings.PROJECT_ROOT = tmp_path
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dango").mkdir()
    return tmp_path


@pytest.mark.parametrize("relative", [".dlt/secrets.toml", ".dango/secret_key"])
def test_secret_file_readable_by_others_fires(project, relative):
    """A secret file readable by group or others gives dango.E101 with a chmod hint."""
    path = project / relative
    path.write_text("x = 1\n")
    path.chmod(0o644)
    found = dango_messages()[secrets.E101]
    assert found[0].obj == str(path)
    assert f"chmod 600 {path}" in found[0].hint
    assert "0644" in found[0].msg


def test_private_secret_files_are_quiet(project):
    """Secret files with mode 0600 give no permission error."""
    for relative in secrets.SECRET_FILES:
        path = project / relative
        path.write_text("x = 1\n")
        path.chmod(0o600)
    assert secrets.E101 not in dango_messages()


def test_missing_secret_files_are_quiet(project):
    """A deployment without secret files yet has nothing to protect."""
    assert secrets.E101 not in dango_messages()


# Secret files: git.


def git(root, *args):
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-C", str(root), *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repository(project):
    git(project, "init", "-q")
    return project


def test_secrets_not_ignored_fires(repository):
    """A git work tree that does not ignore secrets.toml or the secret key gives dango.E102 for each."""
    found = dango_messages()[secrets.E102]
    assert [message.obj for message in found] == [str(repository / relative) for relative in secrets.SECRET_FILES]
    assert ".gitignore" in found[0].hint


def test_ignored_secrets_are_quiet(repository):
    """With .dlt/secrets.toml and .dango/ ignored there is no git error."""
    (repository / ".gitignore").write_text(".dango/\n.dlt/secrets.toml\n")
    found = dango_messages()
    assert secrets.E102 not in found
    assert secrets.E103 not in found
    assert secrets.W104 not in found


def test_nested_gitignore_counts(repository):
    """An ignore rule in a nested .gitignore counts, as git counts it."""
    (repository / ".gitignore").write_text(".dango/\n")
    (repository / ".dlt" / ".gitignore").write_text("secrets.toml\n")
    assert secrets.E102 not in dango_messages()


def test_tracked_secrets_fire(repository):
    """Secret files committed to git give dango.E103 naming them, even when ignored afterwards."""
    (repository / ".dlt" / "secrets.toml").write_text("token = 'x'\n")
    (repository / ".env").write_text("A=1\n")
    git(repository, "add", ".dlt/secrets.toml", ".env")
    git(repository, "commit", "-q", "-m", "oops")
    (repository / ".gitignore").write_text(".dango/\n.dlt/secrets.toml\n.env\n")
    found = dango_messages()
    assert secrets.E103 in found
    assert ".dlt/secrets.toml" in found[secrets.E103][0].msg
    assert ".env" in found[secrets.E103][0].msg
    assert "rotate" in found[secrets.E103][0].hint
    assert secrets.E102 not in found


def test_outside_git_is_quiet(project):
    """A project folder outside any git work tree gives no git message."""
    found = dango_messages()
    assert not {secrets.E102, secrets.E103, secrets.W104} & set(found)


def test_git_failure_warns(repository):
    """When git fails (here: on a folder owned by another user) the check warns with git's reason."""
    os.chown(repository, 65534, 65534)
    (repository / ".gitignore").write_text(".dango/\n.dlt/secrets.toml\n")
    try:
        found = dango_messages()
    finally:
        os.chown(repository, 0, 0)
    assert secrets.W104 in found
    assert "dubious ownership" in found[secrets.W104][0].msg


# Admin accounts.


@pytest.mark.django_db
def test_admin_without_second_factor_fires(admin_user):
    """An active Admin without a confirmed TOTP device gives dango.W111 naming them."""
    found = dango_messages()[accounts.W111]
    assert "admin@example.com" in found[0].msg


@pytest.mark.django_db
def test_admin_with_only_recovery_codes_fires(admin_user):
    """Recovery codes alone do not count as a second factor."""
    StaticDevice.objects.create(user=admin_user, name="backup", confirmed=True)
    assert accounts.W111 in dango_messages()


@pytest.mark.django_db
def test_admin_with_unconfirmed_totp_fires(admin_user):
    """A TOTP device that was never confirmed does not count."""
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=False)
    assert accounts.W111 in dango_messages()


@pytest.mark.django_db
def test_admin_with_totp_is_quiet(admin_user, make_user):
    """Admins with a confirmed TOTP device give no warning, and non-Admins are not checked."""
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    make_user("viewer@example.com", role="viewer")
    found = dango_messages()
    assert accounts.W111 not in found
    assert accounts.W113 not in found


@pytest.mark.django_db
def test_admin_with_one_time_password_fires(admin_user):
    """An Admin who still has the first-run one-time password gives dango.E112."""
    admin_user.must_change_password = True
    admin_user.save(update_fields=["must_change_password"])
    found = dango_messages()[accounts.E112]
    assert "admin@example.com" in found[0].msg


@pytest.mark.django_db
def test_first_run_admin_fires_until_password_changed():
    """The Admin created by the first run fires dango.E112 until the password is changed."""
    from accounts.bootstrap import create_first_admin
    from accounts.passwords import set_password

    user, _password = create_first_admin("first@example.com")
    assert accounts.E112 in dango_messages()
    set_password(user, "A-new-and-long-passphrase-9", reason="self")
    assert accounts.E112 not in dango_messages()


@pytest.mark.django_db
def test_inactive_admin_with_one_time_password_is_quiet(admin_user, make_user):
    """Deactivated Admins cannot sign in, so their one-time password is not reported."""
    other = make_user("second-admin@example.com", role="admin", must_change_password=True)
    other.is_active = False
    other.save()
    assert accounts.E112 not in dango_messages()


@pytest.mark.django_db
def test_unreadable_database_warns(admin_user):
    """A database the check cannot read gives dango.W113 instead of crashing the check run."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TOTPDevice._meta.db_table}")
    found = dango_messages()
    assert accounts.W113 in found
    assert "migrate" in found[accounts.W113][0].hint


# Session timeouts.


@override_settings(DANGO_SESSION_IDLE_TIMEOUT=0)
def test_idle_timeout_off_fires():
    """An idle timeout of 0 gives dango.W121."""
    assert sessions.W121 in dango_messages()


@override_settings(DANGO_SESSION_ABSOLUTE_TIMEOUT=0)
def test_absolute_timeout_off_fires():
    """An absolute timeout of 0 gives dango.W122."""
    assert sessions.W122 in dango_messages()


@override_settings(DANGO_SESSION_IDLE_TIMEOUT=3600, DANGO_SESSION_ABSOLUTE_TIMEOUT=86400)
def test_session_timeouts_on_are_quiet():
    """Both timeouts set give no session warning."""
    found = dango_messages()
    assert sessions.W121 not in found
    assert sessions.W122 not in found


# Client IP, proxy and allowlist settings.

NETWORK_IDS = {
    network.E130, network.E131, network.W132, network.E133, network.W134, network.W135,
    network.E136, network.W137, network.W138, network.E139, network.W140,
}  # fmt: skip

PROXY = {"DANGO_CLIENT_IP_MODE": "proxy", "DANGO_TRUSTED_PROXIES": ["127.0.0.1/32", "::1/128"]}
CLOUDFLARE = {"DANGO_CLIENT_IP_MODE": "cloudflare", "DANGO_TRUSTED_PROXIES": ["127.0.0.1/32", "::1/128"]}

NETWORK_CASES = [
    # (check id, settings that fire it, nearby settings that keep it quiet)
    (network.E130, {**PROXY, "DANGO_IP_ALLOWLIST": ["office"]}, {**PROXY, "DANGO_IP_ALLOWLIST": ["198.51.100.0/24"]}),
    (network.E131, {"DANGO_CLIENT_IP_MODE": "proxy", "DANGO_TRUSTED_PROXIES": []}, PROXY),
    (network.W132, {"DANGO_CLIENT_IP_MODE": "direct", "DANGO_TRUSTED_PROXIES": ["127.0.0.1/32"]}, PROXY),
    (network.E133, {**PROXY, "DANGO_TRUSTED_PROXIES": ["0.0.0.0/0"]}, {**PROXY, "DANGO_TRUSTED_PROXIES": ["10.0.0.0/8"]}),
    (network.W134, {**PROXY, "DANGO_IP_ALLOWLIST": ["127.0.0.0/8"]}, {**PROXY, "DANGO_IP_ALLOWLIST": ["198.51.100.0/24"]}),
    (network.W135, {"DANGO_IP_ALLOWLIST": ["198.51.100.0/24", "::1"]}, {"DANGO_IP_ALLOWLIST": ["198.51.100.0/24"]}),
    (network.E136, {**CLOUDFLARE, "DANGO_CLOUDFLARE_IP_RANGES": []}, {**CLOUDFLARE, "DANGO_CLOUDFLARE_IP_RANGES": None}),
    (network.W137, {**PROXY, "DANGO_CLOUDFLARE_IP_RANGES": ["173.245.48.0/20"]}, {**CLOUDFLARE, "DANGO_CLOUDFLARE_IP_RANGES": ["173.245.48.0/20"]}),
    (network.W138, {**CLOUDFLARE, "DANGO_IP_ALLOWLIST": ["104.16.0.0/12"]}, {**CLOUDFLARE, "DANGO_IP_ALLOWLIST": ["198.51.100.0/24"]}),
    (
        network.E139,
        {"DANGO_IP_ALLOWLIST": ["198.51.100.0/24"], "DANGO_IP_ALLOWLIST_EXEMPT_PATHS": ["healthz"]},
        {"DANGO_IP_ALLOWLIST": ["198.51.100.0/24"], "DANGO_IP_ALLOWLIST_EXEMPT_PATHS": ["/healthz"]},
    ),
]  # fmt: skip


@pytest.mark.parametrize("check_id,firing,quiet", NETWORK_CASES, ids=[case[0] for case in NETWORK_CASES])
def test_network_check_fires(check_id, firing, quiet):
    """The contradictory settings give the check's message."""
    with override_settings(**firing):
        found = dango_messages()
    assert check_id in found
    assert found[check_id][0].hint


@pytest.mark.parametrize("check_id,firing,quiet", NETWORK_CASES, ids=[case[0] for case in NETWORK_CASES])
def test_network_check_quiet(check_id, firing, quiet):
    """The consistent settings next to them give no message at all about the network settings."""
    with override_settings(**quiet):
        found = dango_messages()
    assert check_id not in found
    assert not NETWORK_IDS & set(found)


def test_default_settings_give_no_network_message():
    """The defaults (direct mode, no allowlist) are consistent."""
    assert not NETWORK_IDS & set(dango_messages())


@override_settings(**CLOUDFLARE)
def test_old_cloudflare_ranges_fire():
    """More than a year after the shipped ranges were copied, cloudflare mode gives dango.W140."""
    from hardening.cloudflare import CLOUDFLARE_IP_RANGES_DATE

    later = datetime.datetime.combine(CLOUDFLARE_IP_RANGES_DATE, datetime.time(12)) + datetime.timedelta(days=400)
    with time_machine.travel(later.replace(tzinfo=datetime.timezone.utc), tick=False):
        found = dango_messages()
    assert network.W140 in found
    assert "400 days ago" in found[network.W140][0].msg


@override_settings(**CLOUDFLARE)
def test_recent_cloudflare_ranges_are_quiet():
    """Within a year of the shipped ranges there is no age warning."""
    from hardening.cloudflare import CLOUDFLARE_IP_RANGES_DATE

    soon = datetime.datetime.combine(CLOUDFLARE_IP_RANGES_DATE, datetime.time(12)) + datetime.timedelta(days=30)
    with time_machine.travel(soon.replace(tzinfo=datetime.timezone.utc), tick=False):
        assert network.W140 not in dango_messages()


@override_settings(**CLOUDFLARE, DANGO_CLOUDFLARE_IP_RANGES=["173.245.48.0/20"])
def test_overridden_cloudflare_ranges_do_not_age():
    """Ranges given in the setting are the operator's to maintain: no age warning."""
    later = datetime.datetime(2040, 1, 1, tzinfo=datetime.timezone.utc)
    with time_machine.travel(later, tick=False):
        assert network.W140 not in dango_messages()


def test_checks_are_deploy_only():
    """Without --deploy none of the dango.* checks run."""
    with override_settings(DANGO_SESSION_IDLE_TIMEOUT=0, DANGO_CLIENT_IP_MODE="proxy", DANGO_TRUSTED_PROXIES=[]):
        found = [message.id for message in run_checks(tags=["security"]) if (message.id or "").startswith("dango.")]
    assert found == []
