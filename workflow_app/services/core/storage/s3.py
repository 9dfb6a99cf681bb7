"""Files in an S3-compatible object store (STORAGE_URL=s3://bucket/prefix): AWS S3,
MinIO, Ceph... The address comes from STORAGE_S3_ENDPOINT (none: AWS), the region
from STORAGE_S3_REGION, the keys from boto3's usual places (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from functools import lru_cache

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from .base import CHUNK, Missing, Opened, Stat, Store

_ABSENT = {"404", "NoSuchKey", "NotFound"}


@lru_cache(maxsize=4)
def s3_store(bucket: str, prefix: str, endpoint: str, region: str) -> S3Store:
    # One client per process and store: boto3 clients are thread-safe and keep their connections.
    client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None,
                          config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                                            connect_timeout=5, read_timeout=30))
    return S3Store(client, bucket, prefix)


class S3Store(Store):
    def __init__(self, client, bucket: str, prefix: str) -> None:
        self.client, self.bucket = client, bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def put(self, key: str, data: bytes, digest: str) -> None:
        name = self.prefix + key
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
            return  # content addressed: the same key holds the same bytes
        except ClientError as error:
            if _code(error) not in _ABSENT:
                raise
        self.client.put_object(Bucket=self.bucket, Key=name, Body=data, Metadata={"sha256": digest})

    def read(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def open(self, key: str, start: int = 0) -> Opened:
        # From `start` on, a ranged GET: the object store sends only those bytes.
        answer = self._get(key, f"bytes={start}-" if start else None)
        body = answer["Body"]
        size = answer["ContentLength"]
        if start:  # "bytes 100-999/1000": the whole size after the slash
            size = int(answer["ContentRange"].rsplit("/", 1)[1])
        return Opened(size, answer["LastModified"].timestamp(), body.iter_chunks(CHUNK), body.close)

    def stat(self, key: str) -> Stat:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as error:
            if _code(error) in _ABSENT:
                raise Missing(key) from None
            raise
        return Stat(answer["ContentLength"], answer["LastModified"].timestamp())

    def entries(self) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix):], item["LastModified"].timestamp()

    def now(self) -> float:
        """The object store's clock (its answer's Date), which stamps LastModified."""
        answer = self.client.head_bucket(Bucket=self.bucket)
        date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        try:
            return parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return time.time()

    def _get(self, key: str, byte_range: str | None = None) -> dict:
        extra = {"Range": byte_range} if byte_range else {}
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key, **extra)
        except ClientError as error:
            if _code(error) in _ABSENT:
                raise Missing(key) from None
            raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
