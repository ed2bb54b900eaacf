"""python manage.py send_reminders — the daily reminders, for installations that use cron instead of beat."""

from django.core.management.base import BaseCommand

from audits.reminders import send_reminders


class Command(BaseCommand):
    help = "Notify overdue CAPAs and due requalifications (each once per due date)."

    def handle(self, *args, **options):
        counts = send_reminders()
        self.stdout.write(", ".join(f"{kind}: {n}" for kind, n in counts.items()))
