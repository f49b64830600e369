"""A tool-using insurance chatbot whose history (tool calls and results included) is recorded in a store."""
# expect: claim filed: Tool results:
# store: ./logdir
from typing import List

from pydantic import Field

import ell
from ell.types import Message

ell.init(store="./logdir", autocommit=True, verbose=True)


@ell.tool()
def create_claim_draft(
    claim_details: str,
    claim_type: str,
    claim_amount: float,
    claim_date: str = Field(description="The date of the claim in the format YYYY-MM-DD."),
):
    """Create a claim draft. Returns the claim id created."""
    return "claim_id-123234"


@ell.tool()
def approve_claim(claim_id: str):
    """Approve a claim"""
    return "approved"


@ell.complex(model="gpt-4o", tools=[create_claim_draft, approve_claim], temperature=0.1)
def insurance_claim_chatbot(message_history: List[Message]) -> List[Message]:
    return [
        ell.system("You are an insurance adjuster AI. Create a claim draft, then ask for approval."),
    ] + message_history


if __name__ == "__main__":
    message_history: List[Message] = []
    for user_message in ["Hello, I'm a customer", "I broke my car, $5k, today"]:
        message_history.append(ell.user(user_message))
        response = insurance_claim_chatbot(message_history)
        message_history.append(response)
        print(response.role + ": " + response.text)
        if response.tool_calls:
            next_message = response.call_tools_and_collect_as_message()
            message_history.append(next_message)
            after_tools = insurance_claim_chatbot(message_history)
            message_history.append(after_tools)
            print("claim filed:", after_tools.text)
    print("messages:", len(message_history), "tool results:", sum(len(m.tool_results) for m in message_history))
