"""Signed checkpoints of the audit chain (Ed25519), and verifying the chain against them.

The hash chain in :mod:`lamworks.audit` catches a row edited, removed or moved by someone who does
not recompute it; someone who can write the data folder can recompute it, and its heads. So the
head (sequence number, hash, time) is signed with an Ed25519 private key that lives *outside* the
data folder (``[audit] signing_key_file`` or ``signing_key_env``): at the first row written with
the key and every ``checkpoint_every`` rows (in the row's own transaction), and when the log
closes. Checkpoints go to the ``audit_checkpoint`` table (append-only, like the audit table); each
also signs the sequence number of the checkpoint before it, so a removed checkpoint breaks the
links.

:func:`verify_checkpoints` checks, with the public key only: the chain; every checkpoint's
signature and links; that each checkpoint's (seq, hash) is still the chain's row; that the chain
was not cut below the latest checkpoint; that no row due a periodic checkpoint lacks one; and
that anchored checkpoints (kept elsewhere: ``lamworks audit checkpoint > anchor.json``) are still
in the chain. What it cannot see in-band: someone who removes the newest checkpoints and rewrites
only the rows after the latest one left, staying short of the next periodic checkpoint; an anchor
held outside this machine closes that window (the Certificate Transparency idea, RFC 6962).

Key formats: a private key is PKCS#8 PEM (``lamworks audit keygen`` writes one) or the raw 32-byte
seed in base64; a public key is SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``, the
``.pub`` file keygen writes) or the raw 32-byte key in base64.

What does not live here: the chain itself (:mod:`lamworks.audit`) and the command line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ._canonical import canonical_json
from .database import Location, Store, opened
from .errors import AuditError, ConfigError, StoreError

if TYPE_CHECKING:
    from .audit import AuditLog, VerifyResult
    from .config import InstitutionConfig

__all__ = [
    "CHAIN_LOCK",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_SCHEMA",
    "AuditCheckpoint",
    "CheckpointReport",
    "CheckpointSigner",
    "checkpoint_if_due",
    "key_id",
    "load_private_key",
    "load_public_key",
    "read_checkpoints",
    "sign_head",
    "verify_checkpoints",
    "write_checkpoint",
    "write_key_pair",
]

CHECKPOINT_FORMAT = "lamworks-audit-checkpoint/1"

CHECKPOINT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_checkpoint (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    time      TEXT NOT NULL,
    every     INTEGER NOT NULL,
    prev_seq  INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
"""

CHAIN_LOCK = 1
"""The lock every writer of the audit chain or its checkpoints takes: on PostgreSQL
``pg_advisory_xact_lock(NAMESPACE, CHAIN_LOCK)`` (see :mod:`lamworks.audit` for why an advisory
lock); on SQLite the file's write lock is taken anyway."""

_SIGNED_FIELDS = ("seq", "hash", "time", "every", "prev_seq", "key_id")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class AuditCheckpoint:
    """A signed head of the audit chain: row ``seq`` had hash ``hash`` at ``time``.

    ``every`` is the signing interval in force, ``prev_seq`` the row of the checkpoint before this
    one (0 for the first), ``key_id`` the signing key's fingerprint; all of them are signed.
    """

    seq: int
    hash: str
    time: str
    every: int
    prev_seq: int
    key_id: str
    signature: str

    def payload(self) -> bytes:
        """The exact bytes signed: a format line, then the canonical JSON of the signed fields."""
        signed = {name: getattr(self, name) for name in _SIGNED_FIELDS}
        return f"{CHECKPOINT_FORMAT}\n{canonical_json(signed)}".encode()

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        """Whether ``public_key`` made this signature over these fields."""
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), self.payload())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as a JSON object, to anchor elsewhere (``lamworks audit checkpoint``)."""
        return {"format": CHECKPOINT_FORMAT,
                **{name: getattr(self, name) for name in (*_SIGNED_FIELDS, "signature")}}

    @classmethod
    def from_json(cls, data: Any) -> AuditCheckpoint:
        """Read :meth:`to_json`'s object back; ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not an audit checkpoint (expected \"format\": "
                             f"\"{CHECKPOINT_FORMAT}\")")
        try:
            return cls(seq=int(data["seq"]), hash=str(data["hash"]), time=str(data["time"]),
                       every=int(data["every"]), prev_seq=int(data["prev_seq"]),
                       key_id=str(data["key_id"]), signature=str(data["signature"]))
        except KeyError as exc:
            raise ValueError(f"the checkpoint has no {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the checkpoint has a malformed field: {exc}") from None


class CheckpointSigner:
    """Signs heads of the audit chain with an Ed25519 private key kept outside the data folder.

    Give one to :class:`~lamworks.AuditLog` (``AuditLog(path, signer=...)``): it signs every
    ``every`` rows and when the log closes. :meth:`from_config` builds it from ``[audit]``.
    """

    def __init__(self, private_key: Ed25519PrivateKey, *, every: int = 100) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self._private_key = private_key
        self.every = every
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, seq: int, row_hash: str, *, prev_seq: int) -> AuditCheckpoint:
        """A checkpoint for row ``seq`` with hash ``row_hash``, signed now."""
        unsigned = AuditCheckpoint(seq=seq, hash=row_hash,
                                   time=datetime.now(UTC).isoformat(timespec="seconds"),
                                   every=self.every, prev_seq=prev_seq, key_id=self.key_id,
                                   signature="")
        signature = base64.b64encode(self._private_key.sign(unsigned.payload())).decode("ascii")
        return replace(unsigned, signature=signature)

    @classmethod
    def from_config(cls, config: InstitutionConfig) -> CheckpointSigner | None:
        """The signer ``[audit]`` describes, or None when no key is configured.

        Raises :class:`~lamworks.ConfigError` naming the key when the key file cannot be read,
        the environment variable is unset, or what they hold is not an Ed25519 private key.
        """
        audit = config.audit
        shown = str(config.source) if config.source else None
        if audit.signing_key_file is not None:
            where, key = str(audit.signing_key_file), "audit.signing_key_file"
            try:
                text = audit.signing_key_file.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read the audit signing key {where}: "
                                  f"{exc.strerror or exc}", path=shown, key=key) from None
        elif audit.signing_key_env is not None:
            where, key = f"${audit.signing_key_env}", "audit.signing_key_env"
            value = os.environ.get(audit.signing_key_env, "")
            if not value.strip():
                raise ConfigError(f"the environment variable {audit.signing_key_env} is not set "
                                  "(it should hold the audit signing key)", path=shown, key=key)
            text = value.encode("utf-8")
        else:
            return None
        try:
            private_key = load_private_key(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}", path=shown, key=key) from None
        return cls(private_key, every=audit.checkpoint_every)


def load_private_key(data: bytes | str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM or a base64 raw 32-byte seed (never echoed)."""
    raw = (data.encode("utf-8") if isinstance(data, str) else data).strip()
    if raw.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("not a readable unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    seed = _b64_32(raw, "private key")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from SubjectPublicKeyInfo PEM or a base64 raw 32-byte key."""
    raw = (data.encode("utf-8") if isinstance(data, str) else data).strip()
    if raw.startswith(b"-----BEGIN"):
        if b"PRIVATE KEY" in raw.split(b"\n", 1)[0]:
            raise ValueError("this is a private key; pass the public key (the .pub file)")
        try:
            key = serialization.load_pem_public_key(raw)
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError("not a readable PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(_b64_32(raw, "public key"))


def _b64_32(raw: bytes, what: str) -> bytes:
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise ValueError(f"not an Ed25519 {what}: expected PEM or 32 bytes in base64")
    return decoded


def write_key_pair(private_path: Path) -> tuple[Path, Ed25519PublicKey]:
    """Write a new private key to ``private_path`` (PEM, mode 0600) and its public key beside it.

    The public key goes to ``<private_path>.pub``. Neither file may exist already
    (``FileExistsError``): a signing key is never overwritten.
    """
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} already exists")
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{private_path} already exists") from None
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    public_key = private_key.public_key()
    public_path.write_bytes(public_key.public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    return public_path, public_key


# -- storage -------------------------------------------------------------------------------------

def _checkpoint(row: Any) -> AuditCheckpoint:
    return AuditCheckpoint(**{name: row[name] for name in (*_SIGNED_FIELDS, "signature")})


def _latest(conn: Any) -> AuditCheckpoint | None:
    row = conn.execute("SELECT * FROM audit_checkpoint ORDER BY id DESC LIMIT 1").fetchone()
    return _checkpoint(row) if row else None


def write_checkpoint(conn: Any, signer: CheckpointSigner, seq: int,
                     row_hash: str) -> AuditCheckpoint:
    """Sign row ``seq`` and append the checkpoint, inside the caller's write transaction.

    When the latest checkpoint already covers ``seq`` or beyond, it is returned and nothing is
    written (a checkpoint never moves backwards; verification reports why).
    """
    latest = _latest(conn)
    if latest is not None and latest.seq >= seq:
        return latest
    checkpoint = signer.sign(seq, row_hash, prev_seq=latest.seq if latest else 0)
    conn.execute(
        f"INSERT INTO audit_checkpoint ({', '.join(_SIGNED_FIELDS)}, signature) "
        f"VALUES ({', '.join('?' * (len(_SIGNED_FIELDS) + 1))})",
        tuple(checkpoint.to_json()[name] for name in (*_SIGNED_FIELDS, "signature")),
    )
    return checkpoint


def checkpoint_if_due(conn: Any, signer: CheckpointSigner, seq: int,
                      row_hash: str) -> AuditCheckpoint | None:
    """In the transaction appending row ``seq``: sign it when a periodic checkpoint is due, or
    when none exists yet (so a log written with a key never has rows and no checkpoint)."""
    if seq % signer.every == 0 or _latest(conn) is None:
        return write_checkpoint(conn, signer, seq, row_hash)
    return None


def sign_head(target: Location | Store, signer: CheckpointSigner) -> AuditCheckpoint | None:
    """Sign the head of the audit log in ``target`` (its file or URL, or its open database)
    unless a checkpoint already covers it, under the chain's lock (:data:`CHAIN_LOCK`).

    Returns the checkpoint covering the head (None for an empty log). Safe from
    :meth:`AuditLog.close` whatever thread the log was used from (a SQLite database gives each
    thread its own connection)."""
    try:
        with opened(target, what="audit log") as db, db.transaction(lock=CHAIN_LOCK) as conn:
            head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            return write_checkpoint(conn, signer, head["seq"], head["hash"]) if head else None
    except StoreError as exc:
        raise AuditError(f"could not sign the head of the audit log: {exc}") from exc


def read_checkpoints(target: Location | Store) -> list[AuditCheckpoint]:
    """Every stored checkpoint, in the order written (empty when the table is absent)."""
    try:
        with opened(target, what="audit log") as db:
            rows = db.fetchall("SELECT * FROM audit_checkpoint ORDER BY id")
    except StoreError:
        return []
    return [_checkpoint(row) for row in rows]


# -- verification --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointReport:
    """What :func:`verify_checkpoints` found: the chain's result, then the signatures'.

    ``unsigned_tail`` counts the rows after the latest checkpoint (not signed yet: the log is
    still being written, or its writer stopped without closing).
    """

    ok: bool
    chain: VerifyResult
    checkpoints: int = 0
    latest: AuditCheckpoint | None = None
    unsigned_tail: int = 0
    anchors: int = 0
    first_bad: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if not self.chain.ok:
            return str(self.chain)
        if not self.ok:
            where = f" at row {self.first_bad}" if self.first_bad is not None else ""
            return f"BROKEN{where}: {self.problem}"
        text = f"{self.chain}"
        if self.latest is None:
            return text + "; the log is empty, nothing to sign"
        text += (f"; {self.checkpoints} signed checkpoint{'s' * (self.checkpoints != 1)} "
                 f"verified, the latest at row {self.latest.seq} ({self.latest.time})")
        if self.unsigned_tail:
            first = self.latest.seq + 1
            text += (f"; rows {first}..{first + self.unsigned_tail - 1} are not signed yet")
        if self.anchors:
            text += f"; {self.anchors} anchored checkpoint{'s' * (self.anchors != 1)} found"
        return text


def verify_checkpoints(log: AuditLog,
                       public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey], *,
                       every: int | None = None,
                       anchors: Sequence[AuditCheckpoint] = ()) -> CheckpointReport:
    """Verify the chain, then its signed checkpoints and anchors, with public keys only.

    Several keys (after a key rotation) are matched to checkpoints by their key id. ``every`` is
    the signing interval the rows after the latest checkpoint were written with (the
    configuration's ``checkpoint_every``); by default the latest checkpoint's.
    """
    keys = {key_id(k): k for k in
            ([public_key] if isinstance(public_key, Ed25519PublicKey) else public_key)}
    if not keys:
        raise ValueError("verify_checkpoints needs at least one public key")
    # Checkpoints first: each one commits with or after its row, so the chain read next holds
    # it; those a live writer adds meanwhile are taken when the chain already holds their row.
    checkpoints = read_checkpoints(log.database)
    chain = log.verify()
    if not chain.ok:
        return CheckpointReport(False, chain, first_bad=chain.first_bad, problem=chain.problem)
    last = chain.rows  # a verified chain is rows 1..last
    checkpoints += [c for c in read_checkpoints(log.database)[len(checkpoints):]
                    if c.seq <= last]
    given = (f"the given key {next(iter(keys))}" if len(keys) == 1
             else f"one of the given keys {', '.join(keys)}")

    def broken(first_bad: int | None, problem: str) -> CheckpointReport:
        return CheckpointReport(False, chain, len(checkpoints), first_bad=first_bad,
                                problem=problem)

    if not checkpoints:
        if last == 0:
            return _check_anchors(CheckpointReport(True, chain), anchors, keys, {}, last)
        return broken(None, f"no signed checkpoint: the log has {last} rows and none is signed "
                      "(the checkpoints were removed or the log recreated, or it was written "
                      "without a signing key)")
    hashes = _hashes(log.database, {c.seq for c in checkpoints} | {a.seq for a in anchors})
    previous: AuditCheckpoint | None = None
    for checkpoint in checkpoints:
        seq = checkpoint.seq
        if not _signed(checkpoint, keys):
            if checkpoint.key_id not in keys:
                why = (f"it names key {checkpoint.key_id}, not {given}: forged, or signed with "
                       "another key")
            else:
                why = "it was altered after signing, or forged"
            return broken(seq, f"the checkpoint of row {seq} has an invalid signature ({why})")
        if previous is None and checkpoint.prev_seq != 0:
            return broken(seq, f"the checkpoints before the one of row {seq} were removed (it "
                          f"follows a checkpoint of row {checkpoint.prev_seq})")
        if previous is not None and checkpoint.prev_seq != previous.seq:
            return broken(seq, f"the checkpoint of row {seq} follows one of row "
                          f"{checkpoint.prev_seq}, not the stored one of row {previous.seq}: "
                          "checkpoints were removed or reordered")
        if seq > last:
            return broken(last + 1, f"the chain was cut: row {seq} was signed at "
                          f"{checkpoint.time} but the log ends at row {last}")
        if hashes.get(seq) != checkpoint.hash:
            return broken(seq, f"row {seq} does not match its checkpoint signed at "
                          f"{checkpoint.time}: the chain was rewritten at or before row {seq}")
        previous = checkpoint
    latest = checkpoints[-1]
    interval = every or latest.every
    due = (latest.seq // interval + 1) * interval
    if due <= last:
        return broken(due, f"row {due} has no signed checkpoint though one is written every "
                      f"{interval} rows: the rows after {latest.seq} were rewritten and newer "
                      "checkpoints removed, or they were written without the signing key")
    report = CheckpointReport(True, chain, len(checkpoints), latest=latest,
                              unsigned_tail=last - latest.seq)
    return _check_anchors(report, anchors, keys, hashes, last)


def _signed(checkpoint: AuditCheckpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(checkpoint.key_id)
    return key is not None and checkpoint.signed_by(key)


def _check_anchors(report: CheckpointReport, anchors: Sequence[AuditCheckpoint],
                   keys: dict[str, Ed25519PublicKey], hashes: dict[int, str],
                   last: int) -> CheckpointReport:
    for anchor in anchors:
        def broken(first_bad: int, problem: str) -> CheckpointReport:
            return CheckpointReport(False, report.chain, report.checkpoints,
                                    first_bad=first_bad, problem=problem)

        if not _signed(anchor, keys):
            return broken(anchor.seq, f"the anchored checkpoint of row {anchor.seq} has an "
                          "invalid signature for the given keys")
        if anchor.seq > last:
            return broken(last + 1, f"the chain was cut: the anchored checkpoint signed row "
                          f"{anchor.seq} at {anchor.time} but the log ends at row {last}")
        if hashes.get(anchor.seq) != anchor.hash:
            return broken(anchor.seq, f"row {anchor.seq} does not match the anchored checkpoint "
                          f"signed at {anchor.time}: the chain was rewritten")
    if not anchors:
        return report
    return CheckpointReport(True, report.chain, report.checkpoints, latest=report.latest,
                            unsigned_tail=report.unsigned_tail, anchors=len(anchors))


def _hashes(db: Store, seqs: set[int]) -> dict[int, str]:
    if not seqs:
        return {}
    return {row["seq"]: row["hash"] for row in db.fetchall("SELECT seq, hash FROM audit")
            if row["seq"] in seqs}
