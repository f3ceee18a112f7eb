"""The rendered host configs pass the real tools that will read them.

sshd, fail2ban, Caddy, apt, systemd and ufw parse the files here exactly as
they would on a server. Nothing is installed or started: every tool runs in
its test or dry-run mode against files under the test's temporary folder.
"""

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from hardening.conf import get_cloudflare_networks
from hardening.hostconfig.options import build_options
from hardening.hostconfig.render import build_context

pytestmark = pytest.mark.tools

DOMAIN = "dango.example.com"


def render(out: Path, *extra: str) -> Path:
    call_command("hardening", "render", "--domain", DOMAIN, "--out", str(out), *extra)
    return out


def run(command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, **kwargs)


# sshd


@pytest.fixture
def sshd_setup(tmp_path, host_tool):
    """A main sshd_config like Debian's: drop-ins included first, then permissive defaults."""
    out = render(tmp_path / "out")
    dropins = out / "etc/ssh/sshd_config.d"
    # Ubuntu cloud images ship this file; it must not re-enable passwords.
    (dropins / "50-cloud-init.conf").write_text("PasswordAuthentication yes\n")
    host_key = tmp_path / "ssh_host_ed25519_key"
    subprocess.run([host_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    main = tmp_path / "sshd_config"
    main.write_text(
        f"Include {dropins}/*.conf\n"
        f"HostKey {host_key}\n"
        "PasswordAuthentication yes\n"
        "PermitRootLogin yes\n"
        "KbdInteractiveAuthentication yes\n"
    )
    return main, dropins


def effective_sshd(sshd: str, main: Path) -> dict[str, str]:
    result = run([sshd, "-T", "-f", str(main)])
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)


@pytest.mark.tools("sshd", "ssh-keygen", "/run/sshd")
def test_sshd_accepts_dropin(sshd_setup, host_tool):
    """`sshd -t` accepts the configuration with the rendered drop-in."""
    main, _ = sshd_setup
    result = run([host_tool("sshd"), "-t", "-f", str(main)])
    assert result.returncode == 0, result.stderr


@pytest.mark.tools("sshd", "ssh-keygen", "/run/sshd")
def test_sshd_dropin_wins_over_cloud_init(sshd_setup, host_tool):
    """With a cloud-init drop-in and a permissive main config, sshd still enforces key-only login."""
    main, _ = sshd_setup
    effective = effective_sshd(host_tool("sshd"), main)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitemptypasswords"] == "no"
    assert effective["permitrootlogin"] in ("without-password", "prohibit-password")
    assert effective["authenticationmethods"] == "publickey"


@pytest.mark.tools("sshd", "ssh-keygen", "/run/sshd")
def test_sshd_dropin_sorted_late_would_lose(sshd_setup, host_tool):
    """The 00- prefix matters: the same drop-in sorted after cloud-init's file lets passwords back in."""
    main, dropins = sshd_setup
    (dropins / "00-dango-hardening.conf").rename(dropins / "90-dango-hardening.conf")
    assert effective_sshd(host_tool("sshd"), main)["passwordauthentication"] == "yes"


@pytest.mark.tools("sshd", "/run/sshd")
def test_sshd_rejects_broken_dropin(sshd_setup, host_tool):
    """`sshd -t` fails on an unknown keyword, so the acceptance test above can fail."""
    main, dropins = sshd_setup
    (dropins / "10-typo.conf").write_text("PasswordAuthenticaton no\n")
    assert run([host_tool("sshd"), "-t", "-f", str(main)]).returncode != 0


# fail2ban

FAILURE_EVENTS = ("login_failure", "account_locked", "api_key_rejected", "two_fa_failure")


def audit_record(seq: int, event: str, ip: str | None, **fields) -> dict:
    record = {
        "seq": seq,
        "ts": f"2026-12-04T19:53:{seq:02d}.085123Z",
        "event": event,
        "actor": fields.get("actor"),
        "target": fields.get("target", {"type": "user", "email": "a@example.com"}),
        "ip": ip,
        "user_agent": fields.get("user_agent", "Mozilla/5.0"),
        "request_id": hashlib.sha256(f"request {seq}".encode()).hexdigest()[:32],
        "details": fields.get("details", {}),
        "prev_hash": "0" * 64,
    }
    return record


def write_audit_log(path: Path, records: list[dict]) -> None:
    """Write records the way the audit log stores them: one compact, ASCII-escaped JSON object per line, chained."""
    lines = []
    previous = "0" * 64
    for record in records:
        record = {**record, "prev_hash": previous}
        body = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
        record["hash"] = hashlib.sha256(body.encode()).hexdigest()
        previous = record["hash"]
        lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=True))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# NOTE: these lines follow the audit record format by hand. Once the audit
# app's writer exists, produce them through it (real events from real
# requests), so that the filter is validated against what the app writes.
AUDIT_RECORDS = [
    (audit_record(1, "login_failure", "203.0.113.9"), "203.0.113.9"),
    (audit_record(2, "login_success", "203.0.113.10", actor={"id": 1, "email": "a@example.com"}), None),
    (audit_record(3, "account_locked", "2001:db8::5"), "2001:db8::5"),
    (
        audit_record(
            4,
            "api_key_rejected",
            "203.0.113.12",
            target={"type": "api_key", "prefix": 'x","ip":"198.51.100.7","user_agent":"'},
        ),
        "203.0.113.12",
    ),
    (audit_record(5, "two_fa_failure", "203.0.113.11", actor={"id": 2, "email": "b@example.com"}), "203.0.113.11"),
    (audit_record(6, "login_failure", None), None),
    (
        audit_record(
            7,
            "login_failure",
            "198.51.100.23",
            target={"type": "user", "email": "{é}@exämple.com"},
            user_agent='Mozilla/5.0 "quoted" ,"ip":"198.51.100.99"',
        ),
        "198.51.100.23",
    ),
    (audit_record(8, "logout", "203.0.113.13", actor={"id": 1, "email": "a@example.com"}), None),
    (audit_record(9, "password_changed", "203.0.113.14", actor={"id": 1, "email": "a@example.com"}), None),
    (audit_record(10, "api_key_created", "203.0.113.15", actor={"id": 1, "email": "a@example.com"}), None),
    (audit_record(11, "ip_blocked", "203.0.113.16", target={"type": "path", "path": "/"}), None),
    (
        audit_record(12, "login_success", "203.0.113.17", target={"type": "user", "email": '","event":"login_failure'}),
        None,
    ),
    (
        audit_record(13, "oauth_login_rejected", "203.0.113.18", details={"reason": "login_failure"}),
        None,
    ),
    (audit_record(14, "two_fa_enabled", "203.0.113.19", actor={"id": 1, "email": "a@example.com"}), None),
    (audit_record(15, "login_failure", "::ffff:203.0.113.20"), "203.0.113.20"),
]


@pytest.mark.tools("fail2ban-regex")
def test_fail2ban_filter_matches_every_failure_and_no_success(tmp_path, host_tool):
    """fail2ban-regex with the rendered filter finds each failure's own IP and nothing in other records."""
    out = render(tmp_path / "out")
    log = tmp_path / "audit.jsonl"
    write_audit_log(log, [record for record, _ in AUDIT_RECORDS])
    filter_path = out / "etc/fail2ban/filter.d/dango-audit.conf"

    result = run([host_tool("fail2ban-regex"), "-o", "ip", str(log), str(filter_path)])

    assert result.returncode == 0, result.stderr
    expected = [ip for _, ip in AUDIT_RECORDS if ip is not None]
    assert result.stdout.split() == expected
    assert {record["event"] for record, ip in AUDIT_RECORDS if ip} == set(FAILURE_EVENTS)


@pytest.mark.tools("fail2ban-regex")
def test_fail2ban_filter_reads_timestamps(tmp_path, host_tool):
    """Every record's timestamp is recognised by the filter's datepattern."""
    out = render(tmp_path / "out")
    log = tmp_path / "audit.jsonl"
    write_audit_log(log, [record for record, _ in AUDIT_RECORDS])
    result = run([host_tool("fail2ban-regex"), str(log), str(out / "etc/fail2ban/filter.d/dango-audit.conf")])
    assert result.returncode == 0, result.stderr
    failures = sum(1 for _, ip in AUDIT_RECORDS if ip)
    assert f"Lines: {len(AUDIT_RECORDS)} lines, 0 ignored, {failures} matched, {len(AUDIT_RECORDS) - failures} missed" in result.stdout
    assert f"[{len(AUDIT_RECORDS)}] ^\\{{\"seq\"" in result.stdout


def fail2ban_confdir(tmp_path: Path, out: Path) -> Path:
    """Copy the installed fail2ban configuration and add the rendered files, as an install would."""
    confdir = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", confdir)
    for relative in ("jail.d/dango-sshd.local", "jail.d/dango-audit.local", "filter.d/dango-audit.conf"):
        shutil.copy(out / "etc/fail2ban" / relative, confdir / relative)
    return confdir


@pytest.mark.tools("fail2ban-client", "/etc/fail2ban/jail.conf")
@pytest.mark.parametrize("cloudflare", [False, True], ids=["firewall", "cloudflare"])
def test_fail2ban_accepts_jails(tmp_path, host_tool, cloudflare):
    """`fail2ban-client -t` accepts the rendered jails and filter, with the local or the Cloudflare ban action."""
    project = tmp_path / "project"
    (project / ".dango/logs").mkdir(parents=True)
    (project / ".dango/logs/audit.jsonl").touch()
    out = render(tmp_path / "out", "--project-root", str(project), "--cloudflare" if cloudflare else "--no-cloudflare")
    confdir = fail2ban_confdir(tmp_path, out)
    if cloudflare:
        (confdir / "action.d/cloudflare-token.local").write_text("[Init]\ncfzone = zone-id\ncftoken = test-token\n")

    result = run([host_tool("fail2ban-client"), "-c", str(confdir), "-t"])
    assert result.returncode == 0, result.stdout + result.stderr

    dump = run([host_tool("fail2ban-client"), "-c", str(confdir), "-d"])
    assert dump.returncode == 0, dump.stderr
    assert f"['set', 'dango-audit', 'addlogpath', '{project}/.dango/logs/audit.jsonl', 'head']" in dump.stdout
    assert ("cloudflare-token" in dump.stdout) == cloudflare


@pytest.mark.tools("fail2ban-client", "/etc/fail2ban/jail.conf")
def test_fail2ban_rejects_jail_without_filter(tmp_path, host_tool):
    """`fail2ban-client -t` fails when the jail's filter is not installed, so the acceptance test above can fail."""
    project = tmp_path / "project"
    (project / ".dango/logs").mkdir(parents=True)
    (project / ".dango/logs/audit.jsonl").touch()
    confdir = fail2ban_confdir(tmp_path, render(tmp_path / "out", "--project-root", str(project)))
    (confdir / "filter.d/dango-audit.conf").unlink()
    result = run([host_tool("fail2ban-client"), "-c", str(confdir), "-t"])
    assert result.returncode != 0
    assert "Errors in jail 'dango-audit'" in result.stderr


# Caddy


def caddy_env(tmp_path: Path) -> dict:
    # Caddy keeps certificates and state under these folders; keep them in the test folder.
    return {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


@pytest.mark.tools("caddy")
@pytest.mark.parametrize("extra", [[], ["--cloudflare", "--acme-email", "ops@example.com"]], ids=["plain", "cloudflare"])
def test_caddy_validates_caddyfile(tmp_path, host_tool, extra):
    """`caddy validate` accepts the rendered Caddyfile."""
    caddyfile = render(tmp_path / "out", *extra) / "etc/caddy/Caddyfile"
    result = run([host_tool("caddy"), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], env=caddy_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


@pytest.mark.tools("caddy")
def test_caddy_config_proxies_redirects_and_sets_each_header(tmp_path, host_tool):
    """Caddy's own reading of the file: HTTPS site proxied to the app, HTTP redirected, each header its own default."""
    caddyfile = render(tmp_path / "out", "--app-port", "8123") / "etc/caddy/Caddyfile"
    result = run([host_tool("caddy"), "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"], env=caddy_env(tmp_path))
    assert result.returncode == 0, result.stderr
    config = result.stdout

    assert '"dial":"127.0.0.1:8123"' in config.replace(" ", "")
    assert "https://dango.example.com{http.request.uri}" in config
    parsed = json.loads(config)
    handlers = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("handler") == "headers":
                handlers.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(parsed)
    defaults = {
        name
        for handler in handlers
        for name in handler.get("response", {}).get("require", {}).get("headers", {})
        if len(handler["response"]["require"]["headers"]) == 1
    }
    assert {
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Permissions-Policy",
    } <= defaults


# apt (unattended-upgrades)


@pytest.mark.tools("apt-config")
@pytest.mark.parametrize("name", ["20auto-upgrades", "52dango-unattended-upgrades"])
def test_apt_parses_unattended_upgrades_files(tmp_path, host_tool, name):
    """apt-config parses the rendered file and reads back its values."""
    path = render(tmp_path / "out") / "etc/apt/apt.conf.d" / name
    result = run([host_tool("apt-config"), "-c", str(path), "dump"])
    assert result.returncode == 0, result.stderr
    expected = {
        "20auto-upgrades": ['APT::Periodic::Unattended-Upgrade "1";', 'APT::Periodic::Update-Package-Lists "1";'],
        "52dango-unattended-upgrades": ['Unattended-Upgrade::Automatic-Reboot-Time "04:00";'],
    }[name]
    for line in expected:
        assert line in result.stdout.splitlines()


# systemd


@pytest.mark.tools("systemd-analyze")
def test_systemd_verifies_unit(tmp_path, host_tool):
    """`systemd-analyze verify` accepts the unit without a warning."""
    venv = Path(sys.prefix)
    assert (venv / "bin/gunicorn").exists()
    unit = render(tmp_path / "out", "--venv", str(venv), "--project-root", str(tmp_path)) / "etc/systemd/system/dango.service"
    result = run([host_tool("systemd-analyze"), "verify", "--man=no", str(unit)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


@pytest.mark.tools("systemd-analyze")
def test_systemd_reports_unknown_directive(tmp_path, host_tool):
    """systemd-analyze complains about an unknown directive, so the check above can fail."""
    unit = render(tmp_path / "out", "--venv", sys.prefix) / "etc/systemd/system/dango.service"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
    result = run([host_tool("systemd-analyze"), "verify", "--man=no", str(unit)], cwd=tmp_path)
    assert "Unknown key" in result.stderr


# ufw


@pytest.mark.tools("ufw")
@pytest.mark.parametrize(
    "extra",
    [[], ["--allow", "198.51.100.0/24", "--allow", "2001:db8::/32", "--ssh-allow", "203.0.113.7"], ["--cloudflare"]],
    ids=["open", "allowlist", "cloudflare"],
)
def test_ufw_accepts_rules_and_stores_what_check_expects(tmp_path, host_tool, extra):
    """Each command of the rules script passes `ufw --dry-run`, which stores exactly the tuples --check expects."""
    script = (render(tmp_path / "out", *extra) / "ufw-rules.sh").read_text()
    commands = [shlex.split(line) for line in script.splitlines() if line.startswith("ufw ")]
    stored = set()
    for command in commands:
        if command[1] in ("--force", "status"):
            continue  # enabling or listing would act on this machine's firewall
        result = run([host_tool("ufw"), "--dry-run", *command[1:]])
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        stored |= {line for line in result.stdout.splitlines() if line.startswith("### tuple ### ")}

    options = build_options(
        domain=DOMAIN,
        cloudflare="--cloudflare" in extra,
        cloudflare_networks=get_cloudflare_networks(),
        allow=[extra[i + 1] for i, item in enumerate(extra) if item == "--allow"],
        ssh_allow=[extra[i + 1] for i, item in enumerate(extra) if item == "--ssh-allow"],
    )
    expected = {text for rule in build_context(options)["ufw_rules"] for _, text in rule.stored_tuples()}
    stored_without_comments = {" ".join(f for f in line[14:].split() if not f.startswith("comment=")) for line in stored}
    assert stored_without_comments == expected
