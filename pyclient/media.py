"""Which attachment types the page may show inline, and as what.

The sender chooses an attachment's MIME type, so it is hostile input. A
``blob:`` URL is a document in the app's origin when it is opened in a tab:
typed as ``text/html`` or ``image/svg+xml`` it would run the sender's script
with access to the session and IndexedDB. Only passive media preview inline;
everything else is handed over as ``application/octet-stream``, which the
browser saves and never renders (docs/protocol.md §6, DESIGN property 10).
"""

SAVE_ONLY = "application/octet-stream"

# Raster images, audio and video that browsers decode without running script.
# SVG is an image type that carries script, so it is deliberately absent.
INLINE_TYPES = {
    "image": frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
                        "image/x-icon", "image/vnd.microsoft.icon"}),
    "video": frozenset({"video/mp4", "video/webm", "video/ogg", "video/quicktime", "video/x-matroska"}),
    "audio": frozenset({"audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/opus", "audio/wav",
                        "audio/x-wav", "audio/wave", "audio/webm", "audio/flac", "audio/x-flac"}),
}


def preview_kind(mime: str) -> str | None:
    """``"image"``, ``"video"`` or ``"audio"`` if ``mime`` may preview inline, else ``None``."""
    for kind, types in INLINE_TYPES.items():
        if mime in types:
            return kind
    return None


def blob_type(mime: str) -> str:
    """The type to give the plaintext ``Blob``: the sender's only if it is passive media."""
    return mime if preview_kind(mime) else SAVE_ONLY
