"""Import modules in the given order, version LMPs in the given order, print ids as JSON."""
import hashlib, importlib, json, sys
first, lmp_order = sys.argv[1].split(","), sys.argv[2].split(",")
for name in first:
    importlib.import_module(name)
prompts = sys.modules["prompts"]
from ell.versioning import compute_version
for name in lmp_order:
    compute_version(getattr(prompts, name))
out = {}
for name in sorted(lmp_order):
    info = compute_version(getattr(prompts, name))
    out[name] = [info.name, info.version_id, list(info.uses),
                 hashlib.sha256(info.closure.encode()).hexdigest()[:12], info.mutable_globals]
print(json.dumps(out, sort_keys=True))
