"""A message's content is stored once per node, in the envelope that carries it (issue 20
item 6), and every reader still gets the exact text the origin signed."""

from __future__ import annotations

import hashlib

import orjson
from sqlalchemy import select

from secureline.store import retention as retention_store
from secureline.store import tables
from secureline.store.messages import content_in_envelope
from tests.integration.support import Federation, message_row, officer, sample, wait_state


def _stored_content(fed: Federation, node: str, message_id: str) -> str | None:
    """The column itself, not what the store's readers derive."""
    with fed[node].db.read() as conn:
        return conn.execute(
            select(tables.messages.c.content_json).where(tables.messages.c.id == message_id)
        ).scalar_one()


def _sent_envelopes(fed: Federation, node: str, message_id: str) -> list[str]:
    with fed[node].db.read() as conn:
        return list(
            conn.execute(
                select(tables.envelopes.c.envelope).where(
                    tables.envelopes.c.message_id == message_id
                )
            ).scalars()
        )


def test_the_content_is_kept_once_and_reads_back_exactly(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    message = sample("ops@europol", "counter-terrorism", seed=5, handling="H2")
    sent = interpol.messaging.submit(officer(interpol), message)
    wait_state(interpol, sent.id, "europol", ["delivered"])

    assert _stored_content(pair, "interpol", sent.id) is None
    assert _stored_content(pair, "europol", sent.id) is None
    (envelope,) = _sent_envelopes(pair, "interpol", sent.id)
    received = message_row(europol, sent.id)
    assert received.envelope == envelope  # the origin's bytes, as they came
    assert message_row(interpol, sent.id).content_json == content_in_envelope(envelope)
    assert received.content_json == content_in_envelope(envelope)

    mine = interpol.messaging.open(officer(interpol), sent.id)
    theirs = europol.messaging.open(officer(europol), sent.id)
    assert mine.content == theirs.content
    assert theirs.content is not None
    assert theirs.content["body"] == message["body"]
    exported = europol.exports.export(officer(europol), sent.id, "case-file")
    assert exported["content"] == theirs.content
    assert exported["envelope"] == envelope


def test_a_purge_keeps_the_digest_of_the_content_it_removes(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=6))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    signed = message_row(interpol, sent.id).content_json
    digest = hashlib.sha256(signed.encode()).hexdigest()

    for node in (interpol, europol):
        node.retention.purge(officer(node), sent.id, "no longer needed")
        (tombstone,) = retention_store.tombstones_for(node.db, sent.id)
        assert tombstone.content_digest == digest
        assert message_row(node, sent.id).content_json is None
    assert _sent_envelopes(pair, "interpol", sent.id) == [""]


def test_a_relay_forwards_the_origins_envelope_and_the_destination_reads_it(
    chain: Federation,
) -> None:
    madrid, europol = chain["ncb-madrid"], chain["europol"]
    message = sample("ops@europol", "counter-terrorism", seed=8)
    sent = madrid.messaging.submit(officer(madrid), message)
    wait_state(madrid, sent.id, "europol", ["delivered"])

    (origin_envelope,) = _sent_envelopes(chain, "ncb-madrid", sent.id)
    assert _sent_envelopes(chain, "interpol", sent.id) == [origin_envelope]
    assert message_row(chain["interpol"], sent.id).envelope is None  # once, in envelopes
    assert message_row(europol, sent.id).envelope == origin_envelope
    for node in ("ncb-madrid", "interpol", "europol"):
        assert _stored_content(chain, node, sent.id) is None
        assert (
            orjson.loads(message_row(chain[node], sent.id).content_json)["body"]
            == (message["body"])
        )
    assert europol.messaging.open(officer(europol), sent.id).content is not None
