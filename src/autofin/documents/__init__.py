"""Documents rendered from stored platform data: the contract disclosure (HTML and PDF).

Pure functions: data in, text or bytes out, no I/O (templates are package data read once).
"""

from autofin.documents.disclosure import disclosure_html, disclosure_pdf, document_model

__all__ = ["disclosure_html", "disclosure_pdf", "document_model"]
