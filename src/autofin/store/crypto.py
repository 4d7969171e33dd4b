"""Field encryption for personal data at rest (AES-256-GCM) and masking for logs and roles.

**Blob format** (``personal_data`` column): ``b"AF1"`` · one byte *n* · the key id (*n* ASCII bytes) ·
a random 96-bit nonce · AES-GCM ciphertext with its 128-bit tag. The key id is the first 16 hex digits
of SHA-256 of the key, so keys rotate without bookkeeping: encrypt with the newest key, decrypt with any
key still in the :class:`KeyRing`. Associated data binds a blob to its row (the idempotency key), so a
blob copied onto another row does not decrypt.

**Where the key comes from** (:func:`load_keyring`): the environment variable ``AUTOFIN_SECRET_KEY`` —
base64 of 32 random bytes; several keys separated by commas, the first encrypts, all decrypt (rotation).
Without it, and only for a SQLite file, a key file ``<database>.key`` is created beside the database
with permissions 0600 on first use. That embedded default keeps personal data unreadable in a copied or
leaked database file, a backup of the file alone or an SQL dump, but not from someone who can read the
directory (the key sits next to the data). Production sets ``AUTOFIN_SECRET_KEY`` from a secret store;
PostgreSQL without it is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from autofin.errors import AutofinError, ValidationError, from_pydantic

#: Environment variable with the base64 key (or comma-separated keys, newest first).
SECRET_KEY_ENV = "AUTOFIN_SECRET_KEY"
#: Magic prefix of an encrypted blob (format version 1).
MAGIC = b"AF1"
KEY_BYTES = 32
NONCE_BYTES = 12


class DecryptionError(AutofinError):
    """Encrypted data cannot be read: its key is not in the key ring, or the key or data is wrong."""


class IncomeDocument(BaseModel):
    """One income document: ``kind`` (``payslip``, ``tax_return``, ``bank_statement``, …), the issuer,
    a reference (document number or storage key) and the monthly amount it shows, in the application's
    currency (a decimal, kept exact)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Annotated[str, Field(min_length=1, max_length=40)]
    issuer: Annotated[str, Field(max_length=200)] = ""
    reference: Annotated[str, Field(max_length=200)] = ""
    monthly_amount: Decimal | None = None


class PersonalData(BaseModel):
    """The identifying part of an application, stored only encrypted. ``repr`` hides the identifiers;
    use :func:`mask_national_id` and :func:`mask_phone` to show them to people who may see a hint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    national_id: Annotated[str, Field(min_length=1, max_length=64, repr=False)]
    name: Annotated[str, Field(min_length=1, max_length=200, repr=False)]
    phone: Annotated[str, Field(max_length=32, repr=False)] = ""
    income_documents: tuple[IncomeDocument, ...] = ()

    def to_bytes(self) -> bytes:
        """Canonical UTF-8 JSON (sorted keys, money as strings)."""
        text = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return text.encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PersonalData:
        try:
            return cls.model_validate_json(data)
        except PydanticValidationError as exc:
            raise from_pydantic(exc) from None


def key_id(key: bytes) -> str:
    """The id of a key: the first 16 hex digits of its SHA-256 (safe to store and to log)."""
    return hashlib.sha256(key).hexdigest()[:16]


def parse_key(text: str, source: str = SECRET_KEY_ENV) -> bytes:
    """A 32-byte key from its base64 text (standard or URL-safe alphabet)."""
    raw = text.strip()
    try:
        key = base64.b64decode(raw.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(source, "<hidden>", "must be base64 of 32 random bytes") from None
    if len(key) != KEY_BYTES:
        raise ValidationError(source, f"<{len(key)} bytes>", "must be base64 of exactly 32 bytes")
    return key


def generate_key() -> str:
    """A new random key as base64 text (what ``AUTOFIN_SECRET_KEY`` holds)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass(frozen=True)
class KeyRing:
    """Keys by id: ``primary`` encrypts, every key decrypts."""

    primary: bytes
    others: tuple[bytes, ...] = ()
    _by_id: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.primary) != KEY_BYTES or any(len(k) != KEY_BYTES for k in self.others):
            raise ValidationError(SECRET_KEY_ENV, "<hidden>", "every key must be 32 bytes")
        object.__setattr__(self, "_by_id", {key_id(k): k for k in (self.primary, *self.others)})

    @property
    def primary_id(self) -> str:
        return key_id(self.primary)

    def key(self, kid: str) -> bytes | None:
        return self._by_id.get(kid)

    def __repr__(self) -> str:
        return f"KeyRing(primary={self.primary_id}, ids={sorted(self._by_id)})"


def encrypt(keys: KeyRing, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Encrypt with the primary key and a fresh random nonce (see the module docstring for the format)."""
    kid = keys.primary_id.encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.primary).encrypt(nonce, plaintext, associated_data)
    return MAGIC + bytes([len(kid)]) + kid + nonce + sealed


def blob_key_id(blob: bytes) -> str:
    """The key id an encrypted blob names."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1:
        raise DecryptionError("personal_data", f"<{len(blob)} bytes>", "is not an autofin encrypted blob")
    n = blob[len(MAGIC)]
    return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + n].decode("ascii", errors="replace")


def decrypt(keys: KeyRing, blob: bytes, associated_data: bytes = b"") -> bytes:
    """Decrypt a blob made by :func:`encrypt`; :class:`DecryptionError` names the key id when the key is
    missing, or says the key or data is wrong when authentication fails."""
    kid = blob_key_id(blob)
    key = keys.key(kid)
    if key is None:
        raise DecryptionError(
            "personal_data", kid, f"was encrypted with a key that is not in the key ring ({SECRET_KEY_ENV})"
        )
    start = len(MAGIC) + 1 + len(kid)
    nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, associated_data)
    except InvalidTag:
        raise DecryptionError(
            "personal_data", kid, "failed authentication: wrong key, or the data was altered or moved"
        ) from None


def keyring_from_text(text: str, source: str = SECRET_KEY_ENV) -> KeyRing:
    """A key ring from comma-separated base64 keys, newest (encrypting) first."""
    keys = [parse_key(part, source) for part in text.split(",") if part.strip()]
    if not keys:
        raise ValidationError(source, "", "must hold at least one base64 key")
    return KeyRing(keys[0], tuple(keys[1:]))


def key_file_for(database: Path) -> Path:
    """Where the embedded default keeps the key of a SQLite database: ``<database>.key``."""
    return database.with_name(database.name + ".key")


def load_or_create_key_file(path: Path) -> KeyRing:
    """Read the key file at ``path``, creating it (mode 0600, atomically) if it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".autofin-key-", dir=path.parent)  # mkstemp creates it 0600
        try:
            os.write(fd, (generate_key() + "\n").encode())
            os.fsync(fd)
            os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process created it first: keep theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return keyring_from_text(path.read_text(encoding="ascii"), source=str(path))


def load_keyring(database: Path | None) -> KeyRing:
    """The key ring: from ``AUTOFIN_SECRET_KEY`` if set; else the key file beside the SQLite database
    file ``database``; with neither (PostgreSQL, in-memory SQLite) a :class:`ValidationError`."""
    text = os.environ.get(SECRET_KEY_ENV, "").strip()
    if text:
        return keyring_from_text(text)
    if database is None:
        raise ValidationError(
            SECRET_KEY_ENV, "", "must be set (base64 of 32 bytes) unless the database is a SQLite file"
        )
    return load_or_create_key_file(key_file_for(database))


def mask_national_id(national_id: str) -> str:
    """All but the last four characters replaced by ``*`` (``110101199003071234`` → ``**************1234``);
    ids of four characters or fewer are masked completely."""
    text = national_id.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def mask_phone(phone: str) -> str:
    """The first three and last four digits kept, the rest ``*`` (``13812345678`` → ``138****5678``);
    separators and a leading ``+`` are kept; numbers with fewer than eight digits keep the last two."""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    keep: set[int] = set(digits[:3] + digits[-4:]) if len(digits) >= 8 else set(digits[-2:])
    return "".join("*" if (ch.isdigit() and i not in keep) else ch for i, ch in enumerate(phone))
