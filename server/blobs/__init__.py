"""Blob stores: opaque ciphertext by random id. Local directory or S3-compatible."""

from ..config import Config, ConfigError
from .base import BlobInfo, BlobNotFound, BlobStore, BlobTooLarge
from .local import LocalBlobStore

__all__ = ["BlobInfo", "BlobNotFound", "BlobStore", "BlobTooLarge", "LocalBlobStore", "make_blob_store"]


def make_blob_store(config: Config) -> BlobStore:
    if not config.blob_store:
        return LocalBlobStore(config.data_dir / "blobs")
    if config.blob_store.startswith("s3://"):
        from .s3 import S3BlobStore, S3ConfigError  # aiobotocore loads only when S3 is used
        try:
            return S3BlobStore.from_url(config.blob_store, endpoint_url=config.s3_endpoint_url,
                                        region=config.s3_region)
        except S3ConfigError as error:
            raise ConfigError(f"SEALROOM_BLOB_STORE: {error}") from None
    raise ConfigError(f"SEALROOM_BLOB_STORE={config.blob_store!r} is not a supported blob store; "
                      "leave it empty for DATA_DIR/blobs or write s3://bucket/prefix")
