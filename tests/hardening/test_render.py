import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from hardening.cloudflare import CLOUDFLARE_IPV4_RANGES, CLOUDFLARE_IPV6_RANGES

REPO_ROOT = Path(__file__).resolve().parents[2]

RENDERED = [
    "etc/ssh/sshd_config.d/00-dango-hardening.conf",
    "etc/fail2ban/jail.d/dango-sshd.local",
    "etc/fail2ban/jail.d/dango-audit.local",
    "etc/fail2ban/filter.d/dango-audit.conf",
    "etc/caddy/Caddyfile",
    "etc/apt/apt.conf.d/20auto-upgrades",
    "etc/apt/apt.conf.d/52dango-unattended-upgrades",
    "etc/systemd/system/dango.service",
    "ufw-rules.sh",
]


def render(out, *extra):
    call_command("hardening", "render", "--domain", "dango.example.com", "--out", str(out), *extra)


def read(out, relative):
    return (Path(out) / relative).read_text(encoding="utf-8")


def test_render_writes_every_file(tmp_path):
    """render writes each config under the folder, laid out like the host, with the expected modes."""
    out = tmp_path / "out"
    render(out)
    written = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert written == sorted(RENDERED)
    assert stat.S_IMODE((out / "ufw-rules.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "etc/caddy/Caddyfile").stat().st_mode) == 0o644


def test_sshd_dropin_is_key_only(tmp_path):
    """The sshd drop-in turns off passwords, keyboard-interactive and empty passwords, and keeps root to keys."""
    render(tmp_path)
    lines = read(tmp_path, RENDERED[0]).splitlines()
    for expected in (
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitEmptyPasswords no",
        "PermitRootLogin prohibit-password",
        "AuthenticationMethods publickey",
    ):
        assert expected in lines
    assert any("50-cloud-init.conf" in line for line in lines)
    assert not any(line.startswith("Port ") for line in lines)


def test_sshd_options(tmp_path):
    """--ssh-port and --permit-root-login reach the drop-in, the sshd jail and the firewall."""
    render(tmp_path, "--ssh-port", "2222", "--permit-root-login", "no")
    assert "Port 2222" in read(tmp_path, RENDERED[0]).splitlines()
    assert "PermitRootLogin no" in read(tmp_path, RENDERED[0]).splitlines()
    assert "port = 2222" in read(tmp_path, RENDERED[1]).splitlines()
    assert "ufw limit proto tcp from 0.0.0.0/0 to any port 2222 comment 'dango ssh'" in read(tmp_path, "ufw-rules.sh")
    assert "ufw allow proto tcp from ::/0 to any port 2222 comment 'dango ssh'" in read(tmp_path, "ufw-rules.sh")


def test_audit_jail_bans_in_firewall_by_default(tmp_path):
    """Without Cloudflare the audit-log jail bans with ufw and watches the project's audit log."""
    render(tmp_path, "--project-root", "/srv/dango")
    jail = read(tmp_path, RENDERED[2]).splitlines()
    assert "logpath = /srv/dango/.dango/logs/audit.jsonl" in jail
    assert "banaction = ufw" in jail
    assert not any(line.startswith("action =") for line in jail)


def test_cloudflare_rendering(tmp_path):
    """Behind Cloudflare the jail bans at Cloudflare, the web ports admit only Cloudflare and Dango trusts CF-Connecting-IP."""
    render(tmp_path, "--cloudflare")
    jail = read(tmp_path, RENDERED[2]).splitlines()
    assert "action = cloudflare-token" in jail
    assert "banaction = ufw" not in jail
    script = read(tmp_path, "ufw-rules.sh")
    for network in CLOUDFLARE_IPV4_RANGES + CLOUDFLARE_IPV6_RANGES:
        assert f"ufw allow proto tcp from {network} to any port 80,443 comment 'dango web'" in script
    assert "ufw allow proto tcp to any port 80,443" not in script
    assert "Environment=DANGO_CLIENT_IP_MODE=cloudflare" in read(tmp_path, RENDERED[7]).splitlines()


@override_settings(DANGO_CLIENT_IP_MODE="cloudflare", DANGO_IP_ALLOWLIST=["198.51.100.0/24"])
def test_defaults_follow_settings(tmp_path):
    """Without flags, Cloudflare mode and the allowlist come from the site's settings."""
    render(tmp_path)
    unit = read(tmp_path, RENDERED[7]).splitlines()
    assert "Environment=DANGO_CLIENT_IP_MODE=cloudflare" in unit
    assert "Environment=DANGO_IP_ALLOWLIST=198.51.100.0/24" in unit


@override_settings(DANGO_CLIENT_IP_MODE="cloudflare")
def test_no_cloudflare_flag_overrides_settings(tmp_path):
    """--no-cloudflare renders the plain proxy setup even in cloudflare mode."""
    render(tmp_path, "--no-cloudflare")
    assert "Environment=DANGO_CLIENT_IP_MODE=proxy" in read(tmp_path, RENDERED[7]).splitlines()


def test_allowlists_reach_firewall_and_unit(tmp_path):
    """--allow limits the web ports and sets Dango's allowlist; --ssh-allow limits SSH."""
    render(tmp_path, "--allow", "198.51.100.0/24", "--allow", "2001:db8::/32", "--ssh-allow", "203.0.113.7")
    script = read(tmp_path, "ufw-rules.sh")
    assert "ufw allow proto tcp from 198.51.100.0/24 to any port 80,443 comment 'dango web'" in script
    assert "ufw allow proto tcp from 2001:db8::/32 to any port 80,443 comment 'dango web'" in script
    assert "ufw limit proto tcp from 203.0.113.7 to any port 22 comment 'dango ssh'" in script
    assert "from 0.0.0.0/0 to any port 22" not in script
    assert "ufw allow proto tcp to any port" not in script
    assert "Environment=DANGO_IP_ALLOWLIST=198.51.100.0/24,2001:db8::/32" in read(tmp_path, RENDERED[7]).splitlines()


def test_ufw_script_allows_ssh_before_enabling(tmp_path):
    """The firewall script adds the SSH rule before it enables ufw, so the running session survives."""
    render(tmp_path)
    lines = read(tmp_path, "ufw-rules.sh").splitlines()
    assert lines.index("ufw limit proto tcp from 0.0.0.0/0 to any port 22 comment 'dango ssh'") < lines.index("ufw --force enable")
    assert lines.index("ufw allow proto tcp from ::/0 to any port 22 comment 'dango ssh'") < lines.index("ufw --force enable")
    assert lines.index("ufw default deny incoming") < lines.index("ufw --force enable")


def test_systemd_unit_runs_unprivileged_on_loopback(tmp_path):
    """The unit runs gunicorn as the given user, on loopback, trusting only the local proxy."""
    render(tmp_path, "--user", "dangosvc", "--app-port", "8123", "--workers", "5", "--venv", "/opt/venvs/dango")
    unit = read(tmp_path, RENDERED[7]).splitlines()
    assert "User=dangosvc" in unit
    assert "NoNewPrivileges=yes" in unit
    assert "Environment=DANGO_DOMAIN=dango.example.com" in unit
    assert "Environment=DANGO_TRUSTED_PROXIES=127.0.0.1/32,::1/128" in unit
    exec_start = next(line for line in unit if line.startswith("ExecStart="))
    assert exec_start.startswith("ExecStart=/opt/venvs/dango/bin/gunicorn ")
    assert "--bind 127.0.0.1:8123" in exec_start
    assert "--workers 5" in exec_start
    assert "reverse_proxy 127.0.0.1:8123" in read(tmp_path, RENDERED[4])


def test_caddyfile_has_tls_site_redirect_and_headers(tmp_path):
    """The Caddyfile serves the domain (automatic TLS), redirects HTTP and sets the security headers."""
    render(tmp_path, "--acme-email", "ops@example.com")
    caddyfile = read(tmp_path, RENDERED[4])
    assert "dango.example.com {" in caddyfile
    assert "redir https://dango.example.com{uri} permanent" in caddyfile
    assert "email ops@example.com" in caddyfile
    for header in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options", "Permissions-Policy"):
        assert f"header ?{header} " in caddyfile


def test_unattended_upgrades_reboot_options(tmp_path):
    """Automatic reboots happen at --reboot-time, or never with --no-automatic-reboot."""
    render(tmp_path / "a", "--reboot-time", "03:30")
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "03:30";' in read(tmp_path / "a", RENDERED[6])
    render(tmp_path / "b", "--no-automatic-reboot")
    options = read(tmp_path / "b", RENDERED[6])
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in options
    assert "Automatic-Reboot-Time" not in options


def test_existing_files_are_kept_without_force(tmp_path):
    """A second render into the same folder fails and changes nothing; --force replaces the files."""
    render(tmp_path)
    caddyfile = tmp_path / "etc/caddy/Caddyfile"
    caddyfile.write_text("edited\n")
    with pytest.raises(CommandError, match="already exist.*--force"):
        render(tmp_path)
    assert caddyfile.read_text() == "edited\n"
    render(tmp_path, "--force")
    assert "dango.example.com {" in caddyfile.read_text()


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["--domain", "dango example.com"], "is not a domain name"),
        (["--domain", "localhost"], "is not a domain name"),
        (["--domain", "*.example.com"], "is not a domain name"),
        (["--domain", "203.0.113.9"], "is an IP address"),
        (["--domain", "dango.example.com\nHostKey /tmp/x"], "is not a domain name"),
        (["--allow", "office"], "--allow 'office' is not an IP address"),
        (["--ssh-allow", "10.0.0.0/40"], "--ssh-allow '10.0.0.0/40'"),
        (["--user", "root"], "--user 'root' is not an unprivileged user name"),
        (["--user", "Dango User"], "is not an unprivileged user name"),
        (["--project-root", "relative/path"], "is not a plain absolute path"),
        (["--project-root", "/srv/my dango"], "is not a plain absolute path"),
        (["--project-root", "/srv/../etc"], "is not a plain absolute path"),
        (["--project-root", "/home/dango"], "ProtectHome=yes"),
        (["--venv", "/opt/venv\nExecStartPre=/bin/sh"], "is not a plain absolute path"),
        (["--app-port", "0"], "--app-port 0 is not a TCP port"),
        (["--ssh-port", "70000"], "--ssh-port 70000 is not a TCP port"),
        (["--workers", "0"], "--workers 0 is out of range"),
        (["--acme-email", "ops at example.com"], "is not an email address"),
        (["--reboot-time", "25:00"], "is not a time of day"),
    ],
)
def test_invalid_option_fails_and_writes_nothing(tmp_path, arguments, message):
    """An invalid option raises CommandError naming the option and value, and nothing is written."""
    out = tmp_path / "out"
    base = {"--domain": "dango.example.com"}
    for index in range(0, len(arguments), 2):
        base[arguments[index]] = arguments[index + 1]
    flat = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError) as raised:
        call_command("hardening", "render", *flat, "--out", str(out))
    assert message in str(raised.value)
    assert not out.exists()


def test_out_must_be_a_folder(tmp_path):
    """--out naming a file fails without touching it."""
    target = tmp_path / "file"
    target.write_text("keep\n")
    with pytest.raises(CommandError, match="is a file, not a folder"):
        render(target)
    assert target.read_text() == "keep\n"


def test_check_only_options_are_refused_with_out(tmp_path):
    """--root and --path belong to --check; --force belongs to --out."""
    with pytest.raises(CommandError, match="--root and --path apply to --check only"):
        render(tmp_path, "--root", str(tmp_path))
    with pytest.raises(CommandError, match="--force applies to --out only"):
        call_command("hardening", "render", "--domain", "dango.example.com", "--check", "--force")


def test_out_and_check_are_exclusive(tmp_path):
    """--out and --check cannot be combined, and one of them is required."""
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("hardening", "render", "--domain", "dango.example.com", "--check", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="one of the arguments --out --check is required"):
        call_command("hardening", "render", "--domain", "dango.example.com")


def test_command_exit_status_on_bad_input(tmp_path):
    """From the shell, a bad option prints the error on stderr and exits with a non-zero status."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DANGO_")}
    env.update({"DANGO_PROJECT_ROOT": str(tmp_path), "DJANGO_SETTINGS_MODULE": "tests.settings"})
    result = subprocess.run(
        [sys.executable, "manage.py", "hardening", "render", "--domain", "bad_domain", "--out", str(tmp_path / "o")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "--domain 'bad_domain' is not a domain name" in result.stderr
    assert not (tmp_path / "o").exists()
