"""Developer tools, never in the Lambda zip: `make bench` (tools/bench/), `make fuzz` (fuzz.py and
the schemathesis hooks in fuzz_hooks.py) and `make package` (package.py)."""
