"""Personal data at rest: encrypted in the table, round-trips, refuses the wrong key; masking."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from store_support import PERSONAL

from autofin.decision.application import Application
from autofin.errors import ValidationError
from autofin.store import repository
from autofin.store.crypto import (
    DecryptionError,
    KeyRing,
    decrypt,
    encrypt,
    key_file_for,
    key_id,
    load_keyring,
    mask_national_id,
    mask_phone,
)


def _submit(sessions: sessionmaker[Session], application: Application, keys: KeyRing | None) -> str:
    with sessions() as s:
        row, _ = repository.submit_application(
            s, idempotency_key="pii", dealer_id="d-1", application=application, personal=PERSONAL, keys=keys
        )
    return row.id


def test_personal_data_is_not_readable_in_the_raw_table(
    engine: Engine, sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    row_id = _submit(sessions, application, keys)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT * FROM applications")).one()
    everything = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in raw)
    for secret in (PERSONAL.national_id, PERSONAL.phone, PERSONAL.name, "Shanghai Example Co."):
        assert secret.encode() not in everything
    assert PERSONAL.national_id[-8:].encode() not in everything
    with sessions() as s:
        row = repository.get_application(s, row_id)
        assert row is not None
        assert row.personal_data.startswith(b"AF1")
        assert repository.read_personal(row, keys) == PERSONAL


def test_wrong_key_is_a_clear_error(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    row_id = _submit(sessions, application, keys)
    with sessions() as s:
        row = repository.get_application(s, row_id)
    assert row is not None
    with pytest.raises(DecryptionError, match="not in the key ring") as err:
        repository.read_personal(row, KeyRing(os.urandom(32)))
    assert err.value.field == "personal_data"
    assert err.value.value == keys.primary_id
    # Same key id but altered ciphertext (or a blob moved to another row): authentication fails.
    tampered = row.personal_data[:-1] + bytes([row.personal_data[-1] ^ 1])
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(keys, tampered, b"autofin.applications.personal_data:pii")
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(keys, row.personal_data, b"autofin.applications.personal_data:other-row")


def test_rotation_old_keys_still_decrypt() -> None:
    old, new = os.urandom(32), os.urandom(32)
    blob = encrypt(KeyRing(old), b"secret")
    assert decrypt(KeyRing(new, (old,)), blob) == b"secret"
    assert encrypt(KeyRing(new, (old,)), b"x")[4 : 4 + 16] == key_id(new).encode()
    assert encrypt(KeyRing(old), b"secret") != blob  # fresh nonce every time


def test_key_from_env_and_from_a_0600_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTOFIN_SECRET_KEY", raising=False)
    db = tmp_path / "autofin.db"
    ring = load_keyring(db)
    path = key_file_for(db)
    assert path == tmp_path / "autofin.db.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(db).primary == ring.primary  # created once, then read
    with pytest.raises(ValidationError, match="AUTOFIN_SECRET_KEY"):
        load_keyring(None)  # PostgreSQL / in-memory: no silent default
    key = os.urandom(32)
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", base64.b64encode(key).decode())
    assert load_keyring(None).primary == key
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", base64.b64encode(b"short").decode())
    with pytest.raises(ValidationError, match="32 bytes"):
        load_keyring(None)
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", "not base64 !!")
    with pytest.raises(ValidationError, match="base64"):
        load_keyring(None)


def test_default_keys_come_from_env_or_key_file(
    db_url: str, sessions: sessionmaker[Session], secret_env: KeyRing, application: Application
) -> None:
    row_id = _submit(sessions, application, None)
    with sessions() as s:
        row = repository.get_application(s, row_id)
        assert row is not None
        assert repository.read_personal(row, secret_env) == PERSONAL


def test_masks() -> None:
    assert mask_national_id("110101199003071234") == "**************1234"
    assert mask_national_id("123") == "***"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "+86 1**-****-5678"  # a country code counts as digits
    assert mask_phone("12345") == "***45"
    assert "110101199003071234" not in repr(PERSONAL)
    assert "13812345678" not in repr(PERSONAL)
