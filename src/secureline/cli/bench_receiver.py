"""``python -m secureline.cli.bench_receiver run-without-audit --dir DIR``: the receiver of
``bench line --no-audit``, exactly ``secureline run`` but with NO audit chain.

Its own module, so that the benchmark (which main imports) does not import main back.
"""

from __future__ import annotations

import sys

from secureline.cli.bench import unsafe_no_audit
from secureline.cli.main import app

if __name__ == "__main__":
    if sys.argv[1:2] != ["run-without-audit"]:
        sys.exit("usage: python -m secureline.cli.bench_receiver run-without-audit --dir DIR")
    with unsafe_no_audit():
        app(["run", *sys.argv[2:]])
