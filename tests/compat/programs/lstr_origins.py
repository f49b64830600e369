"""_lstr: strings that remember which invocation produced them, through string operations."""
# expect: combined origins: ['a', 'b']
import ell
from ell.types._lstr import _lstr


@ell.simple(model="gpt-4o-mini")
def shout(text: str):
    """You repeat things loudly."""
    return text


if __name__ == "__main__":
    a = _lstr("hello", origin_trace="a")
    b = _lstr(" world", origin_trace=frozenset({"b"}))
    combined = a + b
    print("combined:", combined, isinstance(combined, str))
    print("combined origins:", sorted(combined.__origin_trace__))
    print("origin_trace property:", sorted(combined.origin_trace))
    print("upper keeps origins:", sorted(combined.upper().__origin_trace__))
    print("slice keeps origins:", sorted(combined[:5].__origin_trace__))
    print("split parts:", [sorted(p.__origin_trace__) for p in combined.split(" ")])
    print("plain str is untraced:", sorted(_lstr("plain").__origin_trace__))

    out = shout("hey")
    print("lmp output:", out, "traced:", len(out.__origin_trace__) == 1)
    passed = shout(out + "!")
    print("second output traced:", len(passed.__origin_trace__) == 1)
    print("equal to str:", _lstr("x", origin_trace="z") == "x", hash(_lstr("x")) == hash("x"))
