"""Short browser descriptions for the session list, such as "Firefox 128 on Linux".

This reads only the well-known tokens of the major browsers; anything else is
shown by its first product token. User agents are client-supplied and can be
forged, so the description helps a user recognise a session, never prove it.
"""

import re

# Checked in order: Edge, Opera and Samsung Internet also carry "Chrome/",
# and every Chromium browser carries "Safari/".
_BROWSERS = [
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
]
_SYSTEMS = [
    ("iOS", re.compile(r"iPhone|iPod")),
    ("iPadOS", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
]
_PRODUCT = re.compile(r"^([A-Za-z][\w.-]*)(?:/([\w.]+))?")


def describe_browser(user_agent: str) -> str:
    """Return "<browser> <major version> on <system>", or the first product token."""
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return "unknown browser"
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    for name, pattern in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            browser = f"{name} {match.group(1)}"
            return f"{browser} on {system}" if system else browser
    product = _PRODUCT.match(user_agent)
    if product and product.group(1) != "Mozilla":
        return " ".join(part for part in product.groups() if part)
    return f"unknown browser on {system}" if system else "unknown browser"
