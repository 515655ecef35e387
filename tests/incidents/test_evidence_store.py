"""The object store interface, one suite for both backends (a local directory; S3 through aiobotocore against
moto's server): put, stream back, size, delete, a missing object, keys the platform refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared import objectstore
from shared.settings import ServiceSettings
from tests.incidents.evidence_stores import moto_endpoint, store_settings, stored_objects  # noqa: F401 - fixtures


@pytest.fixture
async def store(store_settings, tmp_path):  # noqa: F811
    settings = ServiceSettings(service_name="incidents", environment="test", database_url="postgresql://x@y/z",
                               **store_settings)
    made = objectstore.from_settings(settings)
    await made.start()
    await made.start()  # starting twice is harmless (the directory, the bucket already there)
    yield made
    await made.close()


async def test_put_stream_size_delete(store, tmp_path: Path):
    data = bytes(range(256)) * 4096  # 1 MiB: several chunks
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    await store.put("evidence/one", source, "application/octet-stream")
    assert await store.size("evidence/one") == len(data)
    assert b"".join([c async for c in store.stream("evidence/one")]) == data
    assert set(await stored_objects(store)) == {"evidence/one"}
    source.write_bytes(b"replaced")
    await store.put("evidence/one", source, "application/octet-stream")  # a put replaces the whole object
    assert b"".join([c async for c in store.stream("evidence/one")]) == b"replaced"
    await store.delete("evidence/one")
    await store.delete("evidence/one")  # deleting what is gone is not an error
    assert await stored_objects(store) == {}


async def test_a_missing_object_and_keys_the_platform_refuses(store, tmp_path: Path):
    with pytest.raises(objectstore.ObjectMissing):
        await store.size("evidence/none")
    with pytest.raises(objectstore.ObjectMissing):
        [c async for c in store.stream("evidence/none")]
    source = tmp_path / "x"
    source.write_bytes(b"x")
    for key in ("../escape", "evidence/../../escape", "/absolute", "a//b", "spaces are not keys", ""):
        with pytest.raises(ValueError):
            await store.put(key, source, "application/octet-stream")
    assert await stored_objects(store) == {}


def test_no_store_configured_means_none():
    settings = ServiceSettings(service_name="incidents", environment="test", database_url="postgresql://x@y/z")
    assert objectstore.from_settings(settings) is None
