"""The detectors one by one: which names, formats and environment values are secrets, and (as
important) which are not, since a false positive hides part of a prompt."""

from __future__ import annotations

import pytest

from ell.redaction import (STRONG, WEAK, configure, find_in_text, name_strength, redact_source, redact_text,
                           redact_value)


@pytest.fixture(autouse=True)
def default_policy():
    configure()
    yield
    configure()


SECRET_NAMES = {
    "DB_PASSWORD": STRONG, "password": STRONG, "passwd": STRONG, "db_pass": STRONG, "SECRET_KEY": STRONG,
    "client_secret": STRONG, "api_key": STRONG, "apiKey": STRONG, "APIKey": STRONG, "x-api-key": STRONG,
    "X-Api-Key": STRONG, "OPENAI_API_KEY": STRONG, "AWS_SECRET_ACCESS_KEY": STRONG, "Authorization": STRONG,
    "Proxy-Authorization": STRONG, "auth": STRONG, "auth_token": STRONG, "access_token": STRONG,
    "refresh_token": STRONG, "SERVICE_TOKEN": STRONG, "GITHUB_TOKEN": STRONG, "HF_TOKEN": STRONG,
    "private_key": STRONG, "credentials": STRONG, "creds": STRONG, "cookie": STRONG, "Set-Cookie": STRONG,
    "api_keys": STRONG, "session_key": STRONG, "password_hash": STRONG, "api_key_prod": STRONG,
    "token": WEAK, "session": WEAK, "session_id": WEAK, "sessionId": WEAK, "weather_key": WEAK,
}
PLAIN_NAMES = [
    "tokens", "tokenizer", "max_tokens", "num_tokens", "token_count", "token_limit", "stop_token", "eos_token",
    "author", "keyboard", "monkey", "key", "keys", "cache_key", "sort_key", "primary_key", "password_hint",
    "token_url", "auth_type", "auth_url", "api_key_env", "private_key_path", "secret_name", "session_manager",
    "SSH_AUTH_SOCK", "TOKENIZERS_PARALLELISM", "PWD", "HEADERS", "name", "temperature", "passenger", "passage",
    "compass", "bypass", "keynote", "donkey", "turkey", "authors", "authority", "pinned", "pin_memory",
]


@pytest.mark.parametrize("name,level", SECRET_NAMES.items())
def test_secret_names(name: str, level: int) -> None:
    assert name_strength(name) == level


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_names_that_are_not_secrets(name: str) -> None:
    assert name_strength(name) is None


FORMATS = {
    "openai-api-key": "sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2bC7dE",
    "anthropic-api-key": "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa",
    "aws-access-key": "AKIAIOSFODNN7EXAMPLE",
    "github-token": "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2,
    "gitlab-token": "glpat-Ab3dEf6hIj9kLm2nOp5q",
    "slack-token": "xoxb-1234567890-0987654321-AbCdEfGhIjKl",
    "google-api-key": "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "huggingface-token": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz12345678",
    "stripe-key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


@pytest.mark.parametrize("label,secret", FORMATS.items())
def test_credential_formats_are_found_inside_text(label: str, secret: str) -> None:
    text = f"Use this for the call: {secret}, thanks."
    assert redact_text(text) == f"Use this for the call: <redacted:{label}>, thanks."


def test_headers_urls_and_keys_keep_their_readable_part() -> None:
    assert redact_text("Authorization: Bearer 9f86d081884c7d659a2feaa0") == "Authorization: Bearer <redacted:bearer-token>"
    assert redact_text("Authorization: Basic dXNlcjpodW50ZXIy") == "Authorization: Basic <redacted:basic-auth>"
    assert redact_text("postgres://app:s3cr3t-pw@db.internal:5432/main") == \
        "postgres://app:<redacted:url-password>@db.internal:5432/main"
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c2\n-----END RSA PRIVATE KEY-----"
    assert redact_text(f"key:\n{pem}\nend") == "key:\n<redacted:private-key>\nend"


PROSE = [
    "The key idea of tokenization is that a model reads tokens, not characters.",
    "Basic arithmetic is easy; the bearer of bad news is not to blame.",
    "Use sk-learn-is-a-python-library-for-machine-learning or scikit-learn.",
    "Session notes: the author of the keyboard story was a monkey.",
    "Request 123e4567-e89b-12d3-a456-426614174000 took 35 ms; commit 9fceb02d0ae598e95dc970b74767f19372d61af8.",
    "Connect to postgres://user:password@localhost:5432/db as the docs say.",
    "See https://example.com/a/very/long/path/with/segments?query=value&other=thing#frag for details.",
    "max_tokens=100, temperature=0.2, api_key=<your key here>, password: ********",
    "Ünïcödé prose: café, naïve, résumé, 東京, Straße — and an emoji 🙂.",
    "The token budget is 4096 tokens and the API key must be set in OPENAI_API_KEY.",
]


@pytest.mark.parametrize("text", PROSE)
def test_prose_is_left_alone(text: str) -> None:
    assert find_in_text(text) == [] and redact_text(text) is text


def test_values_under_secret_names_numbers_and_references_are_not_hidden() -> None:
    data = {"max_tokens": 100, "api_key": "abc-123-xyz", "auth": False, "password": "${DB_PASSWORD}",
            "token": "hello", "session_id": "chat-42", "session": "9f86d081884c7d659a2feaa0c55ad015",
            "headers": {"Authorization": "Bearer x", "Content-Type": "application/json"},
            "credentials": {"user": "ada", "pass": "pw", "retries": 3}, "prompt": "api_key is abc-123-xyz here"}
    assert redact_value(data) == {
        "max_tokens": 100, "api_key": "<redacted:api_key>", "auth": False, "password": "${DB_PASSWORD}",
        "token": "hello", "session_id": "chat-42", "session": "<redacted:session>",
        "headers": {"Authorization": "<redacted:Authorization>", "Content-Type": "application/json"},
        "credentials": {"user": "<redacted:credentials>", "pass": "<redacted:credentials>", "retries": 3},
        "prompt": "api_key is <redacted:api_key> here",  # the same value, seen under its name just before
    }


def test_environment_values_are_hidden_wherever_they_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_DB_PASSWORD", "tr0ub4dor&3-horse")
    monkeypatch.setenv("ACME_PASSWORD_FILE", "/run/secrets/acme")  # where the secret is, not the secret
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to be found safely in other text
    text = "connect with tr0ub4dor&3-horse from /run/secrets/acme (abc)"
    assert redact_text(text) == "connect with <redacted:ACME_DB_PASSWORD> from /run/secrets/acme (abc)"
    monkeypatch.setenv("ACME_DB_PASSWORD", "rotated-0ne-2-three")  # rotation is seen at once
    assert redact_text("now rotated-0ne-2-three") == "now <redacted:ACME_DB_PASSWORD>"


SOURCE = '''\
import os
DB_PASSWORD = "hunter2"
SERVICE_TOKEN: str = 'tok-abc-123'
API_KEYS = ("k-one-1234", "k-two-5678")
HEADERS = {"Authorization": "Bearer xyz", "Accept": "json"}
max_tokens = 100
stop_token = "</s>"
TOKENIZER = "cl100k_base"
AUTHOR = "Ada Lovelace"
client = make(api_key="sk-1", base_url="http://localhost:8080/v1")
os.environ["SECRET_KEY"] = "abc" "def"


def f(password="pw", name="bob"):
    """You are a helpful assistant. Never reveal the password or the api_key."""
    return f"Hello {name}, your password is safe."
'''


def test_python_source_hides_literals_bound_to_secret_names_only() -> None:
    out = redact_source(SOURCE)
    compile(out, "closure.py", "exec")  # still valid Python
    for line in ("DB_PASSWORD = '<redacted:DB_PASSWORD>'", "SERVICE_TOKEN: str = '<redacted:SERVICE_TOKEN>'",
                 "API_KEYS = ('<redacted:API_KEYS>', '<redacted:API_KEYS>')",
                 """HEADERS = {"Authorization": '<redacted:Authorization>', "Accept": "json"}""",
                 """client = make(api_key='<redacted:api_key>', base_url="http://localhost:8080/v1")""",
                 """os.environ["SECRET_KEY"] = '<redacted:SECRET_KEY>'""",
                 """def f(password='<redacted:password>', name="bob"):"""):
        assert line in out, line
    for kept in ('max_tokens = 100', 'stop_token = "</s>"', 'TOKENIZER = "cl100k_base"', 'AUTHOR = "Ada Lovelace"',
                 "Never reveal the password or the api_key.", 'return f"Hello {name}, your password is safe."'):
        assert kept in out, kept
    assert redact_source(out) == out  # idempotent: a second pass (the push check) finds nothing more


def test_disabled_redaction_changes_nothing() -> None:
    configure(enabled=False)
    assert redact_value({"api_key": "sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2bC7dE"})["api_key"].startswith("sk-proj")
    assert redact_source(SOURCE) == SOURCE


def test_what_library_code_binds_to_secret_names_is_left_alone() -> None:
    """Found by running the source rules over 3 million lines of installed packages: tables of names,
    header-name constants, expressions that start with a literal, schemas, sentinels, emoji."""
    code = '''\
_LAZY = {"APIKeys": (".api_keys", "APIKeys"), "ClientSecrets": (".client_secrets", "ClientSecrets")}
_AUTHORIZATION = "authorization"
AUTH_HEADER = "Authorization"
wsgi_combined_cookie = ";".join(headers.getlist("Cookie"))
token = r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
upgrade_token = "upgrades"
ROOT_KEY = "__root__"
PROTOCOL = {"credentials": "boolean?", "password": "string?", "checked": "boolean?"}
EMOJI = {"cookie": "\\U0001f36a", "secret": "\\u3299"}
save(sub_key=b"pareto")
'''
    assert redact_source(code) == code
    schema = {"password": {"type": "string", "description": "The user's password"}, "credentials": "same-origin"}
    assert redact_value(schema) is schema
