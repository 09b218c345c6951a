"""The long API benchmark of issue 20: ``python bench/api_long.py [--store URL]`` prints the
same JSON object as ``secureline bench api`` after 1,000,000 single submissions, 10 minutes
at each offered rate and 50,000 messages queued for a peer that is down (hours, not minutes)."""

import argparse
import json

from secureline.cli.bench_api import ApiBenchOptions, run_api_bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="sqlite", help="sqlite, or a PostgreSQL URL")
    args = parser.parse_args()
    options = ApiBenchOptions(
        store=args.store,
        requests=1_000,
        messages=1_000_000,
        batches=500,  # 100,000 messages in batches of 200
        open_seconds=600.0,
        queued=50_000,
        line_messages=100_000,
        phase_seconds_max=6 * 3600.0,
        grace_seconds=120.0,
    )
    print(json.dumps(run_api_bench(options)))
