"""No store: @ell.simple with decorator api params, call-time api_params overrides, JSON mode."""
# expect: summary 2: Echo: Please summarize the following text: An AI's first day
import json

import ell

ell.init(verbose=False)


@ell.simple(model="gpt-4o", temperature=0.7, max_tokens=200)
def summarize_text(text: str) -> str:
    """You are an expert at summarizing text."""
    return f"Please summarize the following text: {text}"


@ell.simple(model="gpt-4o-mini", response_format={"type": "json_object"})
def as_json(topic: str):
    """You answer in JSON."""
    return f"Describe {topic} as a JSON object."


if __name__ == "__main__":
    first = summarize_text("A day in the life of a time traveler")
    second = summarize_text("An AI's first day", api_params={"temperature": 0.9, "max_tokens": 500})
    print("summary 1:", first)
    print("summary 2:", second)
    assert isinstance(first, str) and first.startswith("Echo:")
    print("upper keeps text:", first.upper()[:5])
    data = json.loads(as_json("a cat"))
    print("json mode gives an object:", isinstance(data, dict))
