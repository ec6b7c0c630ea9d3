#!/usr/bin/env python3
"""Verify a Coachdesk audit export offline, with the standard library only.

    python3 tools/verify_audit_export.py --public-key HEX audit-12.jsonl.gz [--checkpoints checkpoints.jsonl]

Checks the manifest's Ed25519 signature (RFC 8032, implemented below) against the public key you
trust (`flask audit public-key`), the file's SHA-256 and row count against the manifest, each
JSONL row's hash (the canonical text the line holds) and, given the checkpoint file, each
checkpoint's signature and that every checkpoint head inside the export's id span has the hash
the file holds for it. Exit 0 when everything verifies, 1 with the reasons otherwise.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys
from pathlib import Path

# --- Ed25519 verification (RFC 8032, section 5.1.7) ---------------------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a: tuple, b: tuple) -> tuple:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    cc, dd = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % P, g * h % P, f * g % P, e * h % P


def _mul(s: int, point: tuple) -> tuple:
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, point)
        point = _add(point, point)
        s >>= 1
    return q


def _equal(a: tuple, b: tuple) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(s: bytes) -> tuple | None:
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


G_Y = 4 * pow(5, P - 2, P) % P
G = (_recover_x(G_Y, 0), G_Y, 1, _recover_x(G_Y, 0) * G_Y % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


# --- Coachdesk files ---------------------------------------------------------------------------
def canonical_json(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signed_ok(body: dict, public: bytes) -> bool:
    if body.get("key_id") != hashlib.sha256(public).hexdigest()[:16]:
        return False
    try:
        signature = base64.b64decode(body.get("signature") or "", validate=True)
    except ValueError:
        return False
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return ed25519_verify(public, canonical_json(unsigned), signature)


def manifest_of(path: Path) -> Path:
    if path.name.endswith(".manifest.json"):
        return path
    return path.with_name(path.name.split(".", 1)[0] + ".manifest.json")


def verify(path: Path, public: bytes, checkpoints: Path | None = None) -> list[str]:
    """The reasons the export does not verify (empty: it does)."""
    problems: list[str] = []
    manifest_path = manifest_of(path)
    body = json.loads(manifest_path.read_text())
    if not signed_ok(body, public):
        problems.append(f"{manifest_path.name}: the signature does not verify with the given public key")
    data = manifest_path.parent / body["file"]
    raw = data.read_bytes()
    if hashlib.sha256(raw).hexdigest() != body.get("sha256"):
        problems.append(f"{data.name}: SHA-256 does not match the manifest")
    hashes: dict[int, str] = {}
    if body.get("format") == "jsonl":
        lines = [line for line in gzip.decompress(raw).split(b"\n") if line]
        for line in lines:
            row = json.loads(line)
            # The line is {"id":..,"row_hash":"..", then the canonical text the hash covers.
            head = b'{"id":' + str(row["id"]).encode() + b',"row_hash":' + json.dumps(row["row_hash"]).encode() + b","
            if not line.startswith(head) or hashlib.sha256(b"{" + line[len(head) :]).hexdigest() != row["row_hash"]:
                problems.append(f"row {row['id']}: content does not match its hash")
            hashes[row["id"]] = row["row_hash"]
        count = len(lines)
    else:
        count = max(raw.decode().count("\n") - 1, 0)
    if count != body.get("rows"):
        problems.append(f"{data.name}: {count} rows, the manifest says {body.get('rows')}")
    if body.get("chain_verified") is not True:
        problems.append(f"the chain did not verify when exported: {body.get('chain_problem')}")
    if checkpoints is not None:
        for line in checkpoints.read_text().splitlines():
            if not line.strip():
                continue
            cp = json.loads(line)
            if not signed_ok(cp, public):
                problems.append(f"checkpoint at head id {cp.get('head_id')}: bad signature")
            elif cp.get("head_id") in hashes and hashes[cp["head_id"]] != cp.get("head_hash"):
                problems.append(f"row {cp['head_id']}: not the hash its signed checkpoint holds")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="the export file or its .manifest.json")
    parser.add_argument("--public-key", required=True, help="public key, hex (flask audit public-key)")
    parser.add_argument("--checkpoints", type=Path, help="instance/audit-checkpoints/checkpoints.jsonl")
    args = parser.parse_args(argv)
    problems = verify(args.file, bytes.fromhex(args.public_key), args.checkpoints)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if not problems:
        print("OK: signature, SHA-256, rows" + (", checkpoints" if args.checkpoints else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
