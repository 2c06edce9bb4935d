"""A cheap fingerprint of the source files (size, modification time or ETag) for the ingest cache key."""

from __future__ import annotations

from typing import Any

import fsspec

from tasks.ingest.shards import Shard

VERSION_KEYS = ("mtime", "LastModified", "last_modified", "ETag", "etag", "created")


def source_fingerprint(shards: list[Shard]) -> list[dict[str, Any]]:
    """Per input file: uri, size and whatever version marker its filesystem reports.

    Demo and Hub inputs have no files; their shard description stands for them.
    """
    seen: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for piece in shard.pieces:
            if piece.uri in seen:
                continue
            entry: dict[str, Any] = {"uri": piece.uri, "kind": piece.kind}
            if piece.kind == "file":
                fs, path = fsspec.core.url_to_fs(piece.uri)
                info = fs.info(path)
                entry["size"] = info.get("size")
                entry.update({key: str(info[key]) for key in VERSION_KEYS if key in info})
            seen[piece.uri] = entry
    return [seen[uri] for uri in sorted(seen)]
