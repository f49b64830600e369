"""Which names say that the value bound to them is a secret.

A name (a variable, a dict key, a parameter, a keyword, an HTTP header, an environment variable) is
split into lower-case words (``DB_PASSWORD`` → db password, ``xApiKey`` → x api key) and judged on
the *last* secret word in it and on what follows it:

- ``STRONG``: any non-empty string under it is hidden (password, secret, credentials, cookie,
  authorization, auth, token, api key, private key...): people choose such values, so they need
  not look random (``hunter2``).
- ``WEAK``: only values that look random are hidden (``session``, ``session_id``, ``weather_key``,
  a bare ``token`` or one not said to open anything, ``upgrade_token``):
  ``session_id="chat-42"`` stays readable, ``session_id="9f86d081884c7d65..."`` does not.
- ``None``: not a secret name.

Precision matters more than cleverness here: a false positive hides part of a prompt. So whole words
only (``author``, ``keyboard``, ``monkey``, ``tokens``, ``tokenizer``, ``max_tokens`` never match),
words after the secret word must still describe the value (``password_hint``, ``token_url``,
``auth_type``, ``api_key_env`` do not match), and words before ``token``/``key`` that make it a
tokenizer token or a lookup key (``stop_token``, ``cache_key``) do not match either.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["STRONG", "WEAK", "words", "strength"]

STRONG, WEAK = 2, 1

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

#: Hidden whatever the value looks like.
_STRONG_WORDS = frozenset({
    "password", "passwords", "passwd", "passphrase", "passcode", "secret", "secrets", "credential",
    "credentials", "creds", "cookie", "cookies", "authorization", "auth", "apikey", "token", "pass", "pin",
})
#: Hidden only when the value looks random.
_WEAK_WORDS = frozenset({"session", "sessionid"})
#: Glued spellings, split into the words they are made of.
_GLUED = {
    "apikey": ("api", "key"), "apikeys": ("api", "keys"), "secretkey": ("secret", "key"),
    "privatekey": ("private", "key"), "accesskey": ("access", "key"), "authkey": ("auth", "key"),
    "accesstoken": ("access", "token"), "authtoken": ("auth", "token"), "refreshtoken": ("refresh", "token"),
    "idtoken": ("id", "token"), "sessiontoken": ("session", "token"), "apitoken": ("api", "token"),
    "bearertoken": ("bearer", "token"), "csrftoken": ("csrf", "token"), "xsrftoken": ("xsrf", "token"),
    "clientsecret": ("client", "secret"), "sessionid": ("session", "id"), "setcookie": ("set", "cookie"),
}
#: `<word>_key`: a secret key.
_KEY_STRONG = frozenset({
    "api", "secret", "private", "access", "signing", "sign", "encryption", "encrypt", "decryption", "crypt",
    "cipher", "hmac", "master", "client", "auth", "license", "licence", "subscription", "consumer", "service",
    "account", "admin", "deploy", "ssh", "gpg", "pgp", "jwt", "webhook", "session", "app", "application",
    "developer", "shared", "storage", "aes", "rsa", "ed25519", "openai", "anthropic", "stripe",
    "aws", "azure", "gcp", "google", "github", "gitlab", "groq", "mistral", "cohere", "together", "replicate",
    "pinecone", "huggingface", "hf", "serpapi", "serper", "tavily", "sendgrid", "twilio", "slack", "gemini",
    "deepseek", "openrouter", "fireworks", "perplexity", "voyage", "elevenlabs", "langsmith", "wandb",
})
#: `<word>_key` that is a lookup key, never a secret, whatever its value looks like.
_KEY_NOT = frozenset({
    "cache", "sort", "primary", "foreign", "dict", "map", "hash", "partition", "row", "group", "lookup", "index",
    "idx", "unique", "composite", "search", "public", "pub", "idempotency", "dedup", "dedupe", "routing", "shard",
    "file", "json", "field", "column", "attr", "attribute", "translation", "i18n", "message", "state", "react",
    "node", "item", "entry", "sequence", "output", "input", "result", "query", "response", "request", "order",
    "id", "cursor", "page", "event", "data", "meta", "metadata", "registry", "object", "bucket", "redis",
    "record", "sample", "example", "task", "job", "label", "prompt", "template", "schema", "model", "tool",
    "run", "trace", "span", "dataset", "datapoint", "answer", "question", "metric", "score", "feature", "config",
    "setting", "settings", "context", "memo", "version", "name", "type", "value", "kv", "hot", "short",
})
#: `<word>_token` that is a tokenizer token, a usage count or a pagination cursor.
_TOKEN_NOT = frozenset({
    "stop", "eos", "bos", "pad", "sep", "mask", "unk", "cls", "special", "start", "end", "begin", "beginning",
    "ending", "next", "first", "last", "prev", "previous", "output", "input", "max", "min", "num", "total",
    "count", "n", "eot", "eom", "eog", "fim", "sentinel", "delimiter", "separator", "split", "bad", "added",
    "page", "pagination", "continuation", "cursor", "sync", "completion", "prompt", "reasoning", "cached",
    "sentence", "word", "subword", "vocab", "image", "audio", "text", "bpe", "byte", "char", "unknown",
    "think", "thinking", "control", "reserved", "extra", "im", "role", "chat", "template", "tool", "bucket",
    "rate", "token", "no", "without", "any", "each", "per",
})
#: `<word>_token` that is a credential whatever it looks like (`upgrade_token = "upgrades"` is not).
_TOKEN_STRONG = frozenset({
    "access", "refresh", "auth", "api", "bearer", "id", "session", "csrf", "xsrf", "oauth", "jwt", "personal",
    "private", "secret", "security", "service", "client", "app", "bot", "user", "deploy", "reset", "github", "gh",
    "gitlab", "slack", "hf", "huggingface", "discord", "telegram", "npm", "pypi", "registry", "admin", "master",
    "identity", "sas", "sso", "saml", "verification", "invite", "magic", "device", "webhook", "mfa", "otp",
})
#: `<word>_pass` is a password only after one of these (`db_pass`, `smtp_pass`); otherwise it is a
#: pass of an algorithm, a boarding pass, Python's `pass`...
_PASS_QUALIFIERS = frozenset({"db", "database", "sql", "mysql", "postgres", "pg", "redis", "mongo", "smtp",
                              "imap", "pop", "mail", "email", "ftp", "sftp", "ssh", "user", "admin", "root", "login",
                              "account", "app", "wifi", "proxy", "sudo", "ldap", "vpn", "api", "basic", "auth",
                              "service", "master", "keystore", "truststore", "p12", "pfx", "cert", "key"})
#: Words that may follow the secret word and still name its value (`password_value`, `api_key_prod`).
_VALUE_SUFFIXES = frozenset({
    "value", "val", "str", "string", "raw", "b64", "base64", "hex", "bytes", "plain", "plaintext", "encoded",
    "literal", "data", "header", "hash", "secret", "key", "token", "old", "new", "current", "prod",
    "production", "dev", "development", "test", "testing", "staging", "stage", "live", "local", "override",
    "default", "main", "primary", "secondary", "backup", "fallback", "v1", "v2", "v3", "pem", "der", "b",
})
_SESSION_SUFFIXES = frozenset({"id", "ids", "key", "cookie"})
_PLURAL_QUALIFIED = {"keys": "key", "tokens": "token"}  # `api_keys` yes, `max_tokens` no
_PLURAL_QUALIFIERS = frozenset({"api", "access", "auth", "refresh", "secret", "private", "service", "bearer",
                                "session", "client", "signing", "encryption", "master", "deploy"})

#: name -> strength, for every name judged so far (the call path reads it directly).
cache: dict[str, Optional[int]] = {}
_extra_words: frozenset[str] = frozenset()
_extra_names: frozenset[str] = frozenset()
_allowed: frozenset[str] = frozenset()


def words(name: str) -> list[str]:
    """`name` as lower-case words, glued spellings split (``sessionId`` → session id)."""
    out: list[str] = []
    for w in _WORDS.findall(name):
        w = w.lower()
        out.extend(_GLUED.get(w, (w,)))
    return out


def _normal(name: str) -> str:
    return "_".join(words(name))


def configure(extra: tuple[str, ...] = (), allowed: tuple[str, ...] = ()) -> None:
    """Add secret names (whole names with separators, or single words) and allowed names."""
    global _extra_words, _extra_names, _allowed
    _extra_words = frozenset(w.lower() for w in extra if len(words(w)) == 1)
    _extra_names = frozenset(_normal(n) for n in extra if len(words(n)) > 1)
    _allowed = frozenset(_normal(n) for n in allowed if words(n))
    cache.clear()


def strength(name: str) -> Optional[int]:
    """`STRONG`, `WEAK` or None for a name (cached: names repeat on every call)."""
    try:
        return cache[name]
    except KeyError:
        pass
    except TypeError:  # an unhashable "name" (never from our callers)
        return None
    result = _judge(name) if isinstance(name, str) and len(name) <= 200 else None
    if len(cache) > 50_000:  # names come from code, so this is a bound that is never reached in practice
        cache.clear()
    cache[name] = result
    return result


def _judge(name: str) -> Optional[int]:
    ws = words(name)
    if not ws:
        return None
    joined = "_".join(ws)
    if joined in _allowed:
        return None
    if joined in _extra_names:
        return STRONG
    for i in range(len(ws) - 1, -1, -1):
        found = _secret_word(ws, i)
        if found is not None:
            tail = ws[i + 1:]
            allowed = _SESSION_SUFFIXES | _VALUE_SUFFIXES if ws[i] in _WEAK_WORDS else _VALUE_SUFFIXES
            if all(w in allowed or w.isdigit() for w in tail):
                return found
            return None
    return None


def _secret_word(ws: list[str], i: int) -> Optional[int]:
    """The strength the word at `i` gives, judged with the word before it."""
    w, before = ws[i], (ws[i - 1] if i > 0 else "")
    if w in _extra_words:
        return STRONG
    w = _PLURAL_QUALIFIED.get(w, w) if before in _PLURAL_QUALIFIERS else w
    if w == "key":
        if before in _KEY_STRONG:
            return STRONG
        if not before or before in _KEY_NOT:
            return None
        return WEAK
    if w == "token":  # tokens are machine-made: random values only, unless the name says what it opens
        if before in _TOKEN_NOT:
            return None
        return STRONG if before in _TOKEN_STRONG else WEAK
    if w == "pass":
        return STRONG if before in _PASS_QUALIFIERS else None
    if w in _STRONG_WORDS:
        return STRONG
    if w in _WEAK_WORDS:
        return WEAK
    return None
