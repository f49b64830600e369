"""Well-known credential formats, found in any text.

Provider API keys, cloud and forge tokens, JWTs, PEM private keys, ``Bearer``/``Basic`` headers and
URLs with a password. Each match is validated (a token must look random: ``sk-learn-is-a-library``
is prose, not a key) and named by a label that becomes its placeholder, ``<redacted:openai-api-key>``.

Speed: this runs on every recorded call. One combined pattern whose alternatives all start with a
literal character lets the regex engine skip most positions; long texts are first checked with a
byte translation (token characters → ``a``) for a run long enough to hold any of these formats.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Iterator

__all__ = ["Hit", "find", "maybe", "looks_random", "LABELS"]


@dataclass(frozen=True)
class Hit:
    """`text[start:end]` is a secret; `label` names it in the placeholder."""

    start: int
    end: int
    label: str


# (label, pattern). Every alternative starts with a literal character and no group wraps it: only
# then does the regex engine skip positions whose character starts no alternative (see the
# docstring). Which alternative matched is read back from the match's first characters (`_label`).
# The part to hide is the whole match, or its group ``v_<kind>`` when it has one.
_FORMATS: tuple[tuple[str, str], ...] = (
    ("anthropic-api-key", r"sk-ant-[a-z0-9]{2,10}-[A-Za-z0-9_-]{20,}"),
    ("openai-api-key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("stripe-key", r"sk_(?:live|test)_[A-Za-z0-9]{16,}|rk_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("webhook-secret", r"whsec_[A-Za-z0-9+/=]{20,}"),
    ("aws-access-key", r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("google-api-key", r"AIza[0-9A-Za-z_-]{35}"),
    ("github-token", r"gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"),
    ("gitlab-token", r"gl(?:pat|dt|rt|ptt|cbt|soat)-[A-Za-z0-9_-]{20,}"),
    ("slack-token", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    ("slack-webhook", r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}"),
    ("google-oauth-token", r"ya29\.[0-9A-Za-z_-]{20,}"),
    ("huggingface-token", r"hf_[A-Za-z0-9]{30,}"),
    ("npm-token", r"npm_[A-Za-z0-9]{36}"),
    ("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,}"),
    ("sendgrid-key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ("jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    ("private-key",
     r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|\Z)"),
    ("bearer-token", r"Bearer[ \t]+(?P<v_bearer1>[A-Za-z0-9._~+/-]{16,}=*)|bearer[ \t]+(?P<v_bearer2>[A-Za-z0-9._~+/-]{16,}=*)"
                     r"|BEARER[ \t]+(?P<v_bearer3>[A-Za-z0-9._~+/-]{16,}=*)"),
    ("basic-auth", r"Basic[ \t]+(?P<v_basic1>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"
                   r"|basic[ \t]+(?P<v_basic2>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"
                   r"|BASIC[ \t]+(?P<v_basic3>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"),
    ("url-password", r"://[^\s/?#@:'\"<>]{1,200}:(?P<v_url>[^\s/?#@'\"<>]{1,200})@"),
)
_PATTERN = re.compile("|".join(p for _, p in _FORMATS))
_VALUE_GROUPS = tuple(g for g in _PATTERN.groupindex if g.startswith("v_"))
LABELS = tuple(label for label, _ in _FORMATS)
# First characters of a match → its label, longest prefix first.
_PREFIXES = (
    ("sk-ant-", "anthropic-api-key"), ("sk-", "openai-api-key"), ("sk_", "stripe-key"), ("rk_", "stripe-key"),
    ("whsec_", "webhook-secret"), ("AIza", "google-api-key"), ("A", "aws-access-key"), ("gh", "github-token"),
    ("github_pat_", "github-token"), ("gl", "gitlab-token"), ("xox", "slack-token"),
    ("https://hooks.slack.com/", "slack-webhook"), ("ya29.", "google-oauth-token"), ("hf_", "huggingface-token"),
    ("npm_", "npm-token"), ("pypi-", "pypi-token"), ("SG.", "sendgrid-key"), ("eyJ", "jwt"),
    ("-----BEGIN", "private-key"), ("Bearer", "bearer-token"), ("bearer", "bearer-token"),
    ("BEARER", "bearer-token"), ("Basic", "basic-auth"), ("basic", "basic-auth"), ("BASIC", "basic-auth"),
    ("://", "url-password"),
)
_PREFIXES = tuple(sorted(_PREFIXES, key=lambda p: -len(p[0])))


def _label(matched: str) -> str:
    for prefix, label in _PREFIXES:
        if matched.startswith(prefix):
            return label
    return "secret"  # pragma: no cover - every alternative has a prefix above


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
# Token characters → "a", everything else (other bytes of UTF-8 included) → " ".
_RUNS = bytes(ord("a") if chr(i) in _TOKEN_CHARS else ord(" ") for i in range(256))
_RUN = b"a" * 16
_LONG = 32  # texts at least this long get the byte pre-check first
# Placeholder-like passwords in URLs that are documentation, not secrets.
_NOT_URL_PASSWORDS = frozenset({"password", "pass", "passwd", "secret", "pwd", "xxx", "xxxx", "****", "***", "..."})


def maybe(text: str) -> bool:
    """Cheap and never wrong in the "no" direction: False means `find(text)` finds nothing."""
    if len(text) < _LONG:
        return len(text) >= 8 and _PATTERN.search(text) is not None
    if ("://" in text and "@" in text) or "asic " in text or "ASIC " in text or "PRIVATE KEY" in text:
        return _PATTERN.search(text) is not None
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        raw = text.encode("utf-8", "surrogatepass")
    return raw.translate(_RUNS).find(_RUN) >= 0 and _PATTERN.search(text) is not None


def find(text: str) -> Iterator[Hit]:
    """Every validated credential in `text`, left to right, not overlapping."""
    if len(text) < 8:
        return
    pos = 0
    while True:
        m = _PATTERN.search(text, pos)
        if m is None:
            return
        label = _label(m.group())
        start, end = m.span()
        for g in _VALUE_GROUPS:
            if m.start(g) >= 0:
                start, end = m.span(g)
                break
        if _valid(label, text, m.start(), start, end):
            yield Hit(start, end, label)
            pos = m.end()
        else:
            pos = m.start() + 1


def _valid(label: str, text: str, match_start: int, start: int, end: int) -> bool:
    value = text[start:end]
    if label in ("bearer-token", "basic-auth", "url-password", "private-key", "slack-webhook"):
        before_ok = True
    else:  # a token format must not start in the middle of a longer token ("mask-…" is not "sk-…")
        before_ok = match_start == 0 or text[match_start - 1] not in _TOKEN_CHARS
    if not before_ok:
        return False
    if label == "basic-auth":
        return _basic_credentials(value)
    if label == "url-password":
        return value.lower() not in _NOT_URL_PASSWORDS and not value.startswith(("<", "{", "$", "%")) \
            and not set(value) <= {"*", "x", "X", "•", "."}
    if label == "bearer-token":
        return looks_random(value, minimum=16) or value.count(".") == 2
    if label in _RANDOM_BODY:
        return looks_random(value[_RANDOM_BODY[label]:], minimum=16)
    return True


# Formats whose body (after this many characters of prefix) must look random: their prefixes are
# short enough to start ordinary words ("sk-learn-is-a-library").
_RANDOM_BODY = {"openai-api-key": 3, "anthropic-api-key": 7, "gitlab-token": 3, "slack-token": 4,
                "huggingface-token": 3, "google-oauth-token": 5, "webhook-secret": 6}


def _basic_credentials(value: str) -> bool:
    """`Basic <base64>` only when it decodes to printable ``user:password``."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in decoded and decoded.isprintable() and len(decoded) >= 3


def looks_random(value: str, *, minimum: int = 16) -> bool:
    """A machine-made token: long, no spaces, letters and digits mixed, high per-character entropy.
    UUIDs are identifiers, not credentials, and are left alone."""
    n = len(value)
    if n < minimum or n > 20_000 or not _TOKEN_ALPHABET.fullmatch(value[:2000]):
        return False  # spaces, brackets, quotes, backslashes: prose, regexes, code, not a token
    if n == 36 and _UUID.match(value):
        return False
    head = value[:2000]
    digits = sum(c.isdigit() for c in head)
    letters = sum(c.isalpha() for c in head)
    if not letters or not (digits or any(c.isupper() for c in head) and any(c.islower() for c in head)):
        return False
    counts: dict[str, int] = {}
    for c in head:
        counts[c] = counts.get(c, 0) + 1
    m = len(head)
    entropy = -sum(k / m * math.log2(k / m) for k in counts.values())
    return entropy >= 3.0


_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_\-+/=.~:]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
