"""A local webhook receiver for trying deliveries by hand, like `stripe listen`: prints one line
per request and verifies its signature with the secrets of every webhook in the local database
(and any --secret), and can be told to fail (a status code, a delay, only every Nth request).
The work is in delivery/local_receiver.py."""

from __future__ import annotations

import errno
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from delivery import local_receiver
from delivery.local_receiver import Secret


class Command(BaseCommand):
    help = ("Run a local HTTP receiver that prints and verifies webhook deliveries with the "
            "secrets of every webhook in the local database and any --secret.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001,
                            help="Port to listen on (default 8001; 0 picks a free one).")
        parser.add_argument("--secret", action="append", default=[],
                            help="A whsec_... secret to verify with, besides the database's "
                                 "(repeatable).")
        parser.add_argument("--secret-file", help="Read one more secret from this file.")
        parser.add_argument("--no-database", action="store_true",
                            help="Do not use the webhook secrets of the local database.")
        parser.add_argument("--show-body", action="store_true",
                            help="Print each body, pretty-printed JSON.")
        parser.add_argument("--status", type=int, default=200,
                            help="Status to answer when failing (default 200: never fail).")
        parser.add_argument("--delay", type=float, default=0.0,
                            help="Seconds to wait before answering a failing request.")
        parser.add_argument("--every", type=int, default=1,
                            help="Fail only every Nth request (default: every request).")
        parser.add_argument("--quiet", action="store_true",
                            help="Do not print bodies (the default; kept for old scripts).")

    def handle(self, *args, **options):
        if options["host"] not in {"127.0.0.1", "localhost", "::1"}:
            raise CommandError("The receiver only listens on the loopback interface.",
                               returncode=2)
        extra = [Secret(value, "--secret") for value in options["secret"]]
        if options["secret_file"]:
            try:
                with open(options["secret_file"]) as handle:
                    extra.append(Secret(handle.read().strip(), "--secret-file"))
            except FileNotFoundError:
                self.stderr.write(f"No secret file yet at {options['secret_file']}.")
        use_database = not options["no_database"]
        counter = itertools.count(1)
        lock = threading.Lock()
        command = self

        def secrets() -> list[Secret]:
            if not use_database:
                return extra
            close_old_connections()
            try:
                return local_receiver.database_secrets() + extra
            finally:
                close_old_connections()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    number = next(counter)
                failing = options["status"] != 200 and number % max(options["every"], 1) == 0
                status = options["status"] if failing else 200
                if self.command != "POST":
                    verdict, status = "not checked (not a POST)", 405
                else:
                    verdict = local_receiver.verify(secrets(), dict(self.headers.items()), body)
                command.stdout.write(local_receiver.request_line(
                    number, self.command, self.path, body, verdict, status))
                if options["show_body"]:
                    _, _, pretty = local_receiver.describe(body)
                    command.stdout.write(pretty if pretty is not None
                                         else body.decode(errors="replace"))
                command.stdout.flush()
                if failing and options["delay"]:
                    time.sleep(options["delay"])
                reply = json.dumps({"received": number}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815

            def log_message(self, *args):
                pass

        try:
            server = ThreadingHTTPServer((options["host"], options["port"]), Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {options['port']} on {options['host']} is already in use (is "
                    "`make run`'s receiver running?); choose another with --port, or --port 0 "
                    "for a free one.", returncode=2) from None
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: "
                               f"{exc.strerror}.", returncode=2) from None
        host, port = server.server_address[:2]
        where = "the local database's webhook secrets" if use_database else "no database"
        self.stdout.write(f"Receiving webhooks on http://{host}:{port}/ (verifying with "
                          f"{where}{' and ' + str(len(extra)) + ' more' if extra else ''}); "
                          "Ctrl-C to stop.")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
