"""Line benchmark: `python bench/line.py [N]` prints one JSON object (see secureline.cli.bench)."""

import json
import sys

from secureline.cli.bench import run_line_bench

if __name__ == "__main__":
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(json.dumps(run_line_bench(messages, batch=200)))
