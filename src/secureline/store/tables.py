"""The node's tables (SQLAlchemy Core). Alembic migrations must agree with these.

Portable types only (see dialect.py): text ids, ``BigInteger`` sequences, timestamps stored
as timezone-aware ``DateTime``, JSON kept as text so that the exact signed bytes survive.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)
NAME = String(63)
TS = DateTime(timezone=True)

units = Table(
    "units",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("description", String(300), nullable=False, default=""),
    Column("specialist", Boolean, nullable=False, default=False),
    # A liaison office: the organisation whose officers staff this unit at our node.
    Column("liaison_for", NAME, nullable=True),
    Column("created_at", TS, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", NAME, nullable=False, unique=True),
    Column("unit", NAME, ForeignKey("units.name"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
    # Set by `user disable`: the user's tokens and sessions stop working at once (0006).
    Column("disabled_at", TS, nullable=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False),
    # SHA-256 of the token: tokens are long random secrets, so a fast hash is enough and
    # keeps authentication off the password hasher's deliberate slowness.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(100), nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True),
    # out: composed here; in: delivered here; relay: passing through to another node.
    Column("direction", String(5), nullable=False),
    Column("sender", String(130), nullable=False),
    Column("origin_node", NAME, nullable=False),
    Column("header_json", Text, nullable=False),
    # The content exactly as the origin serialised it, when no envelope of this node carries
    # it in the clear (a confidential message at its destination, a correction); NULL once
    # purged, or at a relay of a confidential message, which only ever holds the ciphertext.
    Column("content_json", Text, nullable=True),
    Column("content_jwe", Text, nullable=True),
    # the origin's signed envelope as received (NULL for messages composed or relayed here:
    # their envelopes, one per destination, are in envelopes). Content the envelope carries
    # in the clear is not in content_json too: store/messages.py reads it out of the envelope.
    Column("envelope", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("stored_at", TS, nullable=False),
    Column("read_at", TS, nullable=True),
    Column("purged_at", TS, nullable=True),
    # who composed it (a username), for messages composed here: the four-eyes review of an
    # alert reads it. NULL for messages from other nodes (the header names the unit only).
    Column("author", NAME, nullable=True),
    # what a unit sent, newest first, a page at a time (store/paging.py, migration 0010p)
    Index(None, "sender", "created_at", "id"),
)

SEQ = BigInteger().with_variant(Integer, "sqlite")

mailbox = Table(
    "mailbox",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("unit", NAME, nullable=False),
    Column("message_id", ID, ForeignKey("messages.id"), nullable=False),
    Column("added_at", TS, nullable=False),
    UniqueConstraint("unit", "message_id"),
    Index(None, "unit", "seq"),
)

# One row per (message, destination node) leaving this node, origin or relay. It is both the
# durable outbox (state 'queued', claimed in seq order per next hop) and the sender's view of
# where the message is, so a submission writes one row per destination, not two. The
# signed envelope it carries is in `envelopes`, written once: the state changes as the
# delivery moves on rewrite only this small row.
deliveries = Table(
    "deliveries",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("message_id", ID, ForeignKey("messages.id"), nullable=False),
    Column("destination", NAME, nullable=False),
    Column("next_hop", NAME, nullable=False),
    # the hops the envelope crossed before this node (relays), JSON list
    Column("path", Text, nullable=False, default="[]"),
    # queued, sent, relayed, delivered, read, refused; failed: set aside at this node after
    # the next hop failed it alone several times (reason_* hold the hop's answer), until an
    # administrator retries or drops it (dropped)
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", TS, nullable=False),
    Column("reason_code", String(60), nullable=True),
    Column("reason_text", Text, nullable=True),
    Column("refused_by", NAME, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("message_id", "destination"),
    Index(None, "next_hop", "state", "seq"),
)

# The signed envelope of each delivery (several KiB; see deliveries).
envelopes = Table(
    "envelopes",
    metadata,
    Column("message_id", ID, primary_key=True),
    Column("destination", NAME, primary_key=True),
    Column("envelope", Text, nullable=False),
    ForeignKeyConstraint(
        ["message_id", "destination"], ["deliveries.message_id", "deliveries.destination"]
    ),
)

# Evidence issued elsewhere that must travel on towards a message's origin (multi-hop).
evidence_outbox = Table(
    "evidence_outbox",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("next_hop", NAME, nullable=False),
    Column("token", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", TS, nullable=False),
    Column("created_at", TS, nullable=False),
    Index(None, "next_hop", "seq"),
)

inbound_transactions = Table(
    "inbound_transactions",
    metadata,
    Column("origin", NAME, primary_key=True),
    Column("txn_id", ID, primary_key=True),
    Column("request_digest", String(64), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("received_at", TS, nullable=False),
)

# A signed evidence document: one per transaction on a direct hop (its items name each
# message, so per-message proof is kept at one signature per batch), or one per message when
# it has to travel back over several hops.
evidence_tokens = Table(
    "evidence_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("issuer", NAME, nullable=False),
    Column("token", Text, nullable=False),
    Column("stored_at", TS, nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("message_id", ID, nullable=False, index=True),
    # accepted, relayed, delivered, read, refused
    Column("kind", String(10), nullable=False),
    Column("issuer", NAME, nullable=False),
    Column("destination", NAME, nullable=True),
    Column("reason_code", String(60), nullable=True),
    Column("reason_text", Text, nullable=True),
    Column("issued_at", TS, nullable=False),
    Column("token_id", ID, ForeignKey("evidence_tokens.id"), nullable=False),
)

peers = Table(
    "peers",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("organisation", String(200), nullable=False),
    # direct: a link we connect to over the line; otherwise a node we only know the keys of,
    # reached through the routes in the node's configuration.
    Column("direct", Boolean, nullable=False),
    Column("line_url", String(300), nullable=True),
    Column("ca_pem", Text, nullable=True),
    Column("ca_fingerprint", String(120), nullable=True),
    Column("signing_kid", String(120), nullable=False),
    Column("signing_key", String(100), nullable=False),
    Column("encryption_kid", String(120), nullable=False),
    Column("encryption_key", String(100), nullable=False),
    Column("added_at", TS, nullable=False),
    Column("agreement_digest", String(64), nullable=True),  # as the peer last reported it
    Column("last_contact_at", TS, nullable=True),
    Column("last_error", Text, nullable=True),
    # The link as its senders last found it (migration 0005b): up, down (not reachable) or
    # backoff (reached, but the transaction failed); NULL until first tried. Kept here, not
    # in a sender's memory, so that every worker paces its attempts by the same state.
    Column("link_state", String(10), nullable=True),
    Column("link_changed_at", TS, nullable=True),
    # consecutive failed attempts since the link was last up
    Column("failed_attempts", Integer, nullable=False, default=0, server_default="0"),
    # no sender tries the link before this time (the backoff, or the probe interval)
    Column("next_attempt_at", TS, nullable=True),
    # The newest evidence this node signed that reached us (migration 0007): for a node we
    # reach only through a relay, the one sign of life we have of it.
    Column("last_evidence_kind", String(10), nullable=True),
    Column("last_evidence_at", TS, nullable=True),
    # What the peer last stated it supports on the line, signed (migration 0010c): its
    # protocol version and kinds (a JSON list), and when it was taken in. NULL until a
    # peer that states them answers or sends a transaction (services/line/capabilities.py).
    Column("stated_protocol", Integer, nullable=True),
    Column("stated_kinds", Text, nullable=True),
    Column("stated_at", TS, nullable=True),
)
