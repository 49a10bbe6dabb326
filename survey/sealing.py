"""Waiting answers are stored sealed: encrypted under a key derived from the service's secret.

An acknowledged answer waits in `response_intake` until its release (survey/store.py). Everything
the answer says (unit, month, language, background, goal answers, free text) is one AES-GCM
blob there; only the survey and its version stay in clear, which the release needs to batch by
survey and the designer needs to freeze a version that has answers. So the SQLite WAL,
PostgreSQL's `pg_wal`, dead row versions and backups taken before a release hold ciphertext for a
waiting answer, never its text.

The plaintext is padded to a multiple of `PAD` bytes before it is encrypted, so that the length
of the ciphertext (kept in dead rows and old WAL frames after the release) does not point at the
released answer with the same length of free text.

The key is HKDF-SHA256 of YOUTHVOICE_SECRET_KEY (or the generated key under ./var), with its own
label: nothing else the secret signs can open an answer, and an operator without the secret key
reads only ciphertext. Whoever has the files *and* the secret key can open waiting answers
(docs/anonymity.md says what that still shows).
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from youthvoice.config import Settings

VERSION = b"\x01"
PAD = 1024  # bytes: every answer up to ~1 kB of JSON has the same ciphertext length
LABEL = b"youthvoice response_intake v1"


class Unreadable(ValueError):
    """A sealed answer that this key cannot open (another installation's key, or damaged)."""


def intake_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=LABEL).derive(secret.encode())


class Sealer:
    def __init__(self, secret: str):
        self._aead = AESGCM(intake_key(secret))

    @staticmethod
    def _aad(row_id: str, survey_id: int, version_id: int) -> bytes:
        # The clear columns are bound to the ciphertext: a blob moved to another row or survey fails.
        return f"{row_id}|{survey_id}|{version_id}".encode()

    def seal(self, row_id: str, survey_id: int, version_id: int, fields: dict[str, Any]) -> bytes:
        data = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
        data += b" " * (-len(data) % PAD)  # JSON ignores trailing white space
        nonce = os.urandom(12)
        return VERSION + nonce + self._aead.encrypt(nonce, data, self._aad(row_id, survey_id, version_id))

    def open(self, row_id: str, survey_id: int, version_id: int, blob: bytes) -> dict[str, Any]:
        blob = bytes(blob)
        if blob[:1] != VERSION or len(blob) < 13 + 16:
            raise Unreadable(f"waiting answer {row_id}: unknown format")
        try:
            data = self._aead.decrypt(blob[1:13], blob[13:], self._aad(row_id, survey_id, version_id))
        except InvalidTag:
            raise Unreadable(f"waiting answer {row_id}: the secret key does not open it") from None
        return json.loads(data)


# The sealer of each database, bound where an engine is made from settings (app start-up, publish).
# Keyed by the database the engine opens, not the engine object: sessions run on derived engines
# (execution options) and the writer on its own plain SQLite engine.
_BOUND: dict[tuple, Sealer] = {}


def _database_of(engine: Any) -> tuple:
    url = getattr(engine, "sync_engine", engine).url
    return (url.get_backend_name(), url.host, url.port, url.database)


def bind(engine: Any, secret: str) -> Sealer:
    """Ties `secret`'s sealer to the database of `engine` (an AsyncEngine or Engine) for the release."""
    sealer = Sealer(secret)
    _BOUND[_database_of(engine)] = sealer
    return sealer


def sealer_of(conn: Any) -> Sealer:
    """The sealer bound to the database of a Connection or Session; else the key of the settings from
    the environment (the command line's, the same as the server's)."""
    bind_ = conn.get_bind() if hasattr(conn, "get_bind") else conn
    engine = getattr(bind_, "engine", bind_)
    sealer = _BOUND.get(_database_of(engine))
    if sealer is None:
        sealer = bind(engine, Settings.from_env().secret_key)
    return sealer
