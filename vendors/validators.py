"""Checks of the documents attached to register records (warning letters, import alerts, GMP
certificates): PDF only, checked by extension and by the file's first bytes, size-limited, as the
audit and RFP attachments are."""

from pathlib import Path

from django.core.exceptions import ValidationError

DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
PDF_SIGNATURE = b"%PDF-"


def validate_pdf_document(upload) -> None:
    name = Path(getattr(upload, "name", "") or "").name
    if Path(name).suffix.lower() != ".pdf":
        raise ValidationError("Attach the document as a PDF file (.pdf).")
    size = getattr(upload, "size", None) or 0
    if size <= 0:
        raise ValidationError("The document is empty.")
    if size > DOCUMENT_MAX_BYTES:
        raise ValidationError(f"The document is larger than {DOCUMENT_MAX_BYTES // (1024 * 1024)} MB.")
    if getattr(upload, "_committed", False):
        return  # a file already stored (re-validated on a later save): it was checked when uploaded
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(len(PDF_SIGNATURE))
    upload.seek(position)
    if head != PDF_SIGNATURE:
        raise ValidationError("The document's content is not a PDF file.")
