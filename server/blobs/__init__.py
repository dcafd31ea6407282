"""Blob stores: opaque ciphertext by random id. Local directory or S3-compatible."""

from .base import BlobInfo, BlobNotFound, BlobStore, BlobTooLarge
from .local import LocalBlobStore

__all__ = ["BlobInfo", "BlobNotFound", "BlobStore", "BlobTooLarge", "LocalBlobStore"]
