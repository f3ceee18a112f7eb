"""Compare a host with the rendered configs: one PASS, FAIL or SKIP per item.

Installed files must equal the rendered ones byte for byte and must not be
writable by group or others. Beyond the files, the check runs ``sshd -T`` to
read the settings sshd will use, because an earlier drop-in can override
ours. It also reads the rules ufw stores, because a rules script proves
nothing until it has been run.
"""

import configparser
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hardening.hostconfig.options import HostOptions
from hardening.hostconfig.render import UFW_SCRIPT, RenderedFile, firewall_web_sources
from hardening.hostconfig.ufw import build_rules, parse_stored_tuples, tuple_ports

PASS = "PASS"
FAIL = "FAIL"
SKIP = "SKIP"

SSHD_CONFIG = "sshd-config"
UFW_RULES_IPV4 = "ufw-rules"
UFW_RULES_IPV6 = "ufw-rules6"
UFW_CONF = "ufw-conf"
UFW_DEFAULTS = "ufw-defaults"
CLOUDFLARE_TOKEN = "cloudflare-token"
AUDIT_LOG = "audit-log"

SSHD_TIMEOUT_SECONDS = 20
MAX_LISTED = 3


@dataclass(frozen=True)
class CheckResult:
    status: str
    name: str
    detail: str


def default_host_paths(options: HostOptions, files: list[RenderedFile]) -> dict[str, PurePosixPath]:
    """Return every host path the check reads, by the name ``--path NAME=PATH`` overrides."""
    paths = {file.key: file.install_path for file in files if file.install_path is not None}
    paths.update(
        {
            SSHD_CONFIG: PurePosixPath("/etc/ssh/sshd_config"),
            UFW_RULES_IPV4: PurePosixPath("/etc/ufw/user.rules"),
            UFW_RULES_IPV6: PurePosixPath("/etc/ufw/user6.rules"),
            UFW_CONF: PurePosixPath("/etc/ufw/ufw.conf"),
            UFW_DEFAULTS: PurePosixPath("/etc/default/ufw"),
            CLOUDFLARE_TOKEN: PurePosixPath("/etc/fail2ban/action.d/cloudflare-token.local"),
            AUDIT_LOG: options.audit_log,
        }
    )
    return paths


def resolve_host_paths(defaults: dict[str, PurePosixPath], root: Path, overrides: dict[str, str]) -> dict[str, Path]:
    """Place the default paths under ``root`` and apply ``overrides`` (taken as given, not under root)."""
    paths = {name: root / path.relative_to("/") for name, path in defaults.items()}
    for name, value in overrides.items():
        if name not in paths:
            raise ValueError(f"--path {name}=... names no checked file. Known names: {', '.join(sorted(paths))}.")
        paths[name] = Path(value)
    return paths


def _read_text(path: Path) -> tuple[str | None, str]:
    """Return (text, "") or (None, why the file could not be read)."""
    try:
        return path.read_text(encoding="utf-8"), ""
    except FileNotFoundError:
        return None, f"{path} is missing"
    except (OSError, UnicodeDecodeError) as error:
        return None, f"{path} cannot be read: {error}"


def _first_difference(expected: str, found: str) -> str:
    expected_lines = expected.splitlines()
    found_lines = found.splitlines()
    for number, (want, have) in enumerate(zip(expected_lines, found_lines), start=1):
        if want != have:
            return f"line {number} is {have[:80]!r}, expected {want[:80]!r}"
    if len(found_lines) < len(expected_lines):
        return f"it ends at line {len(found_lines)}, expected {len(expected_lines)} lines"
    if len(found_lines) > len(expected_lines):
        return f"it has {len(found_lines) - len(expected_lines)} extra line(s) after line {len(expected_lines)}"
    return "the line endings or final newline differ"


def check_installed_file(file: RenderedFile, path: Path) -> CheckResult:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CheckResult(FAIL, file.description, f"{path} is missing; install it from the rendered folder")
    except (OSError, UnicodeDecodeError) as error:
        return CheckResult(FAIL, file.description, f"{path} cannot be read: {error}")
    if content != file.content:
        return CheckResult(
            FAIL, file.description, f"{path} differs from the rendered file: {_first_difference(file.content, content)}"
        )
    if mode & 0o022:
        return CheckResult(
            FAIL, file.description, f"{path} has mode {mode:04o}; other users could change it. Run: chmod 644 {path}"
        )
    return CheckResult(PASS, file.description, str(path))


def _find_sshd() -> str | None:
    return shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")


def expected_sshd_settings(options: HostOptions) -> dict[str, set[str]]:
    """Return the ``sshd -T`` keywords to verify and the values each may have."""
    # sshd -T prints prohibit-password under its older name, without-password.
    root_login = {"no"} if options.permit_root_login == "no" else {"prohibit-password", "without-password", "no"}
    return {
        "passwordauthentication": {"no"},
        "kbdinteractiveauthentication": {"no"},
        "permitemptypasswords": {"no"},
        "pubkeyauthentication": {"yes"},
        "authenticationmethods": {"publickey"},
        "permitrootlogin": root_login,
    }


def check_sshd_effective(options: HostOptions, sshd_config: Path) -> CheckResult:
    name = "sshd effective settings"
    sshd = _find_sshd()
    if sshd is None:
        return CheckResult(SKIP, name, "sshd is not installed, so nothing listens for SSH")
    if not sshd_config.exists():
        return CheckResult(FAIL, name, f"{sshd_config} is missing")
    try:
        result = subprocess.run(
            [sshd, "-T", "-f", str(sshd_config)],
            capture_output=True,
            text=True,
            timeout=SSHD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CheckResult(FAIL, name, f"`sshd -T` did not finish within {SSHD_TIMEOUT_SECONDS} s")
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return CheckResult(FAIL, name, f"`sshd -T -f {sshd_config}` failed: {detail}")

    effective: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        keyword, _, value = line.partition(" ")
        effective.setdefault(keyword.lower(), []).append(value.strip())
    wrong = []
    for keyword, allowed in expected_sshd_settings(options).items():
        value = " ".join(effective.get(keyword, ["(unset)"]))
        if value not in allowed:
            wrong.append(f"{keyword} is {value}, expected {' or '.join(sorted(allowed))}")
    if str(options.ssh_port) not in effective.get("port", []):
        wrong.append(f"port is {' '.join(effective.get('port', ['(unset)']))}, expected {options.ssh_port}")
    if wrong:
        return CheckResult(
            FAIL,
            name,
            "; ".join(wrong) + ". A file read before 00-dango-hardening.conf (sshd keeps the first value) "
            "or the main sshd_config sets these.",
        )
    return CheckResult(PASS, name, "key-only login is in force")


def check_ufw_rules(options: HostOptions, rules_ipv4: Path, rules_ipv6: Path) -> CheckResult:
    name = "ufw rules"
    stored = {}
    for version, path in ((4, rules_ipv4), (6, rules_ipv6)):
        text, error = _read_text(path)
        if text is None:
            return CheckResult(FAIL, name, f"{error}; install ufw and run ufw-rules.sh")
        stored[version] = parse_stored_tuples(text)

    rules = build_rules(options.ssh_port, options.ssh_allow, firewall_web_sources(options))
    expected = {4: set(), 6: set()}
    for rule in rules:
        for version, stored_tuple in rule.stored_tuples():
            expected[version].add(stored_tuple)
    managed_ports = {str(options.ssh_port), "80", "443"}

    missing = sorted(t for version in (4, 6) for t in expected[version] - stored[version])
    extra = sorted(
        t
        for version in (4, 6)
        for t in stored[version] - expected[version]
        if t.split()[0] in ("allow", "limit") and tuple_ports(t) & managed_ports
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} rule(s) missing, such as '{missing[0]}'; run ufw-rules.sh")
    if extra:
        listed = "; ".join(f"'{t}'" for t in extra[:MAX_LISTED])
        problems.append(f"{len(extra)} other rule(s) open the same ports to other sources: {listed}")
    if problems:
        return CheckResult(FAIL, name, ". ".join(problems))
    return CheckResult(PASS, name, f"{len(rules)} rule(s) in force, no broader rule for ports {', '.join(sorted(managed_ports))}")


def _read_shell_assignments(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def check_ufw_active(ufw_conf: Path, ufw_defaults: Path) -> CheckResult:
    name = "ufw enabled, incoming denied"
    conf_text, conf_error = _read_text(ufw_conf)
    defaults_text, defaults_error = _read_text(ufw_defaults)
    if conf_text is None or defaults_text is None:
        return CheckResult(FAIL, name, f"{conf_error or defaults_error}; install ufw")
    problems = []
    if _read_shell_assignments(conf_text).get("ENABLED", "").lower() != "yes":
        problems.append(f"ufw is not enabled ({ufw_conf}); run ufw-rules.sh")
    policy = _read_shell_assignments(defaults_text).get("DEFAULT_INPUT_POLICY", "")
    if policy.upper() not in ("DROP", "REJECT"):
        problems.append(f"the default incoming policy is {policy or '(unset)'!r}, expected DROP; run `ufw default deny incoming`")
    if problems:
        return CheckResult(FAIL, name, "; ".join(problems))
    return CheckResult(PASS, name, str(ufw_conf))


def check_cloudflare_token(path: Path) -> CheckResult:
    name = "fail2ban Cloudflare credentials"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return CheckResult(
            FAIL, name, f"{path} is missing: the dango-audit jail cannot ban at Cloudflare without the zone id and token"
        )
    if mode & 0o007:
        return CheckResult(FAIL, name, f"{path} has mode {mode:04o}, so every user can read the API token. Run: chmod 600 {path}")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as error:
        return CheckResult(FAIL, name, f"{path} cannot be parsed: {error}")
    missing = [key for key in ("cfzone", "cftoken") if not parser.get("Init", key, fallback="").strip()]
    if missing:
        return CheckResult(FAIL, name, f"{path} has no {' or '.join(missing)} in its [Init] section")
    return CheckResult(PASS, name, str(path))


def check_audit_log(path: Path) -> CheckResult:
    name = "audit log for fail2ban"
    if path.is_file():
        return CheckResult(PASS, name, str(path))
    return CheckResult(
        FAIL,
        name,
        f"{path} does not exist, and fail2ban does not start the dango-audit jail without it. "
        "Dango creates it with the first audit record; check --project-root.",
    )


def check_host(options: HostOptions, files: list[RenderedFile], paths: dict[str, Path]) -> list[CheckResult]:
    results = [check_installed_file(file, paths[file.key]) for file in files if file.key != UFW_SCRIPT]
    results.append(check_sshd_effective(options, paths[SSHD_CONFIG]))
    results.append(check_ufw_rules(options, paths[UFW_RULES_IPV4], paths[UFW_RULES_IPV6]))
    results.append(check_ufw_active(paths[UFW_CONF], paths[UFW_DEFAULTS]))
    if options.cloudflare:
        results.append(check_cloudflare_token(paths[CLOUDFLARE_TOKEN]))
    results.append(check_audit_log(paths[AUDIT_LOG]))
    return results
