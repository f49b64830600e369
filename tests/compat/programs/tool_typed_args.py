"""Tools with typed parameters (lists, nested pydantic models, defaults) returning JSON-able data."""
# expect: tool results text: Tool results:
from typing import List, Optional

from pydantic import BaseModel, Field

import ell


class Address(BaseModel):
    street: str
    city: str


@ell.tool()
def register_customer(
    name: str = Field(description="Full name of the customer"),
    emails: List[str] = Field(description="Email addresses"),
    address: Address = Field(description="Postal address"),
    vip: bool = False,
    age: Optional[int] = None,
):
    """Register a customer in the CRM."""
    # ell-ai hands nested models to tools as plain dicts (ToolCall params are model_dump()ed)
    return {"ok": True, "name": name, "emails": len(emails), "city": address["city"]}


@ell.complex(model="gpt-4o", tools=[register_customer], temperature=0.0)
def crm_agent(history: List[ell.Message]):
    return [ell.system("You are a CRM assistant. Use your tools.")] + history


if __name__ == "__main__":
    schema = register_customer.__ell_params_model__.model_json_schema()
    print("schema properties:", sorted(schema["properties"]))
    print("required:", sorted(schema.get("required", [])))
    history = [ell.user("Register Ada Lovelace, ada@example.com, 1 Main St, London")]
    first = crm_agent(history)
    call = first.tool_calls[0]
    print("address param is a model:", isinstance(call.params.address, Address))
    results = first.call_tools_and_collect_as_message()
    print("result is JSON:", results.tool_results[0].text_only.startswith("{"))
    final = crm_agent(history + [first, results])
    print("tool results text:", final.text)
    none = crm_agent([ell.user("Just say hi")], api_params={"tool_choice": "none"})
    print("no tool call when tool_choice=none:", not none.tool_calls, none.text)
