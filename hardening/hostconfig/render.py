"""Render the host configs (sshd, fail2ban, Caddy, unattended-upgrades, ufw, systemd).

Each file is rendered from a template in ``templates/`` with Django's template
engine, autoescaping off because the output is config text, not HTML. Values
reach the templates only through HostOptions, which has validated them.
"""

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.template import Context, Engine

from hardening.conf import get_permissions_policy
from hardening.hostconfig.options import LOCAL_PROXIES, HostOptions
from hardening.hostconfig.ufw import build_rules

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Audit events that count as a failed attempt from the record's IP.
FAILURE_EVENTS = ("login_failure", "account_locked", "api_key_rejected", "two_fa_failure")
BAN_MAX_RETRY = 10
BAN_FIND_TIME = "10m"
BAN_TIME = "1h"

# Install path of each rendered file, or None for a script that is run instead.
SSHD_DROPIN = "sshd"
FAIL2BAN_SSHD = "fail2ban-sshd"
FAIL2BAN_JAIL = "fail2ban-jail"
FAIL2BAN_FILTER = "fail2ban-filter"
CADDYFILE = "caddy"
APT_PERIODIC = "apt-periodic"
UNATTENDED_UPGRADES = "unattended-upgrades"
SYSTEMD_UNIT = "systemd"
UFW_SCRIPT = "ufw"

INSTALL_PATHS = {
    SSHD_DROPIN: PurePosixPath("/etc/ssh/sshd_config.d/00-dango-hardening.conf"),
    FAIL2BAN_SSHD: PurePosixPath("/etc/fail2ban/jail.d/dango-sshd.local"),
    FAIL2BAN_JAIL: PurePosixPath("/etc/fail2ban/jail.d/dango-audit.local"),
    FAIL2BAN_FILTER: PurePosixPath("/etc/fail2ban/filter.d/dango-audit.conf"),
    CADDYFILE: PurePosixPath("/etc/caddy/Caddyfile"),
    APT_PERIODIC: PurePosixPath("/etc/apt/apt.conf.d/20auto-upgrades"),
    UNATTENDED_UPGRADES: PurePosixPath("/etc/apt/apt.conf.d/52dango-unattended-upgrades"),
    SYSTEMD_UNIT: PurePosixPath("/etc/systemd/system/dango.service"),
    UFW_SCRIPT: None,
}
UFW_SCRIPT_NAME = "ufw-rules.sh"


@dataclass(frozen=True)
class RenderedFile:
    key: str
    description: str
    install_path: PurePosixPath | None
    content: str
    mode: int

    @property
    def output_path(self) -> PurePosixPath:
        """Return the path inside the output folder: the install path without its leading slash."""
        if self.install_path is None:
            return PurePosixPath(UFW_SCRIPT_NAME)
        return self.install_path.relative_to("/")


_FILES = (
    # key, template, description, mode
    (SSHD_DROPIN, "sshd.conf", "sshd drop-in", 0o644),
    (FAIL2BAN_SSHD, "fail2ban-sshd.local", "fail2ban sshd jail", 0o644),
    (FAIL2BAN_JAIL, "fail2ban-jail.local", "fail2ban audit-log jail", 0o644),
    (FAIL2BAN_FILTER, "fail2ban-filter.conf", "fail2ban audit-log filter", 0o644),
    (CADDYFILE, "Caddyfile", "Caddyfile", 0o644),
    (APT_PERIODIC, "20auto-upgrades", "unattended-upgrades schedule", 0o644),
    (UNATTENDED_UPGRADES, "52dango-unattended-upgrades", "unattended-upgrades options", 0o644),
    (SYSTEMD_UNIT, "dango.service", "systemd unit", 0o644),
    (UFW_SCRIPT, "ufw-rules.sh", "ufw rules script", 0o755),
)

_BLANK_RUNS = re.compile(r"\n{3,}")


def _engine() -> Engine:
    return Engine(dirs=[str(TEMPLATES_DIR)], autoescape=False, string_if_invalid="INVALID_TEMPLATE_VARIABLE")


def firewall_web_sources(options: HostOptions) -> tuple:
    """Return who may reach ports 80 and 443: Cloudflare, the allowlist, or everyone (empty)."""
    if options.cloudflare:
        return options.cloudflare_networks
    return options.allow


def build_context(options: HostOptions) -> dict:
    return {
        "domain": options.domain,
        "app_dir": options.app_dir,
        "venv": options.venv,
        "project_root": options.project_root,
        "user": options.user,
        "app_port": options.app_port,
        "workers": options.workers,
        "ssh_port": options.ssh_port,
        "permit_root_login": options.permit_root_login,
        "cloudflare": options.cloudflare,
        "allow": [str(network) for network in options.allow],
        "acme_email": options.acme_email,
        "automatic_reboot": options.automatic_reboot,
        "reboot_time": options.reboot_time,
        "hsts_seconds": options.hsts_seconds,
        "audit_log": options.audit_log,
        "client_ip_mode": options.client_ip_mode,
        "trusted_proxies": LOCAL_PROXIES,
        "failure_events": FAILURE_EVENTS,
        "maxretry": BAN_MAX_RETRY,
        "findtime": BAN_FIND_TIME,
        "bantime": BAN_TIME,
        "permissions_policy": get_permissions_policy(),
        "ufw_rules": build_rules(options.ssh_port, options.ssh_allow, firewall_web_sources(options)),
    }


def render_files(options: HostOptions) -> list[RenderedFile]:
    engine = _engine()
    context = build_context(options)
    files = []
    for key, template_name, description, mode in _FILES:
        text = engine.get_template(template_name).render(Context(context, autoescape=False))
        text = _BLANK_RUNS.sub("\n\n", text).strip("\n") + "\n"
        if "INVALID_TEMPLATE_VARIABLE" in text:
            raise RuntimeError(f"Template {template_name} uses a variable that build_context does not provide (a programming error).")
        files.append(RenderedFile(key, description, INSTALL_PATHS[key], text, mode))
    return files
