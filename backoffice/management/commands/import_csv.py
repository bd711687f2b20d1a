"""`manage.py import_csv <kind> <file> [--good-rows-only] [--dry-run]`: import products, variants, prices,
ranges or stock counts from CSV. Prints every problem as `line N, column X: reason` and exits non-zero
when the file was refused (nothing saved)."""
from functools import partial
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backoffice.imports import COLUMNS, KINDS, csv_import


class Command(BaseCommand):
    help = "Import a CSV file. Columns: " + "; ".join(f"{kind}: {','.join(cols)}" for kind, cols in COLUMNS.items())

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", help="a UTF-8 CSV file whose first line names the columns")
        parser.add_argument("--good-rows-only", action="store_true",
                            help="import the good rows and skip the bad ones (default: refuse the whole file)")
        parser.add_argument("--dry-run", action="store_true", help="check and count what would change; save nothing")

    def handle(self, *args, kind, file, good_rows_only=False, dry_run=False, verbosity=1, **options):
        path = Path(file)
        try:
            handle = path.open(encoding="utf-8-sig", newline="")
        except OSError as error:
            raise CommandError(f"Cannot open {file}: {error.strerror}.") from None
        with handle:
            result = csv_import(
                kind=kind, file=handle, good_rows_only=good_rows_only, dry_run=dry_run,
                reference=f"import:{path.name}",
                progress=partial(tqdm, file=self.stderr, disable=verbosity < 1, mininterval=0.5, leave=False),
            )
        for error in result.errors:
            self.stderr.write(str(error))
        if result.refused:
            raise CommandError(result.summary())
        self.stdout.write(self.style.SUCCESS(result.summary()))
