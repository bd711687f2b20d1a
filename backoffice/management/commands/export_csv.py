"""`manage.py export_csv <kind> [-o file]`: write products, variants, prices, ranges or stock in the columns
import_csv reads, so importing an export changes nothing."""
from django.core.management.base import BaseCommand, CommandError

from backoffice.imports import KINDS, csv_export


class Command(BaseCommand):
    help = "Export a kind of record as CSV (to standard output, or to a file with -o)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, kind, output=None, **options):
        if output is None:
            csv_export(kind=kind, out=self.stdout)
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                count = csv_export(kind=kind, out=handle)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
        self.stderr.write(f"{count} {kind} row(s) written to {output}.")
