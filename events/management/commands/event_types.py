"""Lists the event catalog: each type, its kind, its description, the trigger names for it."""

import json

from django.core.management.base import BaseCommand

from events.examples import ALL_TYPES, description, kind_name, trigger_names


class Command(BaseCommand):
    help = "List the event types, their kind, description and trigger names."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args, **options):
        rows = [
            {"type": t, "kind": kind_name(t), "description": description(t),
             "triggers": trigger_names(t)}
            for t in ALL_TYPES
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        width = max(len(row["type"]) for row in rows)
        for row in rows:
            triggers = ", ".join(row["triggers"]) or "(test deliveries only)"
            self.stdout.write(
                f"{row['type']:<{width}}  {row['kind'] or '-':<8}  {row['description']}\n"
                f"{'':<{width}}  {'':<8}  triggers: {triggers}"
            )
