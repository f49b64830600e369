"""`ell web` answers only requests addressed to itself (no DNS rebinding).

A page on another site can point one of its own names at 127.0.0.1 and then read whatever a
local server answers for that name. Browsers send the name they used in ``Host``, so every
request whose ``Host`` is not one of this server's names is refused (403) before anything is read
from the repository: the loopback names, the address it was bound to, and those given with
``--allow-host``. A refused request sees no prompt, no output and no feedback token.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Optional

from flask import Flask, Response, request

__all__ = ["LOOPBACK_NAMES", "allowed_names", "install", "hostname", "is_loopback"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def hostname(host: str) -> str:
    """``Host`` without its port, lower-case, IPv6 without brackets (``[::1]:8000`` → ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine's loopback."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_names(bound: Optional[str] = None, extra: Iterable[str] = ()) -> frozenset[str]:
    names = set(LOOPBACK_NAMES)
    if bound and hostname(bound) not in _WILDCARDS:
        names.add(hostname(bound))
    names.update(hostname(h) for h in extra if h and h.strip())
    return frozenset(names)


def install(app: Flask, names: frozenset[str]) -> None:
    """Refuse, before any view runs, a request addressed to a name not in `names`."""
    app.config["ELL_ALLOWED_HOSTS"] = names

    @app.before_request
    def addressed_to_us() -> Optional[Response]:
        if hostname(request.host or "") in names:
            return None
        # Plain text, not the error page: that page shows the repository's path and the request's.
        return Response(_REFUSED, status=403, mimetype="text/plain")


_REFUSED = ("403 Forbidden: this ell web server answers only to its own address (127.0.0.1, localhost, [::1], "
            "the address it listens on, or a name given with `ell web --allow-host NAME`).\n")
