"""The two evidence stores the evidence tests run against, one suite for both: a local directory, and an S3 API
(moto's ThreadedMotoServer, a real HTTP server speaking S3, in this process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.objectstore import LocalDirectoryStore, S3Store

S3_KEYS = {"evidence_s3_access_key_id": "test-key-id", "evidence_s3_secret_access_key": "test-secret"}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The evidence settings of a service on one of the two stores (a fresh directory, or a fresh bucket)."""
    if request.param == "local":
        return {"evidence_store": "local", "evidence_dir": str(tmp_path / "evidence")}
    endpoint = request.getfixturevalue("moto_endpoint")
    return {"evidence_store": "s3", "evidence_s3_endpoint_url": endpoint, "evidence_s3_create_bucket": True,
            "evidence_s3_bucket": f"evidence-{tmp_path.name.lower().replace('_', '-')[-40:]}", **S3_KEYS}


async def stored_objects(store: Any) -> dict[str, bytes]:
    """Every object in the store, by key (and, for a directory, nothing left in its staging area)."""
    if isinstance(store, LocalDirectoryStore):
        found = {str(p.relative_to(store.root)): p.read_bytes() for p in store.root.rglob("*")
                 if p.is_file() and store.staging_dir not in p.parents}
        assert store.staging_dir is None or not any(store.staging_dir.iterdir()), "a staging file was left"
        return found
    assert isinstance(store, S3Store)
    found = {}
    async with store._client() as s3:
        listed = await s3.list_objects_v2(Bucket=store.bucket)
        for item in listed.get("Contents", []):
            response = await s3.get_object(Bucket=store.bucket, Key=item["Key"])
            async with response["Body"] as body:
                found[item["Key"]] = await body.read()
    return found
