"""The order import upload: which tenant, which file; and an upload handler that keeps the file off the disk."""

from __future__ import annotations

import io

from django import forms
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from tenants.models import Tenant

from . import imports


class CappedMemoryUploadHandler(FileUploadHandler):
    """Keeps an upload in memory up to the import's size limit and skips the rest of a larger one.

    Django's default handlers would stream any size to a temporary file before the view could refuse it; this one
    never writes to disk, never holds more than the limit, and remembers that the file was too large.
    """

    def __init__(self, request=None, limit: int = imports.MAX_BYTES):
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise SkipFile
        self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            self.buffer, self.field_name, self.file_name, self.content_type, file_size, self.charset
        )


class OrderImportForm(forms.Form):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.filter(active=True, application__active=True).order_by("-can_write", "name"),
        empty_label=None,
        help_text="The orders are created for this tenant's customers.",
    )
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma or semicolon separated, header row first; at most 10 MB and 50,000 lines.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, too_large: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self.too_large:
            self.errors.pop("file", None)
            self.add_error("file", f"The file is larger than {imports.MAX_BYTES // (1024 * 1024)} MB; split it.")
