"""Writes docs/events.md and events/example_bodies.json from the code (events/examples.py), or
checks that they are current."""

import difflib

from django.core.management.base import BaseCommand, CommandError

from events.examples import (
    DOC_PATH,
    EXAMPLES_PATH,
    example_bodies,
    render_examples_json,
    render_markdown,
)


class Command(BaseCommand):
    help = "Write docs/events.md (every event type with an example body) from the code."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Write nothing; exit non-zero when docs/events.md is stale.")

    def handle(self, *args, **options):
        bodies = example_bodies()
        outputs = [(DOC_PATH, render_markdown(bodies)),
                   (EXAMPLES_PATH, render_examples_json(bodies))]
        if options["check"]:
            stale = []
            for path, rendered in outputs:
                current = path.read_text(encoding="utf-8") if path.exists() else ""
                if current != rendered:
                    stale.append(path.name)
                    self.stderr.write("".join(difflib.unified_diff(
                        current.splitlines(keepends=True), rendered.splitlines(keepends=True),
                        path.name, "rendered", n=1))[:4000])
            if stale:
                raise CommandError(f"{', '.join(stale)} out of date: run "
                                   "`python manage.py event_docs`.")
            self.stdout.write("docs/events.md and events/example_bodies.json are up to date.")
            return
        for path, rendered in outputs:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered, encoding="utf-8")
            self.stdout.write(f"Wrote {path}.")
