"""The inputs of the rendered host configs, validated before anything is written.

Every value ends up inside a config file or a unit, where a space, quote or
newline could change what the file means. So each one is checked against a
strict form here, and a value outside it raises ValueError saying which
option and what form is expected.
"""

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

DEFAULT_APP_DIR = PurePosixPath("/opt/dango")
DEFAULT_PROJECT_ROOT = PurePosixPath("/var/lib/dango")
DEFAULT_USER = "dango"
DEFAULT_APP_PORT = 8000
DEFAULT_WORKERS = 3
DEFAULT_SSH_PORT = 22
DEFAULT_REBOOT_TIME = "04:00"
DEFAULT_HSTS_SECONDS = 31536000
PERMIT_ROOT_LOGIN_CHOICES = ("prohibit-password", "no")
# Reverse proxy (Caddy) on the same host.
LOCAL_PROXIES = ("127.0.0.1/32", "::1/128")

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/@+-]*$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# ProtectHome=yes in the unit hides these from the service.
_HIDDEN_BY_PROTECT_HOME = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))


def validate_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        pass
    else:
        raise ValueError(f"--domain {value!r} is an IP address; automatic TLS needs a domain name such as dango.example.com.")
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"--domain {value!r} is not a domain name: use letters, digits and hyphens in dot-separated labels, "
            "such as dango.example.com (write an internationalized name in its xn-- form)."
        )
    return domain


def validate_path(option: str, value: str) -> PurePosixPath:
    if not _SAFE_PATH.match(value) or "/../" in f"{value}/" or "//" in value:
        raise ValueError(
            f"{option} {value!r} is not a plain absolute path: use letters, digits and . _ - @ + / only, "
            "such as /var/lib/dango."
        )
    path = PurePosixPath(value)
    if any(path == hidden or hidden in path.parents for hidden in _HIDDEN_BY_PROTECT_HOME):
        raise ValueError(
            f"{option} {value!r} is under /home, /root or /run/user, which the service unit hides "
            "(ProtectHome=yes). Use a folder such as /opt/dango or /var/lib/dango."
        )
    return path


def validate_user(value: str) -> str:
    if not _USER.match(value) or value == "root":
        raise ValueError(
            f"--user {value!r} is not an unprivileged user name: use lower-case letters, digits, _ and -, "
            "starting with a letter, such as dango."
        )
    return value


def validate_port(option: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{option} {value} is not a TCP port; use a number from 1 to 65535.")
    return value


def validate_networks(option: str, values) -> tuple:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{option} {value!r} is not an IP address or network; use CIDR notation such as 203.0.113.0/24."
            ) from None
    return tuple(networks)


def validate_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"--acme-email {value!r} is not an email address such as ops@example.com.")
    return value


def validate_reboot_time(value: str) -> str:
    if not _TIME.match(value):
        raise ValueError(f"--reboot-time {value!r} is not a time of day in HH:MM form, such as 04:00.")
    return value


@dataclass(frozen=True)
class HostOptions:
    """Inputs of the rendered configs: the site, Dango's folders and user, and the networks that may connect."""

    domain: str
    app_dir: PurePosixPath = DEFAULT_APP_DIR
    venv: PurePosixPath = DEFAULT_APP_DIR / ".venv"
    project_root: PurePosixPath = DEFAULT_PROJECT_ROOT
    user: str = DEFAULT_USER
    app_port: int = DEFAULT_APP_PORT
    workers: int = DEFAULT_WORKERS
    ssh_port: int = DEFAULT_SSH_PORT
    permit_root_login: str = "prohibit-password"
    cloudflare: bool = False
    # Networks allowed to reach the site (empty: everyone) and SSH (empty: everyone, rate-limited).
    allow: tuple = ()
    ssh_allow: tuple = ()
    acme_email: str | None = None
    automatic_reboot: bool = True
    reboot_time: str = DEFAULT_REBOOT_TIME
    hsts_seconds: int = DEFAULT_HSTS_SECONDS
    # Cloudflare's edge networks, used for the firewall when ``cloudflare`` is on.
    cloudflare_networks: tuple = field(default=(), repr=False)

    @property
    def audit_log(self) -> PurePosixPath:
        return self.project_root / ".dango" / "logs" / "audit.jsonl"

    @property
    def client_ip_mode(self) -> str:
        return "cloudflare" if self.cloudflare else "proxy"


def build_options(
    *,
    domain: str,
    app_dir: str | None = None,
    venv: str | None = None,
    project_root: str | None = None,
    user: str = DEFAULT_USER,
    app_port: int = DEFAULT_APP_PORT,
    workers: int = DEFAULT_WORKERS,
    ssh_port: int = DEFAULT_SSH_PORT,
    permit_root_login: str = "prohibit-password",
    cloudflare: bool = False,
    allow=(),
    ssh_allow=(),
    acme_email: str | None = None,
    automatic_reboot: bool = True,
    reboot_time: str = DEFAULT_REBOOT_TIME,
    hsts_seconds: int = DEFAULT_HSTS_SECONDS,
    cloudflare_networks=(),
) -> HostOptions:
    """Validate every value and return the options; raise ValueError on the first invalid one."""
    app_dir_path = validate_path("--app-dir", app_dir) if app_dir else DEFAULT_APP_DIR
    if permit_root_login not in PERMIT_ROOT_LOGIN_CHOICES:
        raise ValueError(
            f"--permit-root-login {permit_root_login!r} is not one of: {', '.join(PERMIT_ROOT_LOGIN_CHOICES)}."
        )
    if not 1 <= workers <= 64:
        raise ValueError(f"--workers {workers} is out of range; use 1 to 64 (2 per core plus 1 is usual).")
    if hsts_seconds < 0:
        raise ValueError(f"HSTS max-age {hsts_seconds} is negative.")
    if cloudflare and not cloudflare_networks:
        raise ValueError("--cloudflare needs Cloudflare's address ranges, but DANGO_CLOUDFLARE_IP_RANGES is empty.")
    return HostOptions(
        domain=validate_domain(domain),
        app_dir=app_dir_path,
        venv=validate_path("--venv", venv) if venv else app_dir_path / ".venv",
        project_root=validate_path("--project-root", project_root) if project_root else DEFAULT_PROJECT_ROOT,
        user=validate_user(user),
        app_port=validate_port("--app-port", app_port),
        workers=workers,
        ssh_port=validate_port("--ssh-port", ssh_port),
        permit_root_login=permit_root_login,
        cloudflare=cloudflare,
        allow=validate_networks("--allow", allow),
        ssh_allow=validate_networks("--ssh-allow", ssh_allow),
        acme_email=validate_email(acme_email) if acme_email else None,
        automatic_reboot=automatic_reboot,
        reboot_time=validate_reboot_time(reboot_time),
        hsts_seconds=hsts_seconds,
        cloudflare_networks=tuple(cloudflare_networks),
    )
