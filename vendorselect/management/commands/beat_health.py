"""`manage.py beat_health --max-age 180`: exit 0 when beat's relay_outbox ran within the last
--max-age seconds (core.tasks records each run in the shared cache), 1 otherwise. The beat service's
health check in docker-compose.yml; a stale tick means beat stopped, or no worker runs its tasks."""

import time

from django.core.management.base import BaseCommand, CommandError

from core.tasks import last_beat_tick


class Command(BaseCommand):
    help = "Fail when beat's last tick (core.tasks.relay_outbox) is older than --max-age seconds."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=float, default=180, help="Seconds (default 180).")

    def handle(self, *args, max_age: float, **options):
        tick = last_beat_tick()
        if tick is None:
            raise CommandError("No beat tick recorded yet.")
        age = time.time() - tick
        if age > max_age:
            raise CommandError(f"Last beat tick {age:.0f} s ago (more than {max_age:.0f} s).")
        self.stdout.write(f"Last beat tick {age:.0f} s ago.")
