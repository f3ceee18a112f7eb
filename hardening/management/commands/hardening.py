import argparse
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from hardening import conf
from hardening.hostconfig.hostcheck import FAIL, check_host, default_host_paths, resolve_host_paths
from hardening.hostconfig.options import (
    DEFAULT_APP_PORT,
    DEFAULT_REBOOT_TIME,
    DEFAULT_SSH_PORT,
    DEFAULT_USER,
    DEFAULT_WORKERS,
    PERMIT_ROOT_LOGIN_CHOICES,
    HostOptions,
    build_options,
)
from hardening.hostconfig.render import RenderedFile, render_files


def _path_override(value: str) -> tuple[str, str]:
    name, separator, path = value.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=PATH, such as caddy=/etc/caddy/Caddyfile")
    return name, path


def _write_file(target: Path, content: str, mode: int) -> None:
    """Write beside ``target`` and rename, so a failure never leaves half a config."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Render hardened host configs for a Dango server (sshd, fail2ban, Caddy, unattended-upgrades, ufw, "
        "systemd), or check an existing host against them. The guide is docs/hardening.md."
    )

    def add_arguments(self, parser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="render")
        render = subcommands.add_parser(
            "render",
            help="Write the configs to --out DIR, or compare them with this host's files (--check).",
            description="Write the configs to --out DIR, or compare them with this host's files (--check).",
        )

        render.add_argument("--domain", required=True, help="Public domain name of the site, such as dango.example.com.")
        target = render.add_mutually_exclusive_group(required=True)
        target.add_argument("--out", metavar="DIR", help="Folder to write the configs into, laid out like the host (etc/...).")
        target.add_argument(
            "--check", action="store_true", help="Compare this host's files with the rendered configs; exit 1 on any failure."
        )

        render.add_argument("--force", action="store_true", help="With --out: replace files that already exist.")
        render.add_argument("--root", default="/", help="With --check: folder the host paths are under (default /).")
        render.add_argument(
            "--path",
            action="append",
            default=[],
            type=_path_override,
            metavar="NAME=PATH",
            help="With --check: read the item NAME from PATH instead (repeatable); --check lists the names on a typo.",
        )

        # What the configs describe.
        render.add_argument("--app-dir", help="Folder holding the Dango code (default /opt/dango).")
        render.add_argument("--venv", help="Python virtual environment with gunicorn (default APP_DIR/.venv).")
        render.add_argument("--project-root", help="Dango's project folder with .dango/ and .dlt/ (default /var/lib/dango).")
        render.add_argument("--user", default=DEFAULT_USER, help=f"Unprivileged user that runs gunicorn (default {DEFAULT_USER}).")
        render.add_argument("--app-port", type=int, default=DEFAULT_APP_PORT, help="Loopback port gunicorn listens on.")
        render.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="Number of gunicorn worker processes.")
        render.add_argument("--ssh-port", type=int, default=DEFAULT_SSH_PORT, help="TCP port of the SSH server.")
        render.add_argument(
            "--permit-root-login",
            choices=PERMIT_ROOT_LOGIN_CHOICES,
            default="prohibit-password",
            help="root over SSH: key only (prohibit-password, the default) or never (no).",
        )
        render.add_argument(
            "--cloudflare",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="The site is behind Cloudflare (default: on when DANGO_CLIENT_IP_MODE=cloudflare).",
        )
        render.add_argument(
            "--allow",
            action="append",
            metavar="CIDR",
            help="Network allowed to use the site (repeatable; default DANGO_IP_ALLOWLIST, empty means everyone).",
        )
        render.add_argument(
            "--ssh-allow", action="append", default=[], metavar="CIDR", help="Network allowed to use SSH (repeatable; default everyone)."
        )
        render.add_argument("--acme-email", help="Email address the certificate authority may write to about the certificate.")
        render.add_argument(
            "--reboot-time", default=DEFAULT_REBOOT_TIME, help="Time of day (HH:MM) for reboots that updates require."
        )
        render.add_argument(
            "--no-automatic-reboot", action="store_true", help="Never reboot after updates; reboot by hand instead."
        )

    def handle(self, *args, **options) -> None:
        if options["check"] and options["force"]:
            raise CommandError("--force applies to --out only; --check writes nothing.")
        if not options["check"] and (options["root"] != "/" or options["path"]):
            raise CommandError("--root and --path apply to --check only; with --out the files go to the folder given.")
        host_options = self._host_options(options)
        files = render_files(host_options)
        if options["check"]:
            self._check(host_options, files, options)
        else:
            self._write(files, Path(options["out"]), options["force"])

    def _host_options(self, options) -> HostOptions:
        try:
            mode = conf.get_client_ip_mode()
            cloudflare = options["cloudflare"] if options["cloudflare"] is not None else mode == conf.CLOUDFLARE
            allow = options["allow"] if options["allow"] is not None else [str(n) for n in conf.get_ip_allowlist()]
            cloudflare_networks = conf.get_cloudflare_networks() if cloudflare else ()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        try:
            return build_options(
                domain=options["domain"],
                app_dir=options["app_dir"],
                venv=options["venv"],
                project_root=options["project_root"],
                user=options["user"],
                app_port=options["app_port"],
                workers=options["workers"],
                ssh_port=options["ssh_port"],
                permit_root_login=options["permit_root_login"],
                cloudflare=cloudflare,
                allow=allow,
                ssh_allow=options["ssh_allow"],
                acme_email=options["acme_email"],
                automatic_reboot=not options["no_automatic_reboot"],
                reboot_time=options["reboot_time"],
                hsts_seconds=getattr(settings, "SECURE_HSTS_SECONDS", 0) or 31536000,
                cloudflare_networks=cloudflare_networks,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None

    def _write(self, files: list[RenderedFile], out: Path, force: bool) -> None:
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} is a file, not a folder. Name a new or existing folder.")
        existing = [out / file.output_path for file in files if (out / file.output_path).exists()]
        if existing and not force:
            raise CommandError(
                f"{len(existing)} file(s) already exist in {out}, such as {existing[0]}. "
                "Choose an empty folder or add --force to replace them."
            )
        for file in files:
            target = out / file.output_path
            try:
                _write_file(target, file.content, file.mode)
            except OSError as error:
                raise CommandError(f"Could not write {target}: {error.strerror or error}.") from None
            self.stdout.write(f"{target}  ({file.description})")
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(files)} files to {out}.")
            + " Install them as docs/hardening.md describes, then run this command with --check."
        )

    def _check(self, host_options: HostOptions, files: list[RenderedFile], options) -> None:
        defaults = default_host_paths(host_options, files)
        try:
            paths = resolve_host_paths(defaults, Path(options["root"]), dict(options["path"]))
        except ValueError as error:
            raise CommandError(str(error)) from None
        results = check_host(host_options, files, paths)
        width = max(len(result.name) for result in results)
        for result in results:
            line = f"{result.status}  {result.name:<{width}}  {result.detail}"
            style = {FAIL: self.style.ERROR}.get(result.status, str)
            self.stdout.write(style(line))
        failed = sum(result.status == FAIL for result in results)
        if failed:
            raise CommandError(f"{failed} of {len(results)} checks failed.")
        self.stdout.write(self.style.SUCCESS(f"All {len(results)} checks passed (or were skipped)."))
