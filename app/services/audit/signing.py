"""The audit signing key: Ed25519, kept outside the database (config PEM, a key file, or instance/).

Checkpoints and export manifests are signed with it; whoever can rewrite the database cannot
forge them without the key. The public key (and its id, a digest of it) verifies them offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app


def canonical_json(body: dict[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, ASCII (tools/verify_audit_export.py does the same)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def private_key() -> Ed25519PrivateKey:
    """The configured key: ``AUDIT_SIGNING_KEY`` (PEM), else ``AUDIT_SIGNING_KEY_FILE`` (made 0600 on first use)."""
    pem = current_app.config.get("AUDIT_SIGNING_KEY")
    if pem:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("AUDIT_SIGNING_KEY: not an Ed25519 private key")
        return key
    return _load_or_create(Path(current_app.config["AUDIT_SIGNING_KEY_FILE"]))


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def public_key_hex() -> str:
    return public_raw(private_key().public_key()).hex()


def sign(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``key_id`` and ``signature`` (base64 of Ed25519 over the canonical JSON without it)."""
    key = private_key()
    signed = {k: v for k, v in body.items() if k != "signature"}
    signed["key_id"] = key_id(public_raw(key.public_key()))
    signed["signature"] = base64.b64encode(key.sign(canonical_json(signed))).decode()
    return signed


def verify(body: dict[str, Any], public_hex: str | None = None) -> bool:
    """Whether ``body``'s signature is good for ``public_hex`` (default: the configured key's)."""
    raw = bytes.fromhex(public_hex) if public_hex else public_raw(private_key().public_key())
    signature = body.get("signature")
    if not isinstance(signature, str) or body.get("key_id") != key_id(raw):
        return False
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature), canonical_json(unsigned))
    except (InvalidSignature, ValueError):
        return False
    return True
