"""A local OpenAI-compatible server (vLLM/Ollama style): register a model name with a custom client."""
# expect: registered model answered: Echo: write me a story about a robot
import os

from openai import OpenAI

import ell

client = OpenAI(
    base_url=os.environ["OPENAI_BASE_URL"],
    api_key=os.environ.get("OPENAI_API_KEY", "token-abc123"),
)


@ell.simple(model="NousResearch/Meta-Llama-3-8B-Instruct", client=client, temperature=0.1)
def write_a_story(about: str):
    return f"write me a story about {about}"


# or register models
ell.config.register_model("NousResearch/Meta-Llama-3-8B-Instruct", client)


# no need to specify client!
@ell.simple(model="NousResearch/Meta-Llama-3-8B-Instruct", temperature=0.1)
def write_a_story_no_client(about: str):
    return f"write me a story about {about}"


if __name__ == "__main__":
    print("with client:", write_a_story("a cat"))
    print("registered model answered:", write_a_story_no_client("a robot"))
    print("registry has it:", "NousResearch/Meta-Llama-3-8B-Instruct" in ell.config.registry)
