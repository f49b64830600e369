"""api_params={"n": ...} makes a simple LMP return one string per choice."""
# expect: 3 choices
import ell


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def generate_story_ideas(about: str):
    return [
        ell.system("You are an expert story ideator. Only answer in a single sentence."),
        ell.user(f"Generate a story idea about {about}."),
    ]


@ell.simple(model="gpt-4o-mini", temperature=1.0, n=3)
def three_titles(topic: str):
    """You write book titles."""
    return f"A title about {topic}"


if __name__ == "__main__":
    ideas = generate_story_ideas("a dog", api_params={"n": 2})
    assert isinstance(ideas, list) and len(ideas) == 2, ideas
    for idea in ideas:
        print("idea:", idea)
    titles = three_titles("the sea")
    assert isinstance(titles, list)
    print(f"{len(titles)} choices")
    single = generate_story_ideas("a cat")
    assert isinstance(single, str)
    print("single:", single)
