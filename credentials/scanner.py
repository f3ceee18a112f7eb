"""Find secrets in a git repository before they are committed or pushed.

Provider token formats (AWS, GitHub, GitLab, Stripe, Slack, …) come from
detect-secrets' format plugins. The project's own rules are in ``RULES``
below: files that must never be committed, Dango API keys, private key
blocks, values currently in the secrets store, and high-entropy values
assigned to secret-sounding names.

A finding carries a masked excerpt and a fingerprint, never the secret. The
fingerprint is a SHA-256 over the rule, the path and the secret, so a team
can allowlist a reviewed false positive without writing the value down.
"""

import fnmatch
import hashlib
import math
import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

from credentials.masking import mask_value

ALLOWLIST_FILE = ".secrets-allowlist"
MAX_FILE_BYTES = 2 * 1024 * 1024

# Paths that are secrets by their nature, whatever they contain. Example
# files (.env.example, .env.sample, .env.template) are documentation.
FORBIDDEN_PATHS = [
    (".dlt/secrets.toml", "dlt source credentials"),
    (".env", "environment file with secrets"),
    (".env.*", "environment file with secrets"),
    (".dango/secret_key", "Django SECRET_KEY of a deployment"),
    ("id_rsa", "SSH private key"),
    ("id_dsa", "SSH private key"),
    ("id_ecdsa", "SSH private key"),
    ("id_ed25519", "SSH private key"),
    ("*.p12", "PKCS#12 key store"),
    ("*.pfx", "PKCS#12 key store"),
]
ALLOWED_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist")

# detect-secrets plugins that match one provider's documented token format.
# Its entropy and keyword plugins are left out: they flag far too much code,
# and the keyword rule below does that job with an entropy threshold.
PROVIDER_PLUGINS = [
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern
    group: int = 0  # the regex group holding the secret itself


SECRET_NAME = r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|auth)[A-Za-z0-9_.-]*"

RULES = [
    Rule("dango-api-key", "Dango API key", re.compile(r"dango_ak_[A-Za-z0-9_-]{32,}")),
    Rule(
        "private-key-block",
        "private key block",
        re.compile(r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    ),
    Rule(
        "secret-assignment",
        "high-entropy value assigned to a secret-sounding name",
        re.compile(rf"(?i)[\"']?{SECRET_NAME}[\"']?\s*(?:=|:|:=|=>)\s*([\"']?)([^\s\"',;]{{12,}})"),
        group=2,
    ),
]

MIN_ASSIGNMENT_ENTROPY = 3.0
PLACEHOLDER = re.compile(r"^(?:x+|\*+|\.+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s|changeme|example\w*|dummy\w*)$", re.I)
# An unquoted value that looks like a variable, attribute or call is code, not a secret.
CODE_REFERENCE = re.compile(r"^(?:[a-z_][a-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Za-z_][\w.]*[(\[].*)$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    rule: str
    description: str
    excerpt: str
    fingerprint: str
    commit: str | None = None

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        if self.commit:
            where = f"{self.commit[:12]} {where}"
        return f"{where}: {self.description} [{self.rule}] {self.excerpt}  (fingerprint {self.fingerprint})"


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def fingerprint(rule: str, path: str, secret: str) -> str:
    return hashlib.sha256(f"{rule}\0{path}\0{secret}".encode()).hexdigest()[:24]


def _excerpt(line: str, secret: str) -> str:
    shown = line.strip().replace(secret, mask_value(secret)) if secret else line.strip()
    return shown if len(shown) <= 120 else shown[:117] + "..."


def forbidden_path_reason(path: str) -> str | None:
    posix = PurePosixPath(path)
    if posix.name.endswith(ALLOWED_EXAMPLE_SUFFIXES):
        return None
    for pattern, reason in FORBIDDEN_PATHS:
        if "/" in pattern:
            if path == pattern or path.endswith("/" + pattern):
                return reason
        elif fnmatch.fnmatchcase(posix.name, pattern):
            return reason
    return None


def _is_plausible_assignment(secret: str, quoted: bool) -> bool:
    if PLACEHOLDER.match(secret) or (not quoted and CODE_REFERENCE.match(secret)):
        return False
    return shannon_entropy(secret) >= MIN_ASSIGNMENT_ENTROPY


def scan_text(path: str, text: str, known_secrets: Iterable[str] = ()) -> Iterator[Finding]:
    """Yield the findings in one file's text."""
    known = sorted({s for s in known_secrets if s and len(s) >= 8}, key=len, reverse=True)
    reason = forbidden_path_reason(path)
    if reason:
        yield Finding(path, None, "forbidden-file", f"{reason} must not be committed", "", fingerprint("forbidden-file", path, ""))

    with transient_settings({"plugins_used": [{"name": name} for name in PROVIDER_PLUGINS], "filters_used": []}):
        for number, line in enumerate(text.splitlines(), start=1):
            seen: set[str] = set()
            for value in known:
                if value in line and value not in seen:
                    seen.add(value)
                    yield _finding(path, number, line, "store-value", "value from the secrets store", value)
            for potential in scan_line(line):
                secret = _expand_token(line, potential.secret_value or "")
                if not secret or any(secret in s or s in secret for s in seen):
                    continue
                seen.add(secret)
                rule_id = "provider:" + potential.type.lower().replace(" ", "-")
                yield _finding(path, number, line, rule_id, potential.type, secret)
            for rule in RULES:
                for match in rule.pattern.finditer(line):
                    secret = match.group(rule.group)
                    if any(secret in s or s in secret for s in seen):
                        continue
                    if rule.id == "secret-assignment" and not _is_plausible_assignment(secret, bool(match.group(1))):
                        continue
                    seen.add(secret)
                    yield _finding(path, number, line, rule.id, rule.description, secret)


TOKEN_CHARACTER = re.compile(r"[^\s\"'#,;=:]")


def _expand_token(line: str, secret: str) -> str:
    """Widen a detector's match to the whole token around it, so the mask hides all of it."""
    start = line.find(secret)
    if not secret or start == -1:
        return secret
    end = start + len(secret)
    while start > 0 and TOKEN_CHARACTER.match(line[start - 1]):
        start -= 1
    while end < len(line) and TOKEN_CHARACTER.match(line[end]):
        end += 1
    return line[start:end]


def _finding(path, number, line, rule_id, description, secret) -> Finding:
    return Finding(path, number, rule_id, description, _excerpt(line, secret), fingerprint(rule_id, path, secret))


def load_allowlist(root: Path) -> set[str]:
    """Read fingerprints from the allowlist file; text after ``#`` is a comment."""
    path = root / ALLOWLIST_FILE
    if not path.exists():
        return set()
    entries = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        value = raw.split("#", 1)[0].strip()
        if value:
            entries.add(value)
    return entries


class GitError(Exception):
    pass


def _git(root: Path, *args: str) -> bytes:
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, check=True)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH.") from None
    except subprocess.CalledProcessError as error:
        message = error.stderr.decode(errors="replace").strip()
        raise GitError(f"git {' '.join(args)} failed: {message}") from None
    return result.stdout


def repository_root(start: Path) -> Path:
    return Path(_git(start, "rev-parse", "--show-toplevel").decode().strip())


def _decode(blob: bytes) -> str | None:
    if len(blob) > MAX_FILE_BYTES or b"\0" in blob[:8192]:
        return None
    return blob.decode("utf-8", errors="replace")


def _split_z(output: bytes) -> list[str]:
    return [item.decode("utf-8", errors="surrogateescape") for item in output.split(b"\0") if item]


def scan_tracked(root: Path, known_secrets: Iterable[str] = ()) -> Iterator[Finding]:
    """Scan the working-tree content of every file git tracks."""
    known = list(known_secrets)
    for path in _split_z(_git(root, "ls-files", "-z")):
        file = root / path
        if not file.is_file() or file.is_symlink():
            if forbidden_path_reason(path):
                yield from scan_text(path, "", known)
            continue
        text = _decode(file.read_bytes()[: MAX_FILE_BYTES + 1])
        yield from scan_text(path, text or "", known)


def scan_staged(root: Path, known_secrets: Iterable[str] = ()) -> Iterator[Finding]:
    """Scan the index content of files added, copied, modified or renamed in the staged change."""
    known = list(known_secrets)
    changed = _split_z(_git(root, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"))
    for path in changed:
        blob = _git(root, "show", f":{path}")
        text = _decode(blob)
        yield from scan_text(path, text or "", known)


def scan_history(root: Path, known_secrets: Iterable[str] = ()) -> Iterator[Finding]:
    """Scan every blob that any commit added or changed, each blob once."""
    known = list(known_secrets)
    commits = _git(root, "rev-list", "--all").decode().split()
    seen_blobs: set[str] = set()
    for commit in reversed(commits):
        output = _git(root, "diff-tree", "-r", "--root", "--no-commit-id", "-z", "--diff-filter=ACMR", commit)
        fields = _split_z(output)
        # -z output alternates ":<modes> <shas> <status>" and the path.
        for meta, path in zip(fields[0::2], fields[1::2]):
            blob_sha = meta.split()[3]
            if blob_sha in seen_blobs:
                continue
            seen_blobs.add(blob_sha)
            text = _decode(_git(root, "cat-file", "blob", blob_sha))
            for finding in scan_text(path, text or "", known):
                yield Finding(**{**finding.__dict__, "commit": commit})


def unreviewed(findings: Iterable[Finding], allowlist: set[str]) -> list[Finding]:
    return [finding for finding in findings if finding.fingerprint not in allowlist]
