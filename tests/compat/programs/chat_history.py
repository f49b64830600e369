"""A multi-turn chatbot: the history of user and assistant messages is the prompt."""
# expect: turn 3: Echo: and in winter?
from typing import List

import ell
from ell.types import Message


@ell.complex(model="gpt-4o-mini", temperature=0.3)
def chat_bot(message_history: List[Message]) -> List[Message]:
    return [
        ell.system("You are a friendly chatbot. Be concise."),
    ] + message_history


if __name__ == "__main__":
    ell.init(verbose=True)
    history: List[Message] = [
        ell.user("Hi, I am planning a trip."),
        ell.assistant("Great! Where to?"),
    ]
    for turn, text in enumerate(["Norway", "What is the weather like?", "and in winter?"], start=1):
        history.append(Message(role="user", content=text))
        reply = chat_bot(history)
        history.append(reply)
        print(f"turn {turn}: {reply.text}")
    print("messages in history:", len(history))
    print("roles:", [m.role for m in history])
