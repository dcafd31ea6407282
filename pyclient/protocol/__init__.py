"""Pure protocol code: bytes in, bytes out, no I/O (see docs/protocol.md)."""
