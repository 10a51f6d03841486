"""Coverage-guided fuzz targets, one per parser of what users send cardseq.

``python -m fuzz [TARGET...] --seconds 600`` runs them (``fuzz/run.py``); CONTRIBUTING.md
says how long and where findings go. Nothing here imports cardseq at import time: the
runner's child process must start atheris' instrumentation before cardseq loads.
"""

#: every target, a module of this package each (its ``one_input`` takes the fuzzer's bytes)
TARGETS = (
    "normalize",
    "parse",
    "lookup_many",
    "users_file",
    "keys_file",
    "store_url",
    "http_body",
    "http_query",
    "cli_options",
)
