"""ell.models.openai.register(client) and ell.config.default_client for unregistered names."""
# expect: default client answered: Echo: ping from a fine-tune
import openai

import ell

client = openai.OpenAI()  # OPENAI_API_KEY / OPENAI_BASE_URL from the environment
ell.models.openai.register(client)
ell.config.default_client = client


@ell.simple(model="gpt-4o")
def chat(prompt: str) -> str:
    return prompt


@ell.simple(model="ft:gpt-4o-mini:my-org:custom:abc123")
def fine_tuned(prompt: str) -> str:
    return prompt


if __name__ == "__main__":
    print("registered model answered:", chat("Hello, how are you?"))
    print("default client answered:", fine_tuned("ping from a fine-tune"))
    print("gpt-4o client is ours:", ell.config.registry["gpt-4o"].default_client is client)
    print("older names registered:", all(m in ell.config.registry for m in ("gpt-3.5-turbo-0125", "gpt-4-0613")))
    print("module default client:", isinstance(ell.models.openai.default_client, openai.OpenAI))
