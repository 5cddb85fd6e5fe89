"""The kept uploads between preview and confirmation: found only by their own id, hash and owner, never by a path;
bounded in size and number; gone after use, cancellation or expiry."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.web.uploads import UploadStore

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
DATA = b"PK\x03\x04 a plan table"


def store(tmp_path: Path, **kw: int) -> UploadStore:
    return UploadStore(tmp_path / "uploads", max_bytes=64, **kw)  # type: ignore[arg-type]


def test_a_kept_file_comes_back_with_its_fields(tmp_path: Path) -> None:
    s = store(tmp_path)
    kept = s.stage(data=DATA, filename="附件4.xlsx", owner=7, fields={"year": "2027"}, now=T0)
    assert kept.digest == hashlib.sha256(DATA).hexdigest() and len(kept.id) == 32
    back = s.load(upload_id=kept.id, digest=kept.digest, owner=7, now=T0 + timedelta(minutes=5))
    assert back is not None and (back.data, back.filename, back.fields, back.staged_at) == (
        DATA, "附件4.xlsx", {"year": "2027"}, T0)
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == [f"{kept.id}.bin", f"{kept.id}.json"]
    assert (tmp_path / "uploads" / f"{kept.id}.bin").stat().st_mode & 0o077 == 0  # readable by the service only
    s.discard(kept.id)
    assert list((tmp_path / "uploads").iterdir()) == []


@pytest.mark.parametrize("change", ["digest", "owner", "id", "path", "bytes"])
def test_anything_but_the_exact_id_hash_and_owner_finds_nothing(tmp_path: Path, change: str) -> None:
    s = store(tmp_path)
    (tmp_path / "secret_key").write_text("k")
    kept = s.stage(data=DATA, filename="a.xlsx", owner=7, fields={}, now=T0)
    upload_id, digest, owner = kept.id, kept.digest, 7
    if change == "digest":
        digest = hashlib.sha256(b"other").hexdigest()
    elif change == "owner":
        owner = 8
    elif change == "id":
        upload_id = kept.id[:-1] + ("A" if kept.id[-1] != "A" else "B")
    elif change == "path":
        upload_id = "../secret_key"
    else:
        (tmp_path / "uploads" / f"{kept.id}.bin").write_bytes(DATA + b"!")  # changed on disk since
    assert s.load(upload_id=upload_id, digest=digest, owner=owner, now=T0) is None
    s.discard("../secret_key")
    assert (tmp_path / "secret_key").exists()


def test_an_expired_file_is_refused_and_deleted(tmp_path: Path) -> None:
    s = store(tmp_path)
    kept = s.stage(data=DATA, filename="a.xlsx", owner=7, fields={}, now=T0)
    assert s.load(upload_id=kept.id, digest=kept.digest, owner=7, now=T0 + timedelta(hours=1, minutes=59)) is not None
    assert s.load(upload_id=kept.id, digest=kept.digest, owner=7, now=T0 + timedelta(hours=2)) is None
    assert list((tmp_path / "uploads").iterdir()) == []


def test_staging_purges_expired_files_strays_and_the_oldest_beyond_the_limit(tmp_path: Path) -> None:
    s = store(tmp_path, max_files=3)
    old = s.stage(data=DATA, filename="old.xlsx", owner=1, fields={}, now=T0 - timedelta(hours=3))
    stray = tmp_path / "uploads" / ("S" * 32 + ".bin")
    stray.write_bytes(DATA)
    os.utime(stray, (T0.timestamp() - 600, T0.timestamp() - 600))  # its pair never written, ten minutes ago
    kept = [s.stage(data=DATA, filename=f"{i}.xlsx", owner=1, fields={}, now=T0 + timedelta(minutes=i))
            for i in range(4)]
    ids = {p.stem for p in (tmp_path / "uploads").iterdir()}
    assert ids == {k.id for k in kept[1:]}  # the expired one, the stray and the oldest of four are gone
    assert old.id not in ids and stray.stem not in ids


def test_a_file_over_the_limit_is_not_kept(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exceeds 64"):
        store(tmp_path).stage(data=bytes(65), filename="big.xlsx", owner=1, fields={}, now=T0)
    assert not (tmp_path / "uploads").exists() or list((tmp_path / "uploads").iterdir()) == []
