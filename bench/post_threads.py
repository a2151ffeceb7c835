"""What one POST costs the sending process as more threads send side by side: the project's
WebhookSender against the bench's fast receiver, in one process, with 1, 4, 16 and 64 threads in
turn each waiting for its own POST, alternating for `--repeat` rounds; and, for reference, the
same POSTs from one thread multiplexing as many connections with asyncio. (Until the sender moved
to one event loop per process it was requests, a thread per POST in flight:
bench/results/post-threads.md was measured then.)

    python -m bench.post_threads [--posts 6000] [--threads 1,4,16,64] [--repeat 2]

Prints POSTs per second, processor milliseconds per POST (the kernel's share apart) and the
process's context switches per POST. Each POST releases the GIL around every system call it
makes; with other threads waiting for it, each release hands the interpreter over.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.procs import ReceiverProcess

BODY = b'{"id": "x", "data": {"name": "bench"}}' * 20
HEADERS = {"Content-Type": "application/json", "webhook-id": "bench"}


def _round(url: str, threads: int, posts: int) -> dict[str, float]:
    from delivery.http import get_sender

    def post(_number: int) -> None:
        result = get_sender().send(url, BODY, HEADERS, connect_timeout=5, read_timeout=5,
                                   excerpt_bytes=1024, allowed_networks=["127.0.0.0/8"])
        if result.status_code != 200:
            raise RuntimeError(f"POST failed: {result.status_code} {result.error}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(threads * 4)))  # every thread's connection open
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        list(pool.map(post, range(posts)))
        after, seconds = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    return _usage(before, after, seconds, posts)


def _asyncio_round(port: int, connections: int, posts: int) -> dict[str, float]:
    """The same POSTs from one thread: an asyncio loop over `connections` keep-alive
    connections, HTTP written by hand for this receiver only. A reference for what sending
    without a thread per request in flight costs, not a sender."""
    import asyncio

    head = (f"POST /fast/post-threads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nwebhook-id: bench\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n").encode()
    request = head + BODY

    async def connection(share: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(share):
            writer.write(request)
            response = await reader.readuntil(b"\r\n\r\n")
            length = int(response.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if not response.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(response[:40])
        writer.close()

    async def run() -> None:
        shares = [posts // connections + (i < posts % connections) for i in range(connections)]
        await asyncio.gather(*(connection(share) for share in shares))

    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    asyncio.run(run())
    after, seconds = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    return _usage(before, after, seconds, posts)


def _usage(before, after, seconds: float, posts: int) -> dict[str, float]:
    system = after.ru_stime - before.ru_stime
    return {
        "posts_per_second": posts / seconds,
        "cpu_ms": (after.ru_utime - before.ru_utime + system) * 1000 / posts,
        "kernel_ms": system * 1000 / posts,
        "voluntary_switches": (after.ru_nvcsw - before.ru_nvcsw) / posts,
        "involuntary_switches": (after.ru_nivcsw - before.ru_nivcsw) / posts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.post_threads",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=6000, help="POSTs per round")
    parser.add_argument("--threads", default="1,4,16,64")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per thread count")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webhooks_project.settings")
    counts = [int(n) for n in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-post-threads-") as workdir:
        receiver = ReceiverProcess(Path(workdir)).start()
        try:
            url = receiver.base_url + "/fast/post-threads"
            rounds: dict[str, list[dict[str, float]]] = {str(n): [] for n in counts}
            reference = f"1, asyncio over {max(counts)} connections (reference)"
            rounds[reference] = []
            for _ in range(args.repeat):
                for threads in counts:
                    rounds[str(threads)].append(_round(url, threads, args.posts))
                    receiver.drain()
                rounds[reference].append(_asyncio_round(receiver.port, max(counts), args.posts))
                receiver.drain()
        finally:
            receiver.stop()
    print(f"{args.posts} POSTs per round, {args.repeat} rounds per thread count, medians "
          f"(min-max of POSTs/s); Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print("| threads | POSTs/s | CPU ms per POST | of it kernel | voluntary / involuntary "
          "context switches per POST |")
    print("| --- | --- | --- | --- | --- |")
    for threads, results in rounds.items():
        def med(key: str, results=results) -> float:
            return statistics.median(r[key] for r in results)

        rates = [r["posts_per_second"] for r in results]
        print(f"| {threads} | {med('posts_per_second'):,.0f} ({min(rates):,.0f}-"
              f"{max(rates):,.0f}) | {med('cpu_ms'):.3f} | {med('kernel_ms'):.3f} | "
              f"{med('voluntary_switches'):.1f} / {med('involuntary_switches'):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
