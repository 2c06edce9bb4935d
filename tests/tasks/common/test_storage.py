"""The I/O layer over fsspec, on a local folder and on a real S3 API (moto server on 127.0.0.1)."""

from __future__ import annotations

import pytest

from tasks.common import storage


@pytest.fixture(scope="module")
def s3_root():
    """A moto S3 server on a free port, a bucket, and fsspec pointed at it; yields `s3://bucket`."""
    import fsspec
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"key": "testing", "secret": "testing", "endpoint_url": f"http://{host}:{port}"}
    old = fsspec.config.conf.get("s3")
    fsspec.config.conf["s3"] = options
    s3fs.S3FileSystem(skip_instance_cache=True, **options).mkdir("storage-test")
    yield "s3://storage-test"
    if old is None:
        fsspec.config.conf.pop("s3", None)
    else:
        fsspec.config.conf["s3"] = old
    server.stop()


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path):
    return str(tmp_path / "root") if request.param == "local" else request.getfixturevalue("s3_root") + f"/{tmp_path.name}"


def test_round_trips_and_atomic_names(root):
    storage.write_json(storage.join(root, "a", "x.json"), {"k": [1, 2]})
    storage.write_text(storage.join(root, "b.txt"), "héllo")
    assert storage.read_json(storage.join(root, "a", "x.json")) == {"k": [1, 2]}
    assert storage.read_text(storage.join(root, "b.txt")) == "héllo"
    assert storage.exists(storage.join(root, "a", "x.json"))
    assert not storage.exists(storage.join(root, "nope"))
    import fsspec

    fs, path = fsspec.core.url_to_fs(root)
    assert not [p for p in fs.find(path) if ".tmp-" in p]  # no temporary name is left behind


def test_local_copy_and_upload_dir(root, tmp_path):
    src = tmp_path / "src"
    (src / "plots").mkdir(parents=True)
    (src / "plots" / "p.png").write_bytes(b"\x89PNG")
    (src / "r.md").write_text("# r")
    assert storage.upload_dir(src, storage.join(root, "up")) == ["plots/p.png", "r.md"]
    with storage.local_copy(storage.join(root, "up", "plots", "p.png")) as local:
        assert local.read_bytes() == b"\x89PNG"
    with storage.local_copy(storage.join(root, "up")) as folder:
        assert (folder / "r.md").read_text() == "# r"
        assert (folder / "plots" / "p.png").is_file()
    assert storage.upload_dir(tmp_path / "absent", storage.join(root, "x")) == []
