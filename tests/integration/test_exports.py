"""Exports (issue 4, H1): judicial use needs the provider's permission, asked over the line."""

from __future__ import annotations

import pytest

from secureline.domain.audit import AuditAction
from secureline.services.errors import InvalidInput, NotFoundError, Refused
from secureline.services.exports import H1_JUDICIAL_USE, H3_NOT_ACKNOWLEDGED
from secureline.store import grants as grant_store
from tests.integration.support import Federation, officer, sample, wait_for, wait_state


def _sent(pair: Federation, **marking: str) -> str:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(
        officer(interpol), sample("ops@europol", "counter-terrorism", seed=7, **marking)
    )
    wait_state(interpol, sent.id, "europol", ["delivered"])
    del europol
    return sent.id


def _exports(pair: Federation, message_id: str) -> list[str]:
    records = pair["europol"].audit.records_for_object(message_id)
    return [r.outcome for r in records if r.action == AuditAction.MESSAGE_EXPORTED]


def test_h1_judicial_export_is_refused_without_the_providers_grant(pair: Federation) -> None:
    h1 = _sent(pair, handling="H1")
    europol = pair["europol"]
    with pytest.raises(Refused) as refused:
        europol.exports.export(officer(europol), h1, "judicial")
    assert [r.code for r in refused.value.reasons] == [H1_JUDICIAL_USE]
    assert _exports(pair, h1) == ["refused"]


def test_h1_case_file_export_needs_no_grant(pair: Federation) -> None:
    h1 = _sent(pair, handling="H1")
    europol = pair["europol"]
    document = europol.exports.export(officer(europol), h1, "case-file")
    assert document["header"]["id"] == h1
    assert document["content"]["entities"]
    assert document["envelope"].count(".") == 2
    assert _exports(pair, h1) == ["ok"]


def test_h1_judicial_export_passes_once_the_provider_granted_it(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    h1 = _sent(pair, handling="H1")
    request = europol.sharing.request_permission(
        officer(europol), h1, "judicial-use", "europol", None, "trial of the suspect"
    )
    wait_state(europol, request.id, "interpol", ["delivered"])
    _, carrier = interpol.sharing.grant_permission(officer(interpol), request.id)
    wait_state(interpol, carrier.id, "europol", ["delivered"])
    wait_for(
        lambda: grant_store.list_grants(europol.db, message_id=h1, direction="received"),
        what="the judicial-use grant at europol",
    )
    document = europol.exports.export(officer(europol), h1, "judicial")
    assert document["purpose"] == "judicial"
    assert _exports(pair, h1) == ["ok"]


def test_h3_export_needs_the_conditions_acknowledged(pair: Federation) -> None:
    h3 = _sent(pair, handling="H3", handling_conditions="Not before the operation ends")
    europol = pair["europol"]
    with pytest.raises(Refused) as refused:
        europol.exports.export(officer(europol), h3, "case-file")
    assert [r.code for r in refused.value.reasons] == [H3_NOT_ACKNOWLEDGED]
    assert (
        europol.exports.export(officer(europol), h3, "case-file", acknowledge_conditions=True)[
            "header"
        ]["handling"]
        == "H3"
    )


def test_bad_export_requests_name_what_is_wrong(pair: Federation) -> None:
    h0 = _sent(pair)
    europol = pair["europol"]
    with pytest.raises(InvalidInput, match="purpose"):
        europol.exports.export(officer(europol), h0, "gossip")
    with pytest.raises(NotFoundError, match="msg-000000000000"):
        europol.exports.export(officer(europol), "msg-000000000000", "case-file")
