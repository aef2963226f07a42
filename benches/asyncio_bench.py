#!/usr/bin/env python3
"""Python's side of corio's benchmarks: asyncio (and uvloop) running the same
workloads as the Rust runtimes, one run per invocation.

Usage: asyncio_bench.py --workload spawn_join|gather_sleeps --n N --loop asyncio|uvloop

Prints one JSON object: {"seconds": <time measured inside the loop>, "check": <value>}.
The check is the sum of the results (and -1 if gather returned them out of order);
the Rust harness that runs this script validates it.
"""

import argparse
import asyncio
import json
import sys
import time


async def spawn_join(n):
    """Create n tasks that each return their index, then await them all."""

    async def task(i):
        return i

    started = time.perf_counter()
    tasks = [asyncio.create_task(task(i)) for i in range(n)]
    total = 0
    for t in tasks:
        total += await t
    return time.perf_counter() - started, total


async def gather_sleeps(n):
    """asyncio.gather over n coroutines that each sleep 1 ms and return their index."""

    async def one(i):
        await asyncio.sleep(0.001)
        return i

    started = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    in_order = all(value == i for i, value in enumerate(results))
    return elapsed, sum(results) if in_order else -1


WORKLOADS = {"spawn_join": spawn_join, "gather_sleeps": gather_sleeps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    workload = WORKLOADS[args.workload]
    if args.loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            seconds, check = runner.run(workload(args.n))
    else:
        seconds, check = asyncio.run(workload(args.n))
    json.dump({"seconds": seconds, "check": check}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
