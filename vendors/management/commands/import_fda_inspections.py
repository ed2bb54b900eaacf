"""python manage.py import_fda_inspections PATH — the FDA Data Dashboard export, from the shell."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import trail
from vendors import fda, importing


class Command(BaseCommand):
    help = "Import the FDA Data Dashboard 'inspections classifications' export (CSV or XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")

    def handle(self, *args, path: Path, dry_run: bool, **options):
        try:
            columns, body = importing.read_table(path.read_bytes(), path.name)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from None
        except importing.ImportFileError as error:
            raise CommandError(str(error)) from None
        result = fda.check_inspections(columns, body)
        if result.errors:
            for error in result.errors:
                self.stderr.write(f"row {error.row}, {error.column}: {error.message}")
            raise CommandError(f"{len(result.errors)} problem(s) found; nothing was imported.")
        if dry_run:
            counts = result.counts
        else:
            with trail.context(command=f"import_fda_inspections {path.name}"):
                counts = fda.apply_inspections(result)
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(
                f"{counts['create']} inspections {verb} created, {counts['update']} updated, {counts['unchanged']} unchanged."
                + (f" {counts['skipped']} row(s) skipped (not drugs or biologics)." if counts.get("skipped") else "")
            )
        )
        for firm in result.unmatched:
            self.stdout.write(
                f"  no site with FEI {firm['fei_number']}: {firm['legal_name']} ({firm['city']}, {firm['country']}), "
                f"{firm['inspections']} inspection(s) skipped"
            )
