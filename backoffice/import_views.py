"""The CSV import/export page at /admin/backoffice/import/: choose a kind, upload a file, see the problems
row by row or what changed; download each kind as CSV. Needs backoffice.import_data (others get 403)."""
import csv
import io

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from .imports import COLUMNS, KINDS, csv_import, csv_rows

PERMISSION = "backoffice.import_data"
ERRORS_SHOWN = 500


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(kind, kind.capitalize()) for kind in KINDS])
    file = forms.FileField(label="CSV file", help_text="UTF-8; the first line names the columns.")
    good_rows_only = forms.BooleanField(required=False, label="Import the good rows and skip the bad ones")
    dry_run = forms.BooleanField(required=False, label="Dry run: check and count, save nothing")


def _require_permission(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Importing and exporting CSV needs the back office's import permission.")


def import_view(request):
    _require_permission(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    result, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            result = csv_import(
                kind=form.cleaned_data["kind"],
                file=io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline=""),
                good_rows_only=form.cleaned_data["good_rows_only"], dry_run=form.cleaned_data["dry_run"],
                actor=request.user, reference=f"import:{upload.name}",
            )
        if not form.is_valid() or result.refused:
            status = 400
    context = {
        **admin.site.each_context(request),
        "title": "Import and export CSV",
        "form": form,
        "result": result,
        "errors_shown": result.errors[:ERRORS_SHOWN] if result else [],
        "errors_hidden": max(len(result.errors) - ERRORS_SHOWN, 0) if result else 0,
        "kinds": [(kind, ", ".join(columns)) for kind, columns in COLUMNS.items()],
    }
    return TemplateResponse(request, "admin/backoffice/import.html", context, status=status)


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def export_view(request, kind: str):
    _require_permission(request)
    if kind not in KINDS:
        raise Http404(f"No export of {kind!r}; choose one of {', '.join(KINDS)}.")
    writer = csv.writer(_Echo())
    # A byte-order mark lets spreadsheet programs open the file as UTF-8; the importer skips it.
    lines = (writer.writerow(row) for row in csv_rows(kind=kind))
    response = StreamingHttpResponse(
        (("\ufeff" if number == 0 else "") + line for number, line in enumerate(lines)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
