"""Uploaded files kept on the server between a preview and its confirmation.

Each file lies under `var_dir/uploads/` as `<id>.bin` plus `<id>.json` (its name, SHA-256, owner and form fields),
named by a random id. The browser only ever sends back the id and the hash: both are checked against a strict
pattern, the stored hash and the bytes themselves, and no path or file name from the client is used. Files are
bounded in size and number, and deleted once used, cancelled or expired.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

UPLOAD_TTL = timedelta(hours=2)
MAX_STAGED = 50  # pending files kept at most; the oldest go first
_ID = re.compile(r"[A-Za-z0-9_-]{32}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StagedUpload:
    """One kept file: its id and hash (what the confirm form carries back), bytes and what came with it."""

    id: str
    digest: str
    filename: str
    owner: int
    fields: dict[str, str]
    staged_at: datetime
    data: bytes


class UploadStore:
    """The folder of files waiting for confirmation; every method is safe against ids sent by a client."""

    def __init__(self, directory: Path, *, max_bytes: int, ttl: timedelta = UPLOAD_TTL,
                 max_files: int = MAX_STAGED) -> None:
        self.directory, self.max_bytes, self.ttl, self.max_files = directory, max_bytes, ttl, max_files

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        return self.directory / f"{upload_id}.bin", self.directory / f"{upload_id}.json"

    def stage(self, *, data: bytes, filename: str, owner: int, fields: dict[str, str], now: datetime) -> StagedUpload:
        """Keep `data` until it is confirmed; return its id and hash. Expired and surplus files are removed first."""
        if len(data) > self.max_bytes:
            raise ValueError(f"upload of {len(data)} bytes exceeds {self.max_bytes}")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.purge(now=now, room_for=1)
        upload_id = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]
        digest = hashlib.sha256(data).hexdigest()
        meta = {"filename": filename, "sha256": digest, "owner": owner, "fields": fields,
                "staged_at": now.isoformat(), "size": len(data)}
        bin_path, meta_path = self._paths(upload_id)
        _write_new(bin_path, data)
        _write_new(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        return StagedUpload(upload_id, digest, filename, owner, fields, now, data)

    def load(self, *, upload_id: str, digest: str, owner: int, now: datetime) -> StagedUpload | None:
        """Return the kept file when id, hash and owner match and it has not expired; None otherwise."""
        if not _ID.fullmatch(upload_id) or not _DIGEST.fullmatch(digest):
            return None
        meta = self._meta(upload_id)
        if meta is None or meta.get("sha256") != digest or meta.get("owner") != owner:
            return None
        staged_at = datetime.fromisoformat(str(meta["staged_at"]))
        if not staged_at <= now < staged_at + self.ttl:
            self.discard(upload_id)
            return None
        try:
            data = self._paths(upload_id)[0].read_bytes()
        except OSError:
            return None
        if len(data) > self.max_bytes or hashlib.sha256(data).hexdigest() != digest:
            return None
        fields = {str(k): str(v) for k, v in dict(meta.get("fields") or {}).items()}
        return StagedUpload(upload_id, digest, str(meta.get("filename", "")), owner, fields, staged_at, data)

    def discard(self, upload_id: str) -> None:
        """Delete a kept file (nothing happens for an unknown or malformed id)."""
        if not _ID.fullmatch(upload_id):
            return
        for path in self._paths(upload_id):
            path.unlink(missing_ok=True)

    def purge(self, *, now: datetime, room_for: int = 0) -> int:
        """Delete expired files, stray halves, and the oldest beyond the limit; return how many were deleted."""
        if not self.directory.is_dir():
            return 0
        ids = {p.stem for p in self.directory.iterdir() if p.suffix in (".bin", ".json") and _ID.fullmatch(p.stem)}
        ages: list[tuple[datetime, str]] = []
        removed = 0
        for upload_id in sorted(ids):
            meta = self._meta(upload_id)
            staged_at = _staged_at(meta) if meta else None
            if staged_at is None or not self._paths(upload_id)[0].exists() or staged_at + self.ttl <= now:
                if staged_at is None and self._young(upload_id, now):
                    continue  # a file being written right now
                self.discard(upload_id)
                removed += 1
            else:
                ages.append((staged_at, upload_id))
        for _, upload_id in sorted(ages)[: max(0, len(ages) + room_for - self.max_files)]:
            self.discard(upload_id)
            removed += 1
        return removed

    def _meta(self, upload_id: str) -> dict[str, Any] | None:
        try:
            meta = json.loads(self._paths(upload_id)[1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _young(self, upload_id: str, now: datetime) -> bool:
        """Tell whether a half-written pair is younger than a minute (by file time)."""
        times = []
        for path in self._paths(upload_id):
            with contextlib.suppress(OSError):
                times.append(path.stat().st_mtime)
        return bool(times) and now.timestamp() - max(times) < 60


def _staged_at(meta: dict[str, Any]) -> datetime | None:
    try:
        staged_at = datetime.fromisoformat(str(meta["staged_at"]))
    except (KeyError, ValueError):
        return None
    return staged_at if staged_at.tzinfo is not None else None


def _write_new(path: Path, data: bytes) -> None:
    """Write a new file readable by the service only; never follow or overwrite an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
