"""A local webhook receiver for trying deliveries by hand: prints each one, verifies its
signature, and can be told to fail (a status code, a delay, only every Nth request)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandError

from delivery.signing import SignatureError, verify_signature


class Command(BaseCommand):
    help = "Run a local HTTP receiver that prints and verifies webhook deliveries."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--secret", action="append", default=[],
                            help="whsec_... secret to verify signatures with (repeatable).")
        parser.add_argument("--secret-file", help="Read the secret from this file.")
        parser.add_argument("--status", type=int, default=200,
                            help="Status to answer when failing (default 200: never fail).")
        parser.add_argument("--delay", type=float, default=0.0,
                            help="Seconds to wait before answering a failing request.")
        parser.add_argument("--every", type=int, default=1,
                            help="Fail only every Nth request (default: every request).")
        parser.add_argument("--quiet", action="store_true", help="Do not print bodies.")

    def handle(self, *args, **options):
        if options["host"] not in {"127.0.0.1", "localhost", "::1"}:
            raise CommandError("The receiver only listens on the loopback interface.")
        secrets = list(options["secret"])
        if options["secret_file"]:
            try:
                with open(options["secret_file"]) as handle:
                    secrets.append(handle.read().strip())
            except FileNotFoundError:
                self.stderr.write(f"No secret file yet at {options['secret_file']}.")
        counter = itertools.count(1)
        lock = threading.Lock()
        command = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - name fixed by http.server
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    number = next(counter)
                failing = options["status"] != 200 and number % max(options["every"], 1) == 0
                verdict = command.verify(secrets, dict(self.headers.items()), body)
                command.show(number, self.headers, body, verdict, failing, options)
                if failing and options["delay"]:
                    time.sleep(options["delay"])
                status = options["status"] if failing else 200
                reply = json.dumps({"received": number}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer((options["host"], options["port"]), Handler)
        self.stdout.write(f"Receiving webhooks on http://{options['host']}:{options['port']}/")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    def verify(self, secrets: list[str], headers: dict, body: bytes) -> str:
        if not secrets:
            return "not checked (no --secret)"
        for secret in secrets:
            try:
                verify_signature(secret, headers, body)
                return "valid"
            except SignatureError as exc:
                last = str(exc)
        return f"INVALID ({last})"

    def show(self, number, headers, body, verdict, failing, options) -> None:
        try:
            payload = json.loads(body)
            kind = payload.get("type", "?")
            text = json.dumps(payload, indent=2, ensure_ascii=False)
        except ValueError:
            kind, text = "?", body.decode(errors="replace")
        answer = f"answering {options['status']}" if failing else "answering 200"
        self.stdout.write(
            f"#{number} {kind} webhook-id={headers.get('webhook-id')} "
            f"signature {verdict}; {answer}"
        )
        if not options["quiet"]:
            self.stdout.write(text)
