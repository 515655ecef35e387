"""Object storage for files (issue 18: evidence): one interface, two backends, one test suite.

* ``LocalDirectoryStore``: a directory (the embedded default: ``<data dir>/evidence`` under ``make run``). An
  object is written to a staging file in the same directory tree and renamed into place once complete and
  flushed, so a reader never sees half an object.
* ``S3Store``: any S3 API (MinIO in docker-compose.yml, a cloud bucket in production) through aiobotocore.

Keys are chosen by the platform (``[A-Za-z0-9._/-]``, no ``..``), never by a client. ``put`` takes a local file the
caller has already checked and cleaned (uploads are spooled to disk first: a file is never held whole in memory),
``stream`` yields it back in chunks, ``delete`` removes it (nothing if it is not there).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

CHUNK = 256 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ObjectMissing(LookupError):
    """No object under this key."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key or len(key) > 512:
        raise ValueError("an object key is [A-Za-z0-9._-] segments separated by '/', without '..'")
    return key


class ObjectStore(Protocol):
    #: Where uploads are spooled before they are checked and stored (None: the system's temporary directory).
    staging_dir: Path | None

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, key: str, path: Path, content_type: str) -> None: ...

    def stream(self, key: str) -> AsyncIterator[bytes]: ...

    async def size(self, key: str) -> int: ...

    async def delete(self, key: str) -> None: ...


# -- a local directory -----------------------------------------------------------------------------------------
class LocalDirectoryStore:
    """Objects as files under ``root`` (mode 0600, directories 0700)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.staging_dir: Path | None = self.root / ".staging"

    async def start(self) -> None:
        for d in (self.root, self.staging_dir):
            assert d is not None
            d.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def close(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, path: Path, content_type: str) -> None:  # noqa: ARG002 - no metadata kept
        target = self._path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"
            try:
                with open(path, "rb") as src, open(partial, "xb") as dst:
                    os.fchmod(dst.fileno(), 0o600)
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.replace(partial, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    partial.unlink()

        await asyncio.to_thread(copy)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            f = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        try:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
        finally:
            f.close()

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)


# -- an S3 API -------------------------------------------------------------------------------------------------
class S3Store:
    """Objects in one bucket of an S3 API, through aiobotocore: a client per operation (nothing to open or close
    with the service; botocore caches the service model). Uploads ask for server-side encryption when
    ``server_side_encryption`` names it (``AES256`` on AWS; MinIO needs a KMS configured for it)."""

    def __init__(self, *, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1",
                 access_key_id: str | None = None, secret_access_key: str | None = None, prefix: str = "",
                 server_side_encryption: str | None = None, create_bucket: bool = False,
                 staging_dir: Path | str | None = None) -> None:
        self.bucket, self.endpoint_url, self.region = bucket, endpoint_url, region
        self._credentials = (access_key_id, secret_access_key)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.sse = server_side_encryption
        self.create_bucket = create_bucket
        self.staging_dir: Path | None = Path(staging_dir) if staging_dir else None
        self._session: Any = None

    def _client(self) -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        if self._session is None:
            self._session = get_session()
        key_id, secret = self._credentials
        return self._session.create_client(
            "s3", region_name=self.region, endpoint_url=self.endpoint_url, aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"},
                             connect_timeout=5, read_timeout=60))

    async def start(self) -> None:
        if self.staging_dir is not None:
            self.staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.create_bucket:  # development and tests; production buckets are made by their operators
            async with self._client() as s3:
                try:
                    await s3.head_bucket(Bucket=self.bucket)
                except s3.exceptions.ClientError:
                    await s3.create_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        return None

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, path: Path, content_type: str) -> None:
        extra = {"ServerSideEncryption": self.sse} if self.sse else {}
        size = path.stat().st_size
        body = await asyncio.to_thread(open, path, "rb")  # read in chunks by the SDK; one PUT (up to 5 GB)
        try:
            async with self._client() as s3:
                await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, ContentLength=size,
                                    ContentType=content_type, **extra)
        finally:
            body.close()

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        async with self._client() as s3:
            try:
                response = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
            except s3.exceptions.NoSuchKey as exc:
                raise ObjectMissing(key) from exc
            async with response["Body"] as body:
                while chunk := await body.read(CHUNK):
                    yield chunk

    async def size(self, key: str) -> int:
        async with self._client() as s3:
            try:
                head = await s3.head_object(Bucket=self.bucket, Key=self._key(key))
            except s3.exceptions.ClientError as exc:
                raise ObjectMissing(key) from exc
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=self._key(key))


def from_settings(settings: Any) -> ObjectStore | None:
    """The evidence store the settings name, or None when none is configured (uploads then answer 503)."""
    if settings.evidence_store == "s3":
        secret = settings.evidence_s3_secret_access_key
        return S3Store(bucket=settings.evidence_s3_bucket, endpoint_url=settings.evidence_s3_endpoint_url,
                       region=settings.evidence_s3_region, access_key_id=settings.evidence_s3_access_key_id,
                       secret_access_key=secret.get_secret_value() if secret else None,
                       prefix=settings.evidence_s3_prefix, server_side_encryption=settings.evidence_s3_sse,
                       create_bucket=settings.environment != "production" and settings.evidence_s3_create_bucket,
                       staging_dir=settings.evidence_staging_dir)
    if settings.evidence_dir:
        return LocalDirectoryStore(settings.evidence_dir)
    return None
