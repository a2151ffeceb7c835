"""Writes docs/events.md from the code (events/examples.py), or checks that it is current."""

import difflib

from django.core.management.base import BaseCommand, CommandError

from events.examples import DOC_PATH, render_markdown


class Command(BaseCommand):
    help = "Write docs/events.md (every event type with an example body) from the code."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Write nothing; exit non-zero when docs/events.md is stale.")

    def handle(self, *args, **options):
        rendered = render_markdown()
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if options["check"]:
            if current != rendered:
                diff = "".join(difflib.unified_diff(
                    current.splitlines(keepends=True), rendered.splitlines(keepends=True),
                    "docs/events.md", "rendered", n=1))
                self.stderr.write(diff[:4000])
                raise CommandError(
                    "docs/events.md is out of date: run `python manage.py event_docs`."
                )
            self.stdout.write("docs/events.md is up to date.")
            return
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(rendered, encoding="utf-8")
        self.stdout.write(f"Wrote {DOC_PATH}.")
