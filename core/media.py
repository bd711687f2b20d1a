"""Serving uploaded files (MEDIA_URL) from the default storage when it is local, with DEBUG on or off. A name
holding a content hash (every product picture and rendition) never changes, so browsers keep it for a year."""
import mimetypes
import re

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

HASHED_NAME = re.compile(r"(^|/)[0-9a-f]{16,64}(-\d+w)?\.[a-z0-9]+$")
FOREVER = "public, max-age=31536000, immutable"
A_WHILE = "public, max-age=3600"


@require_safe
def serve_media(request, name: str):
    """One stored file, or 404: no listing of folders, nothing outside the storage (a path that climbs out is
    refused by the storage itself and is a 404 here)."""
    if not name or name.endswith("/") or "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        raise Http404("No such file.")
    try:
        file = default_storage.open(name, "rb")
    except (OSError, SuspiciousFileOperation):  # missing, a folder, or outside the storage
        raise Http404("No such file.") from None
    content_type, _ = mimetypes.guess_type(name)
    response = FileResponse(file, content_type=content_type or "application/octet-stream")
    response["Cache-Control"] = FOREVER if HASHED_NAME.search(name) else A_WHILE
    return response
