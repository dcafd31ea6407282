"""Which attachment types may preview: only passive media, never active documents."""

import pytest

from pyclient.media import SAVE_ONLY, blob_type, preview_kind


@pytest.mark.parametrize("mime, kind", [
    ("image/png", "image"), ("image/jpeg", "image"), ("image/webp", "image"),
    ("video/mp4", "video"), ("video/webm", "video"), ("audio/wav", "audio"), ("audio/mpeg", "audio"),
])
def test_passive_media_previews_as_its_own_type(mime, kind):
    assert preview_kind(mime) == kind
    assert blob_type(mime) == mime


@pytest.mark.parametrize("mime", [
    "text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml",
    "text/javascript", "application/javascript", "application/pdf", "text/plain",
    "application/x-made-up", "image/x-svg", "multipart/x-mixed-replace", "",
])
def test_active_or_unknown_types_are_save_only(mime):
    assert preview_kind(mime) is None
    assert blob_type(mime) == SAVE_ONLY
