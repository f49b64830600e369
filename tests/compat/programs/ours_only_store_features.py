"""Store features: output freezing with store.freeze(lmp), and an exempt_from_tracking LMP next to tracked ones."""
# ours-only: ell-ai 0.0.17 bugs: freeze crashes on a cache hit (_track reads Invocation.results, which does not exist), and exempt_from_tracking LMPs return the raw (result, api_params, metadata) tuple
# expect: frozen output reused: True
# store: ./logdir
import ell

ell.config.verbose = True

BASE_PROMPT = """You are an adept python programmer. Only answer in python code."""


@ell.simple(model="gpt-4o", temperature=0.7, max_tokens=50)
def create_a_python_class(user_spec: str):
    return [
        ell.system(f"{BASE_PROMPT}\n\nYour goal is to make a python class for a user based on a user spec."),
        ell.user(f"Here is the user spec: {user_spec}"),
    ]


@ell.simple(model="gpt-4o", temperature=0.7)
def write_unit_for_a_class(class_def: str):
    return [
        ell.system(f"{BASE_PROMPT}\n\nYour goal is to write a single unit test for a class definition."),
        ell.user(f"Here is the class definition: {class_def}"),
    ]


@ell.simple(model="gpt-4o-mini", exempt_from_tracking=True)
def untracked_summary(text: str):
    """Summarize in five words."""
    return text


if __name__ == "__main__":
    ell.init(store="./logdir", autocommit=True)
    store = ell.get_store()
    first = create_a_python_class("A class that represents a bank")
    with store.freeze(create_a_python_class):
        frozen = create_a_python_class("A class that represents a bank")
        tests = write_unit_for_a_class(frozen)
    print("frozen output reused:", frozen == first)
    print("unit tests:", tests[:40])
    summary = untracked_summary("the tests were written")
    print("exempt LMP returns text:", isinstance(summary, str), summary)
