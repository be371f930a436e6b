"""Find secrets where they must never be: logs, ansible-runner artifacts, events, status, our output.

The scanner knows every password the suite has seen (`SecretBook`) and the mysql_native_password
hash of every account it has seen on the server, so it also finds a password that never reached a
Secret (generated, set on the server, then the operator was killed). Text is cut into tokens of
password characters, and base64 runs are decoded and cut again, so a password is found plain, inside
a URI, or inside a base64-encoded Secret `data` map. Reports name the secret and the place, never the
value.

Files are read whole: a big one (the operator's log) in chunks that overlap by far more than any secret
or its base64 form is long, so that a secret across a chunk boundary is still found in one chunk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Generated passwords and the admin password (URL-safe base64) are both [A-Za-z0-9_-].
PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,}")
# base64 of anything that holds a secret of 30+ characters has 40+ characters.
BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
NATIVE_HASHED_LENGTH = 32  # generated passwords: the only secrets known by their server hash alone
CHUNK_BYTES = 16 * 1024 * 1024
OVERLAP_BYTES = 64 * 1024  # secrets are under 1 KiB, their base64 and JSON-escaped forms a few times that


def _chunks(path: Path) -> Iterator[bytes]:
    """The whole file, in chunks of CHUNK_BYTES new bytes, each after the last OVERLAP_BYTES of the one
    before. Nothing when the file is gone (artifact rotation) or unreadable."""
    chunk, overlap = CHUNK_BYTES, OVERLAP_BYTES
    try:
        with path.open("rb") as handle:
            tail = b""
            while True:
                block = handle.read(chunk)
                if not block:
                    return
                yield tail + block
                tail = (tail + block)[-overlap:]
    except OSError:
        return


def _read(path: Path) -> str:
    """A small file, whole; '' when it is gone or unreadable."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def native_password_hash(password: str) -> str:
    """MySQL's mysql_native_password form: '*' + upper(hex(sha1(sha1(password))))."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 - the server's own format
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324 - the server's own format


@dataclass
class SecretBook:
    """Every secret value the run has seen, each with a label that is safe to print."""

    values: dict[str, str] = field(default_factory=dict)  # value -> label
    hashes: dict[str, str] = field(default_factory=dict)  # native hash -> label
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, label: str, value: str) -> None:
        if not value:
            return
        with self._lock:
            label = self.values.setdefault(value, label)
            # The server's hash of a known password names the same secret, not a second one.
            self.hashes[native_password_hash(value)] = label

    def add_hash(self, label: str, native_hash: str) -> None:
        if native_hash and native_hash.startswith("*"):
            with self._lock:
                self.hashes.setdefault(native_hash.upper(), label)

    def labels_for(self, prefix: str) -> int:
        """How many secrets carry a label starting with `prefix` (to number the next one)."""
        with self._lock:
            return sum(1 for label in self.values.values() if label.startswith(prefix))


@dataclass
class LeakScanner:
    """Accumulates findings over many texts and files: label -> places."""

    book: SecretBook
    findings: dict[str, set[str]] = field(default_factory=dict)
    _verdicts: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _known: tuple[int, int] = (-1, -1)  # book sizes the cached verdicts were computed for
    _lengths: tuple[int, ...] = ()  # distinct lengths of the known secrets
    _shortest: int = NATIVE_HASHED_LENGTH
    texts_scanned: int = 0
    bytes_scanned: int = 0

    def scan_text(self, where: str, text: str) -> None:
        for label in self._labels_in(text):
            self.findings.setdefault(label, set()).add(where)

    def _labels_in(self, text: str) -> set[str]:
        self.texts_scanned += 1
        self.bytes_scanned += len(text)
        self._refresh()
        labels: set[str] = set()
        for token in set(PLAIN_TOKEN.findall(text)):
            if len(token) >= self._shortest:
                labels |= self._plain(token)
        for token in set(BASE64_TOKEN.findall(text)):
            labels |= self._encoded(token)
        return labels

    def scan_file(self, path: Path, where: str | None = None) -> None:
        for block in _chunks(path):
            self.scan_text(where or str(path), block.decode("utf-8", errors="replace"))

    def scan_tree(self, root: Path, label_root: Path | None = None) -> int:
        """Scan every regular file under root. Small files a folder at a time (ansible-runner writes many
        of them), and only a folder with a finding file by file again to name the files; a big file on its
        own, in chunks."""
        folders: dict[Path, list[Path]] = {}
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file() and not path.is_symlink():
                folders.setdefault(path.parent, []).append(path)
        for files in folders.values():
            small = [path for path in files if _size(path) < CHUNK_BYTES]
            for path in files:
                if path not in small:
                    self.scan_file(path, str(path.relative_to(label_root) if label_root else path))
            if self._labels_in("\n".join(_read(path) for path in small)):
                for path in small:
                    self.scan_text(str(path.relative_to(label_root) if label_root else path), _read(path))
        return sum(len(files) for files in folders.values())

    def _plain(self, token: str) -> frozenset[str]:
        return self._verdict(token, self._plain_labels, token)

    def _verdict(self, key: str, labels: Callable[[str], Iterable[str]], token: str) -> frozenset[str]:
        """The labels of `token`, worked out once per `key` while the known secrets stay the same."""
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = frozenset(labels(token))
            self._verdicts[key] = verdict
        return verdict

    def _plain_labels(self, token: str) -> Iterable[str]:
        # Every window of each secret length: a secret glued to other characters is found too.
        values = self.book.values
        for length in self._lengths:
            for start in range(len(token) - length + 1):
                label = values.get(token[start : start + length])
                if label:
                    yield label
        for run in re.findall(rf"[A-Za-z0-9_\-]{{{NATIVE_HASHED_LENGTH},}}", token):
            for start in range(len(run) - NATIVE_HASHED_LENGTH + 1):
                label = self.book.hashes.get(native_password_hash(run[start : start + NATIVE_HASHED_LENGTH]))
                if label:
                    yield label

    def _refresh(self) -> None:
        """Cached verdicts hold only for the secrets known when they were made."""
        known = (len(self.book.values), len(self.book.hashes))
        if known != self._known:
            self._verdicts.clear()
            self._known = known
            self._lengths = tuple(sorted({len(value) for value in self.book.values}))
            self._shortest = min((*self._lengths, NATIVE_HASHED_LENGTH))

    def _encoded(self, token: str) -> frozenset[str]:
        return self._verdict("b64:" + token, self._encoded_labels, token)

    def _encoded_labels(self, token: str) -> Iterable[str]:
        bare = token.rstrip("=")
        for offset in range(4):
            part = bare[offset:]
            part = part[: len(part) - len(part) % 4] if len(part) % 4 == 1 else part
            try:
                decoded = base64.b64decode(part + "=" * (-len(part) % 4)).decode("latin-1")
            except (binascii.Error, ValueError):
                continue
            for inner in set(PLAIN_TOKEN.findall(decoded)):
                if len(inner) >= self._shortest:
                    yield from self._plain(inner)
