#!/bin/sh
# Firewall for {{ domain }}, written by `manage.py hardening render`.
# Run once as root: sh ufw-rules.sh
#
# It allows SSH before it turns the firewall on, so the session running it
# stays open. It adds rules and deletes none: remove older, broader rules for
# the same ports yourself (`ufw status numbered`, then `ufw delete N`);
# `manage.py hardening render --check` lists any it finds.
{% if cloudflare %}#
# The site is behind Cloudflare, so ports 80 and 443 accept only Cloudflare's
# address ranges. Clients cannot bypass Cloudflare by connecting directly.
{% endif %}set -eu

ufw default deny incoming
ufw default allow outgoing
{% for rule in ufw_rules %}{{ rule.command }}
{% endfor %}ufw --force enable
ufw status verbose
