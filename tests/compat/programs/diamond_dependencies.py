"""LMPs calling LMPs (a diamond of dependencies), recorded in a store; outputs are lstrs with origins."""
# expect: better piece: Echo:
# store: ./logdir
import ell

ell.config.verbose = True


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def random_number() -> str:
    """You are a silly robot. Only respond with a number."""
    return "Come up with a random number"


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def write_a_poem(num: str) -> str:
    """You are a poet. Write a short poem."""
    return f"Write a poem that is {num} lines long"


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def write_a_story(num: str) -> str:
    """You are a story writer."""
    return f"Write a story that is {num} lines long"


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def choose_the_better_piece(poem: str, story: str) -> str:
    """You are a literature critic. Choose the better piece of literature."""
    return f"A: {poem}\nB: {story}\n\nChoose the better piece of literature"


@ell.simple(model="gpt-4o-mini")
def critique_everything(seed: str) -> str:
    poem = write_a_poem(seed)
    story = write_a_story(seed)
    return f"Critique: {choose_the_better_piece(poem, story)}"


if __name__ == "__main__":
    ell.init(store="./logdir", autocommit=True, verbose=True)
    num = random_number()
    poem = write_a_poem(num[0])
    story = write_a_story(num)
    better_piece = choose_the_better_piece(poem, story)
    print("better piece:", better_piece)
    print("has origin trace:", len(num.__origin_trace__) == 1 and len(better_piece.__origin_trace__) == 1)
    print("nested:", critique_everything("7")[:30])
