"""client= at decoration time and at call time (the call-time client wins)."""
# expect: call-time client won: Echo: second
import os
import socket

import openai

import ell


def unreachable_client() -> openai.OpenAI:
    # a port nobody listens on: any request through this client fails fast
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=2)


good = openai.OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"])
bad = unreachable_client()

ell.config.register_model("gpt-4o-mini", bad)


@ell.simple(model="gpt-4o-mini", client=good)
def decorated_with_good(text: str):
    return text


@ell.simple(model="gpt-4o-mini", client=bad)
def decorated_with_bad(text: str):
    return text


if __name__ == "__main__":
    print("decorator client won:", decorated_with_good("first"))
    print("call-time client won:", decorated_with_bad("second", client=good))
    try:
        decorated_with_bad("third")
    except Exception as exc:  # the decorator's client is unreachable
        print("unreachable client failed as expected:", type(exc).__name__)
    else:
        raise SystemExit("the unreachable client should have failed")
