"""Configuration: ell.config attributes, default_api_params, calling ell.init more than once."""
# expect: after second init: Echo: configured twice
import ell
from ell.configurator import config, get_store, init

ell.config.verbose = True
ell.config.wrapped_logging = False

init(verbose=True, default_api_params={"temperature": 0.2})
init(verbose=False, default_api_params={"max_tokens": 300}, lazy_versioning=True)


@ell.simple(model="gpt-4o-mini")
def echo(text: str):
    """You repeat the user."""
    return text


if __name__ == "__main__":
    print("store:", get_store(), ell.get_store() is config.store)
    print("default params:", sorted(ell.config.default_api_params.items()))
    print("verbose:", ell.config.verbose, "lazy:", ell.config.lazy_versioning)
    ell.config.verbose = True  # verbose rendering of a call must not get in the way
    print("after second init:", echo("configured twice"))
    ell.config.verbose = False
    print("quiet:", echo("quiet call"))
    print("autocommit model:", ell.config.autocommit_model)
