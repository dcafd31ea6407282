"""Small real media files for the attachment tests, made locally."""

import io
import struct
import wave
import zipfile
import zlib


def png(width: int = 16, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes((y * 16 % 256, 90, 200)) * width for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes((128 + (i % 40) - 20) for i in range(int(seconds * rate))))
    return buffer.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "Hẹn gặp lúc 7 giờ\n" * 50)
    return buffer.getvalue()


def webm(browser) -> bytes:
    """A short VP8 WebM recorded by Chromium's own MediaRecorder from a canvas."""
    context = browser.new_context()
    page = context.new_page()
    data = page.evaluate("""async () => {
        const canvas = document.createElement('canvas'); canvas.width = 64; canvas.height = 48;
        const g = canvas.getContext('2d');
        const recorder = new MediaRecorder(canvas.captureStream(25), {mimeType: 'video/webm;codecs=vp8'});
        const parts = []; recorder.ondataavailable = e => parts.push(e.data);
        const stopped = new Promise(r => recorder.onstop = r);
        recorder.start();
        for (let i = 0; i < 15; i++) { g.fillStyle = `rgb(${i * 16},80,160)`; g.fillRect(0, 0, 64, 48);
                                       await new Promise(r => setTimeout(r, 40)); }
        recorder.stop(); await stopped;
        const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
        return Array.from(bytes);
    }""")
    context.close()
    return bytes(data)
