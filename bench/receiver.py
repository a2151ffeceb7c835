"""A fast webhook receiver for the benchmarks: a separate process serving raw HTTP/1.1 with
keep-alive on asyncio.

Every POST is recorded on arrival (wall-clock time once its body is read, the `webhook-id` header,
the path) and answered 200 at once, or after `--slow-delay` seconds when the path starts with
`/slow`. The harness reads the arrivals over the same port:

    GET /_count   -> {"count": N}            arrivals since the last drain
    GET /_drain   -> [[time, id, path], ...] the arrivals since the last drain, then forgets them

Run as `python -m bench.receiver --port 0`; it prints `READY <port>` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD = 64 * 1024


class Recorder:
    def __init__(self, slow_delay: float) -> None:
        self.slow_delay = slow_delay
        self.arrivals: list[tuple[float, str, str]] = []

    def control(self, path: str) -> bytes:
        if path.startswith("/_drain"):
            body, self.arrivals = json.dumps(self.arrivals).encode(), []
        elif path.startswith("/_count"):
            body = json.dumps({"count": len(self.arrivals)}).encode()
        else:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    writer.write(BAD)
                    return
                method, path, _version = parts
                length, event_id, close = 0, "", False
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value.strip() or 0)
                    elif name == "webhook-id":
                        event_id = value.strip()
                    elif name == "connection":
                        close = value.strip().lower() == "close"
                if length:
                    await reader.readexactly(length)
                if method == "GET":
                    writer.write(self.control(path))
                else:
                    self.arrivals.append((time.time(), event_id, path))
                    if self.slow_delay and path.startswith("/slow"):
                        await asyncio.sleep(self.slow_delay)
                    writer.write(OK)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


async def serve(port: int, slow_delay: float) -> None:
    recorder = Recorder(slow_delay)
    server = await asyncio.start_server(
        recorder.handle, "127.0.0.1", port, limit=MAX_HEAD, backlog=1024
    )
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slow-delay", type=float, default=2.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.slow_delay))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
