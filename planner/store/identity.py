"""Who is acting, proven: user names, the store's identity mode, and Ed25519 signatures on decisions.

Two modes, chosen by the database, never by a command-line option:

- **Shared store (PostgreSQL).** The acting user is the database login (`current_user`): a user can act only as
  themselves. `--as` may be given, but only as the login's own name; any other name is refused before anything is
  read or written. Roles are looked up for the login in the store.
- **Single-user store (SQLite).** A file on one person's disk: whoever can write the file can write anything in it,
  so `--as` is taken as typed. The mode is said in every acting command's output; it suits the demo and the README
  walk-through, not segregation of duties between people.

User names are compared as NFKC + casefold (`Bob`, `BOB` and the full-width `Ｂｏｂ` are one person) and stored in
that form. Signatures: a user whose Ed25519 public key an administrator registered (`planner key register`) must sign
each action with the private key (`--key FILE` or PLANNER_KEY); the signature covers the audit row's hash, so an
appended or rewritten row in their name fails `planner audit verify` unless the forger holds their private key.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from planner.store.errors import CannotOpen, Refused

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import Connection

ENV_USER = "PLANNER_USER"
ENV_KEY = "PLANNER_KEY"
LONGEST_NAME = 80
SEPARATORS = "_.@-"
SINGLE_USER = "single-user store: --as is taken as typed, not proven (see docs/approval.md)"


def unprintable(text: str) -> list[str]:
    """The control and format characters in `text` (a newline, ESC, a bidi override), named as U+XXXX."""
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})


def printable(text: str) -> str:
    """`text` safe for a terminal: every control or format character shown as an escape (\\x1b, \\n, \\u202e)."""
    return "".join(c if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") else
                   repr(c)[1:-1] for c in text)


def normalize(name: str) -> str:
    """A user name as the store keeps and compares it: NFKC, casefolded, checked (CannotOpen says what is wrong)."""
    folded = unicodedata.normalize("NFKC", name.strip()).casefold()
    if not folded:
        raise CannotOpen("a user name is empty")
    bad = unprintable(folded)
    ok = folded[0].isalnum() and all(c.isalnum() or c in SEPARATORS for c in folded)
    if bad or not ok or len(folded) > LONGEST_NAME:
        raise CannotOpen(f"user name {printable(name)!r} is not valid: letters, digits, '_', '.', '@' or '-', "
                         f"starting with a letter or digit, up to {LONGEST_NAME} characters")
    return folded


def check_text(what: str, text: str, longest: int) -> str:
    """A comment or name a person typed: no control characters (a newline or an ANSI escape could forge a line of
    `planner audit log`), at most `longest` characters. Checked before any work is done."""
    bad = unprintable(text)
    if bad:
        raise CannotOpen(f"{what} contains control characters ({', '.join(bad)}): write it on one line, as plain text")
    if len(text) > longest:
        raise CannotOpen(f"{what} is {len(text)} characters long; at most {longest}")
    return text


def login(connection: Connection) -> str | None:
    """The database login acting on a shared store (normalized), or None on a single-user store."""
    if connection.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    return normalize(str(connection.scalar(text("SELECT current_user"))))


def acting(connection: Connection, typed: str | None) -> str:
    """The acting user: the login on a shared store (a different `typed` name is refused), else the typed name."""
    user = login(connection)
    named = normalize(typed) if typed else None
    if user is None:
        if named is None:
            raise CannotOpen(f"who is acting? pass --as USER or set {ENV_USER}")
        return named
    if named is not None and named != user:
        raise Refused(f"you are connected to the plan store as {user} and cannot act as {named}: on a shared store "
                      "the acting user is the database login (log in as that user to act as them)")
    return user


def typed_user(actor: str | None) -> str | None:
    """`--as`, else PLANNER_USER, checked as a name (None when neither is given)."""
    value = (actor or os.environ.get(ENV_USER) or "").strip()
    return normalize(value) if value else None


def load_key(path: str | None) -> Ed25519PrivateKey | None:
    """The private signing key named by `path` or PLANNER_KEY (PEM, unencrypted PKCS#8), or None."""
    named = path or os.environ.get(ENV_KEY)
    if not named:
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(Path(named).read_bytes(), password=None)
    except OSError as error:
        raise CannotOpen(f"cannot read the signing key {named}: {error.strerror or error}") from None
    except (ValueError, TypeError) as error:
        raise CannotOpen(f"{named} is not an unencrypted PEM private key ({error}); make one with "
                         "planner key generate") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CannotOpen(f"{named} is not an Ed25519 key; make one with planner key generate")
    return key


def new_key() -> tuple[bytes, str]:
    """A new Ed25519 key: (the private key as PEM, the public key as 64 hex digits)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), public_hex(key)


def public_hex(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def check_public(text: str) -> str:
    value = text.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise CannotOpen("a public key is 64 hex digits, as planner key generate prints it")
    return value


def sign(key: Ed25519PrivateKey, row_hash: str) -> str:
    return key.sign(row_hash.encode("ascii")).hex()


def signed_by(public: str, row_hash: str, signature: str | None) -> bool:
    """Whether `signature` is the holder of `public`'s signature over `row_hash`."""
    if not signature:
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(bytes.fromhex(signature),
                                                                          row_hash.encode("ascii"))
    except (InvalidSignature, ValueError):
        return False
    return True
