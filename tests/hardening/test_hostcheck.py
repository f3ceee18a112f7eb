"""`hardening render --check` against a host laid out in a temporary folder."""

import io
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from hardening.hostconfig import hostcheck
from hardening.hostconfig.ufw import ANY_IPV4, ANY_IPV6

DOMAIN = "dango.example.com"
CHECK_NAMES = {
    "sshd drop-in",
    "fail2ban sshd jail",
    "fail2ban audit-log jail",
    "fail2ban audit-log filter",
    "Caddyfile",
    "unattended-upgrades schedule",
    "unattended-upgrades options",
    "systemd unit",
    "sshd effective settings",
    "ufw rules",
    "ufw enabled, incoming denied",
    "audit log for fail2ban",
}


def ufw_rules_file(tuples: list[str]) -> str:
    lines = ["*filter", ":ufw-user-input - [0:0]", "### RULES ###", ""]
    for text in tuples:
        lines += [f"### tuple ### {text} comment=64616e676f", "-A ufw-user-input -j ACCEPT", ""]
    lines += ["### END RULES ###", "COMMIT"]
    return "\n".join(lines) + "\n"


def install_ufw(root: Path, v4: list[str], v6: list[str], enabled: bool = True, policy: str = "DROP") -> None:
    (root / "etc/ufw").mkdir(parents=True, exist_ok=True)
    (root / "etc/default").mkdir(parents=True, exist_ok=True)
    (root / "etc/ufw/user.rules").write_text(ufw_rules_file(v4))
    (root / "etc/ufw/user6.rules").write_text(ufw_rules_file(v6))
    (root / "etc/ufw/ufw.conf").write_text(f"# ufw.conf\nENABLED={'yes' if enabled else 'no'}\nLOGLEVEL=low\n")
    (root / "etc/default/ufw").write_text(f'IPV6=yes\nDEFAULT_INPUT_POLICY="{policy}"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n')


OPEN_V4 = [f"limit tcp 22 {ANY_IPV4} any {ANY_IPV4} in", f"allow tcp 80,443 {ANY_IPV4} any {ANY_IPV4} in"]
OPEN_V6 = [f"allow tcp 22 {ANY_IPV6} any {ANY_IPV6} in", f"allow tcp 80,443 {ANY_IPV6} any {ANY_IPV6} in"]


@pytest.fixture
def host(tmp_path):
    """A hardened host under tmp_path/root: rendered files installed, sshd config, ufw state, audit log."""
    root = tmp_path / "root"
    call_command("hardening", "render", "--domain", DOMAIN, "--out", str(root), stdout=io.StringIO())
    (root / "ufw-rules.sh").unlink()

    host_key = tmp_path / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=False)
    (root / "etc/ssh/sshd_config").write_text(
        f"Include {root}/etc/ssh/sshd_config.d/*.conf\nHostKey {host_key}\nPasswordAuthentication yes\n"
    )
    (root / "etc/ssh/sshd_config.d/50-cloud-init.conf").write_text("PasswordAuthentication yes\n")
    install_ufw(root, OPEN_V4, OPEN_V6)
    log = root / "var/lib/dango/.dango/logs/audit.jsonl"
    log.parent.mkdir(parents=True)
    log.touch()
    return root


def run_check(root: Path, *extra: str) -> tuple[dict[str, str], str, CommandError | None]:
    """Run --check and return the status per item, the output and the CommandError, if any."""
    stdout = io.StringIO()
    error = None
    try:
        call_command("hardening", "render", "--domain", DOMAIN, "--check", "--root", str(root), *extra, stdout=stdout)
    except CommandError as raised:
        error = raised
    output = stdout.getvalue()
    statuses = {}
    for line in output.splitlines():
        status, _, rest = line.partition("  ")
        if status in ("PASS", "FAIL", "SKIP"):
            for name in CHECK_NAMES | {"fail2ban Cloudflare credentials"}:
                if rest.strip().startswith(name + "  ") or rest.strip() == name:
                    statuses[name] = status
    return statuses, output, error


@pytest.mark.tools("sshd", "ssh-keygen", "/run/sshd")
def test_hardened_host_passes(host):
    """A host with every file installed, key-only sshd and the ufw rules in force passes every check."""
    statuses, output, error = run_check(host)
    assert error is None, output
    assert set(statuses) == CHECK_NAMES
    assert set(statuses.values()) == {"PASS"}, output
    assert "All 12 checks passed" in output


@pytest.mark.tools("sshd", "ssh-keygen", "/run/sshd")
def test_changed_file_fails_with_line(host):
    """An installed file that differs from the rendered one fails, naming the first differing line."""
    caddyfile = host / "etc/caddy/Caddyfile"
    caddyfile.write_text(caddyfile.read_text().replace("reverse_proxy 127.0.0.1:8000", "reverse_proxy 0.0.0.0:8000"))
    statuses, output, error = run_check(host)
    assert statuses["Caddyfile"] == "FAIL"
    assert "reverse_proxy 0.0.0.0:8000" in output
    assert str(error) == "1 of 12 checks failed."


def test_missing_file_fails(host):
    """A rendered file that is not installed fails."""
    (host / "etc/fail2ban/filter.d/dango-audit.conf").unlink()
    statuses, output, error = run_check(host)
    assert statuses["fail2ban audit-log filter"] == "FAIL"
    assert "dango-audit.conf is missing" in output
    assert error is not None


def test_writable_file_fails(host):
    """An installed file that other users could change fails with a chmod hint."""
    unit = host / "etc/systemd/system/dango.service"
    unit.chmod(0o666)
    statuses, output, _ = run_check(host)
    assert statuses["systemd unit"] == "FAIL"
    assert f"chmod 644 {unit}" in output


@pytest.mark.tools("sshd", "ssh-keygen", "/run/sshd")
def test_earlier_dropin_overriding_sshd_fails(host):
    """A drop-in that sorts before ours and allows passwords makes the effective-settings check fail."""
    (host / "etc/ssh/sshd_config.d/00-aaa-image.conf").write_text("PasswordAuthentication yes\n")
    statuses, output, _ = run_check(host)
    assert statuses["sshd drop-in"] == "PASS"
    assert statuses["sshd effective settings"] == "FAIL"
    assert "passwordauthentication is yes, expected no" in output


def test_sshd_not_installed_is_skipped(host, monkeypatch):
    """Without an sshd binary there is no SSH server to check: the item is skipped, not failed."""
    monkeypatch.setattr(hostcheck, "_find_sshd", lambda: None)
    statuses, _, _ = run_check(host)
    assert statuses["sshd effective settings"] == "SKIP"


def test_missing_ufw_rule_fails(host):
    """A rule from the rules script that ufw does not hold fails."""
    install_ufw(host, OPEN_V4[:1], OPEN_V6)
    statuses, output, _ = run_check(host)
    assert statuses["ufw rules"] == "FAIL"
    assert "1 rule(s) missing, such as 'allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 in'" in output


def test_broader_ufw_rule_fails_behind_cloudflare(host):
    """Behind Cloudflare, an old rule opening 443 to everyone fails: it lets clients go around Cloudflare."""
    from hardening.conf import get_cloudflare_networks
    from hardening.hostconfig.ufw import format_source

    networks = get_cloudflare_networks()
    v4 = [OPEN_V4[0], *(f"allow tcp 80,443 {ANY_IPV4} any {format_source(n)} in" for n in networks if n.version == 4)]
    v6 = [OPEN_V6[0], *(f"allow tcp 80,443 {ANY_IPV6} any {format_source(n)} in" for n in networks if n.version == 6)]
    install_ufw(host, v4, v6)
    statuses, _, _ = run_check(host, "--cloudflare")
    assert statuses["ufw rules"] == "PASS"

    install_ufw(host, [*v4, f"allow tcp 443 {ANY_IPV4} any {ANY_IPV4} in"], v6)
    statuses, output, _ = run_check(host, "--cloudflare")
    assert statuses["ufw rules"] == "FAIL"
    assert "open the same ports to other sources: 'allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in'" in output


def test_unrelated_ufw_rule_is_accepted(host):
    """A rule for another port does not concern the check."""
    install_ufw(host, [*OPEN_V4, f"allow tcp 5432 {ANY_IPV4} any 10.0.0.0/8 in"], OPEN_V6)
    statuses, _, _ = run_check(host)
    assert statuses["ufw rules"] == "PASS"


@pytest.mark.parametrize("enabled,policy", [(False, "DROP"), (True, "ACCEPT")], ids=["disabled", "accepting"])
def test_inactive_firewall_fails(host, enabled, policy):
    """ufw switched off or accepting incoming traffic by default fails."""
    install_ufw(host, OPEN_V4, OPEN_V6, enabled=enabled, policy=policy)
    statuses, _, _ = run_check(host)
    assert statuses["ufw enabled, incoming denied"] == "FAIL"


def test_missing_ufw_fails(host):
    """A host without ufw's files fails both firewall items."""
    for name in ("etc/ufw/user.rules", "etc/ufw/user6.rules", "etc/ufw/ufw.conf"):
        (host / name).unlink()
    statuses, output, _ = run_check(host)
    assert statuses["ufw rules"] == "FAIL"
    assert statuses["ufw enabled, incoming denied"] == "FAIL"
    assert "install ufw" in output


def test_missing_audit_log_fails(host):
    """Without the audit log fail2ban cannot start the dango-audit jail, so the item fails."""
    (host / "var/lib/dango/.dango/logs/audit.jsonl").unlink()
    statuses, output, _ = run_check(host)
    assert statuses["audit log for fail2ban"] == "FAIL"
    assert "does not start the dango-audit jail" in output


def cloudflare_host(host: Path) -> Path:
    call_command("hardening", "render", "--domain", DOMAIN, "--out", str(host), "--cloudflare", "--force", stdout=io.StringIO())
    return host / "etc/fail2ban/action.d/cloudflare-token.local"


@pytest.mark.parametrize(
    "content,mode,message",
    [
        (None, None, "cloudflare-token.local is missing"),
        ("[Init]\ncfzone = z\ncftoken = secret-token\n", 0o644, "every user can read the API token"),
        ("[Init]\ncfzone = z\n", 0o600, "has no cftoken in its [Init] section"),
        ("not an ini file\n", 0o600, "cannot be parsed"),
    ],
    ids=["missing", "world-readable", "no-token", "unparsable"],
)
def test_cloudflare_credentials_fail(host, content, mode, message):
    """Behind Cloudflare the ban action's credentials file must exist, be private and name zone and token."""
    path = cloudflare_host(host)
    if content is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(mode)
    statuses, output, _ = run_check(host, "--cloudflare")
    assert statuses["fail2ban Cloudflare credentials"] == "FAIL"
    assert message in output
    assert "secret-token" not in output


def test_cloudflare_credentials_pass(host):
    """A private credentials file with zone and token passes, and its values are not printed."""
    path = cloudflare_host(host)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[Init]\ncfzone = zone-id\ncftoken = secret-token\n")
    path.chmod(0o600)
    statuses, output, _ = run_check(host, "--cloudflare")
    assert statuses["fail2ban Cloudflare credentials"] == "PASS"
    assert "secret-token" not in output


def test_cloudflare_item_only_behind_cloudflare(host):
    """Without Cloudflare the credentials file is not checked."""
    statuses, _, _ = run_check(host)
    assert "fail2ban Cloudflare credentials" not in statuses


def test_path_override(host, tmp_path):
    """--path NAME=PATH reads that item from another place, taken as given."""
    moved = tmp_path / "Caddyfile"
    (host / "etc/caddy/Caddyfile").rename(moved)
    statuses, _, _ = run_check(host)
    assert statuses["Caddyfile"] == "FAIL"
    statuses, output, _ = run_check(host, "--path", f"caddy={moved}")
    assert statuses["Caddyfile"] == "PASS"
    assert str(moved) in output


def test_unknown_path_name_lists_known_names(host):
    """An unknown --path name fails with the list of names."""
    with pytest.raises(CommandError, match=r"--path cady=\.\.\. names no checked file\. Known names: .*caddy"):
        call_command("hardening", "render", "--domain", DOMAIN, "--check", "--root", str(host), "--path", "cady=/x")


def test_malformed_path_override():
    """A --path value without NAME=PATH form fails with the expected form."""
    with pytest.raises(CommandError, match="is not NAME=PATH"):
        call_command("hardening", "render", "--domain", DOMAIN, "--check", "--path", "caddy")
