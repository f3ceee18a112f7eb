"""Firewall rules for the host, as ufw commands and as the rules ufw stores.

ufw keeps each rule in /etc/ufw/user.rules (IPv4) and user6.rules (IPv6) as a
line ``### tuple ### <action> <proto> <dport> <dst> <sport> <src> <direction>``
followed by an optional ``comment=<hex>``. The host check compares those
lines, so it reads the rules ufw applies rather than a script someone may
not have run.
"""

import ipaddress
from dataclasses import dataclass

WEB_PORTS = "80,443"
ANY_IPV4 = "0.0.0.0/0"
ANY_IPV6 = "::/0"
# SSH from anywhere is two rules, one per family, because the two get different actions.
ANYWHERE = (ipaddress.ip_network(ANY_IPV4), ipaddress.ip_network(ANY_IPV6))


def format_source(network) -> str:
    """Return ``network`` as ufw writes it: a single host without its /32 or /128."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


@dataclass(frozen=True)
class UfwRule:
    """One incoming TCP rule; ``source`` None means any address of both families."""

    action: str  # "allow", or "limit": allow, but reject a source after 6 connections in 30 s
    ports: str
    source: object | None  # an ipaddress network
    comment: str

    def command(self) -> str:
        source = f" from {format_source(self.source)}" if self.source is not None else ""
        return f"ufw {self.action} proto tcp{source} to any port {self.ports} comment '{self.comment}'"

    def stored_tuples(self) -> list[tuple[int, str]]:
        """Return (IP version, tuple text without comment) as ufw stores this rule."""
        if self.source is None:
            return [
                (4, f"{self.action} tcp {self.ports} {ANY_IPV4} any {ANY_IPV4} in"),
                (6, f"{self.action} tcp {self.ports} {ANY_IPV6} any {ANY_IPV6} in"),
            ]
        anywhere = ANY_IPV4 if self.source.version == 4 else ANY_IPV6
        return [(self.source.version, f"{self.action} tcp {self.ports} {anywhere} any {format_source(self.source)} in")]


def build_rules(ssh_port: int, ssh_sources, web_sources) -> list[UfwRule]:
    """Return the rules for SSH from ``ssh_sources`` and HTTP(S) from ``web_sources`` (empty: anywhere)."""
    # ufw's "limit" needs the kernel's IPv6 "recent" match, which some hosts
    # lack. There ufw skips the IPv6 rule with only a notice, and SSH over
    # IPv6 would be shut out. So IPv6 gets a plain allow and relies on fail2ban.
    rules = [
        UfwRule("limit" if source.version == 4 else "allow", str(ssh_port), source, "dango ssh")
        for source in ssh_sources or ANYWHERE
    ]
    rules += [UfwRule("allow", WEB_PORTS, source, "dango web") for source in web_sources or [None]]
    return rules


def parse_stored_tuples(text: str) -> set[str]:
    """Return the rule tuples in a user.rules or user6.rules file, without their comments."""
    tuples = set()
    for line in text.splitlines():
        if not line.startswith("### tuple ### "):
            continue
        fields = line[len("### tuple ### "):].split()
        fields = [field for field in fields if not field.startswith("comment=")]
        tuples.add(" ".join(fields))
    return tuples


def tuple_ports(stored: str) -> set[str]:
    """Return the destination ports of a stored tuple (``allow tcp 80,443 ...`` gives {'80', '443'})."""
    fields = stored.split()
    if len(fields) < 3:
        return set()
    return set(fields[2].split(","))
