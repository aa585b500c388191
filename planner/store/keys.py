"""Signing keys: each user's Ed25519 public key, registered by an administrator, and who must sign.

A user with a registered key must sign every action (`--key FILE` or PLANNER_KEY): the store refuses an unsigned
action or one signed with another key, and `planner audit verify` checks every row in their name against the key
registered when the row was written. Registering or revoking a key is itself an audited (and, for an admin with
a key, signed) action. The private key never reaches the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select

from planner.store import audit, identity, roles
from planner.store.errors import Refused
from planner.store.schema import planner_keys

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def registered(connection: Connection) -> dict[str, str]:
    """user -> public key (hex)."""
    return dict(connection.execute(select(planner_keys.c.username, planner_keys.c.public_key)).all())


def signer(connection: Connection, user: str, key: Ed25519PrivateKey | None) -> Ed25519PrivateKey | None:
    """The key `user` signs this action with: required when they have a registered key, and it must be that key."""
    public = registered(connection).get(user)
    if public is None:
        if key is not None:
            raise Refused(f"{user} has no registered signing key: an admin registers it first "
                          f"(planner key register {user} PUBLIC_KEY)")
        return None
    if key is None:
        raise Refused(f"{user} has a registered signing key: sign the action with --key FILE (or PLANNER_KEY)")
    if identity.public_hex(key) != public:
        raise Refused(f"the signing key given is not {user}'s registered key ({public[:16]}...)")
    return key


def register(connection: Connection, actor: str, key: Ed25519PrivateKey | None, user: str, public: str) -> None:
    roles.require(connection, actor, "admin", "register signing keys")
    user, public = identity.normalize(user), identity.check_public(public)
    before = registered(connection).get(user)
    if before == public:
        raise Refused(f"{user}'s registered key is already {public[:16]}...")
    connection.execute(delete(planner_keys).where(planner_keys.c.username == user))
    connection.execute(planner_keys.insert().values(username=user, public_key=public, registered_by=actor,
                                                    registered_at=audit.utc_now()))
    audit.append(connection, actor, "key_register", {"user": user, "public_key": public, "replaces": before},
                 key=key)


def revoke(connection: Connection, actor: str, key: Ed25519PrivateKey | None, user: str) -> None:
    roles.require(connection, actor, "admin", "revoke signing keys")
    user = identity.normalize(user)
    before = registered(connection).get(user)
    if before is None:
        raise Refused(f"{user} has no registered signing key")
    connection.execute(delete(planner_keys).where(planner_keys.c.username == user))
    audit.append(connection, actor, "key_revoke", {"user": user, "public_key": before}, key=key)
