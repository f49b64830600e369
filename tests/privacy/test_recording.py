"""Secrets never reach shared history: a real program puts secrets in every place the issue names,
runs (twice, the second time with rotated keys), pushes to a bare remote with `ell push`, and every
object of the remote is searched. Calls still work with the real values; records hold placeholders;
rotating the keys makes no new version."""

from __future__ import annotations

import json

from privacy_tools import Project, found_in, git, user_state

PROGRAM = '''
import os
import ell
from local_settings import PARTNER_API_KEY      # git-ignored file

DB_PASSWORD = "correct-horse-battery-staple"                                  # a module constant
SERVICE_TOKEN = os.environ["SERVICE_TOKEN"]                                   # read from the environment
HEADERS = {"Authorization": "Bearer " + os.environ["SERVICE_TOKEN"], "Accept": "application/json"}

ell.init(store=".", autocommit=False)


@ell.tool()
def login(user: str, password: str) -> str:
    """Log a user in."""
    return f"logged in {user}"


@ell.simple(model="gpt-4o-mini", temperature=0.1)
def hello(name: str, api_key: str):
    """You are a support bot."""
    connect = (DB_PASSWORD, SERVICE_TOKEN, HEADERS, PARTNER_API_KEY)
    return f"Say hello to {name}. Quote the support PIN {os.environ['SUPPORT_PIN']}."


@ell.complex(model="gpt-4o-mini", tools=[login])
def agent(task: str):
    return [ell.user(task)]


@ell.simple(model="gpt-4o-mini")
def broken(question: str):
    """Never answered."""
    raise RuntimeError(f"database refused password {DB_PASSWORD}")


@ell.simple(model="gpt-4o-mini")
def answer(question: str, session_token: str):
    """You answer questions."""
    return f"Answer {question}."


out = hello("Ada", api_key=os.environ["CUSTOMER_KEY"],
            api_params={"extra_headers": {"X-Api-Key": os.environ["CUSTOMER_KEY"]}})
print("OUT", out)
reply = agent("log in ada")
print("TOOLS", reply.call_tools_and_collect_as_message().text)
try:
    broken("why")
except RuntimeError as exc:
    print("RAISED", exc)
ev = ell.Evaluation("support", dataset=[{"input": {"question": "reset?", "session_token": os.environ["SESSION_TOKEN"]}}],
                    metrics={"short": lambda dp, out: float(len(out) < 500)})
run = ev.run(answer)
print("EVAL", run.results.metrics["short"].mean())
ell.feedback(out, score=1, comment="customer pasted " + os.environ["CUSTOMER_KEY"])
ell.get_store().flush()
print("VERSION", ell.version_of(hello))
'''

FIRST = {"SERVICE_TOKEN": "svc-tok-1a2B3c4D5e6F7g8H", "SUPPORT_PIN": "pin-0042-zeta-7788",
         "CUSTOMER_KEY": "sk-proj-Cust0mer1Key2Abc3Def4Ghi5Jkl6", "SESSION_TOKEN": "sess-9f86d081884c7d659a2f"}
SECOND = {"SERVICE_TOKEN": "svc-tok-ROTATED-9z8Y7x6W5v", "SUPPORT_PIN": "pin-0043-omega-1122",
          "CUSTOMER_KEY": "sk-proj-R0tated1Key2Xyz3Uvw4Rst5Opq6", "SESSION_TOKEN": "sess-0a1b2c3d4e5f6a7b8c9d"}
PARTNER = "pk-live-7c1f9b2e8d3a4f5b6c7d8e9f"
LITERALS = ["correct-horse-battery-staple", PARTNER]


def _setup(project: Project) -> None:
    (project.path / "local_settings.py").write_text(f'PARTNER_API_KEY = "{PARTNER}"\n')
    (project.path / ".gitignore").write_text("local_settings.py\n__pycache__/\n")


def test_no_secret_reaches_the_remote_and_rotating_keys_makes_no_new_version(project: Project, model_server) -> None:
    _setup(project)
    # login's password argument: the model asks for the tool with a password in its arguments
    from ell.testing import Reply, ToolCall

    model_server.queue(None, Reply(tool_calls=[ToolCall("login", {"user": "ada", "password": "hunter2-" + "x" * 4})]))
    before = user_state(project.path)
    first = project.run(PROGRAM, env=FIRST)
    second = project.run(PROGRAM, env=SECOND)

    # The calls worked with the real values: the model got them, the program got them back.
    assert f"Quote the support PIN {FIRST['SUPPORT_PIN']}" in first.stdout
    sent = json.dumps(model_server.requests)
    assert SECOND["SUPPORT_PIN"] in sent  # the prompt, as written
    assert "RAISED database refused password correct-horse-battery-staple" in first.stdout
    assert "EVAL 1.0" in first.stdout

    # Rotating every key made no new version.
    v1 = [l for l in first.stdout.splitlines() if l.startswith("VERSION")]
    v2 = [l for l in second.stdout.splitlines() if l.startswith("VERSION")]
    assert v1 == v2 and v1
    log = project.ell("log", "app.hello", "--json")
    assert len(json.loads(log.stdout)) == 1

    project.ell("push")
    secrets = [*FIRST.values(), *SECOND.values(), *LITERALS, "hunter2-xxxx"]
    assert found_in(project.remote, *secrets) == []
    assert found_in(project.path, *secrets) == []  # nor in this clone's own objects
    assert b"<redacted:" in _remote_data(project)

    # Recorded with placeholders, each naming what it hides.
    calls = json.loads(project.ell("invocations", "app.hello", "--json").stdout)["items"]
    assert len(calls) == 2
    shown = project.ell("show", "app.hello").stdout
    for name in ("DB_PASSWORD", "SERVICE_TOKEN", "PARTNER_API_KEY", "Authorization"):
        assert f"<redacted:{name}>" in shown, name
    assert user_state(project.path) == before | {"files": user_state(project.path)["files"]}


def _remote_data(project: Project) -> bytes:
    from privacy_tools import all_objects

    return all_objects(project.remote)


def test_records_hold_placeholders_where_the_secrets_were(project: Project, model_server) -> None:
    _setup(project)
    model_server.queue(None, None)
    project.run(PROGRAM, env=FIRST)
    from ell_git import Reader

    with Reader(project.path) as reader:
        rows = reader.invocations(lmp="app.hello").items
        record = reader.invocation(rows[0].id).record
        assert record["args"] == {"name": "Ada", "api_key": "<redacted:api_key>"}
        assert record["api_params"]["extra_headers"] == {"X-Api-Key": "<redacted:X-Api-Key>"}
        assert record["bound_globals"]["HEADERS"] == {"Authorization": "<redacted:Authorization>",
                                                      "Accept": "application/json"}
        user = record["messages"][-1]["content"][0]["text"]
        assert user == "Say hello to Ada. Quote the support PIN <redacted:SUPPORT_PIN>."
        assert "<redacted:SUPPORT_PIN>" in record["outputs"][0]["content"][0]["text"]
        version = reader.version("app.hello")
        assert "DB_PASSWORD = '<redacted:DB_PASSWORD>'" in version.closure
        assert version.meta["bound_globals"]["HEADERS"]["Authorization"] == "<redacted:Authorization>"
        fb = reader.notes.feedback(rows[0].id)["entries"]
        assert fb and fb[0]["comment"] == "customer pasted <redacted:CUSTOMER_KEY>"
        broken = reader.invocation(reader.invocations(lmp="app.broken").items[0].id).record
        assert broken["error"] == "RuntimeError: database refused password <redacted:DB_PASSWORD>"
        tool = reader.invocations(lmp="app.login").items
        assert tool and reader.invocation(tool[0].id).record["args"]["password"] == "<redacted:password>"
    results = git(project.path, "show", "refs/ell/eval/support:results.jsonl").stdout
    dataset = git(project.path, "show", "refs/ell/eval/support:dataset.jsonl").stdout
    assert "<redacted:session_token>" in dataset and FIRST["SESSION_TOKEN"] not in dataset + results
