"""The desk's message view with its actions, threads, alerts, permissions, retention and
live fragments (issue 15), against a running pair over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from secureline.store import grants as grant_store
from tests.integration.support import Federation, message_row, officer, sample, wait_for, wait_state
from tests.support.desk import client, close_clients, csrf_of, desk_user, sign_in

ATTACK = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


def _signed_in(
    pair: Federation, node: str, unit: str, name: str | None = None, role: str = "officer"
) -> httpx.Client:
    name = name or f"{unit}-views"
    key = desk_user(pair[node], unit, name, role)
    browser = client(pair[node])
    assert sign_in(browser, name, key).status_code == 303
    return browser


def _post(browser: httpx.Client, path: str, page: str, **fields: str) -> httpx.Response:
    return browser.post(path, data={"csrf": csrf_of(browser.get(page)), **fields})


def _delivered(pair: Federation, seed: int, **overrides: str) -> str:
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(
        officer(interpol), sample("ops@europol", seed=seed, **overrides)
    )
    wait_state(interpol, sent.id, "europol", ["delivered", "read"])
    return sent.id


def test_the_message_view_puts_the_rules_first_and_offers_the_recipients_actions(
    pair: Federation,
) -> None:
    h2 = _delivered(pair, 61, handling="H2")
    reader = _signed_in(pair, "europol", "ops")
    page = reader.get(f"/desk/messages/{h2}")
    assert page.status_code == 200
    text = page.text
    # handling, evaluation and provider come before the content
    assert text.index("Not to be passed on without the provider") < text.index('id="body"')
    assert text.index("cc@interpol") < text.index('id="body"')
    assert "Request permission first" in text  # what forwarding H2 needs, said beforehand
    reply = re.search(r'href="(/desk/compose\?[^"]+)" id="reply"', text)
    assert reply
    compose = reader.get(reply.group(1).replace("&amp;", "&"))
    assert f'value="{h2}"' in compose.text  # reply_to filled in
    assert 'value="cc@interpol"' in compose.text

    # forwarding H2 without the provider's grant: refused, every reason shown on the page
    refused = _post(
        reader, f"/desk/messages/{h2}/forward", f"/desk/messages/{h2}", to="cc@interpol"
    )
    assert refused.status_code == 422, refused.text
    assert "Not forwarded" in refused.text
    shown = re.findall(r"<li><code>([a-z0-9_]+)</code>", refused.text)
    assert "h2_onward_without_permission" in shown

    # request the permission: a permission-request message to the provider
    asked = _post(
        reader,
        f"/desk/messages/{h2}/permission-request",
        f"/desk/messages/{h2}",
        scope="onward-transfer",
        grantee="interpol",
        reason="joint investigation",
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == "/desk/permissions"
    interpol = pair["interpol"]
    requests = wait_for(lambda: interpol.sharing.permission_requests(officer(interpol)))
    assert [body["message_id"] for _, body in requests] == [h2]

    # a post without its token is refused before anything is done
    bare = reader.post(f"/desk/messages/{h2}/forward", data={"to": "cc@interpol"})
    assert bare.status_code == 403
    assert "csrf_missing" in bare.text


def test_another_unit_can_neither_open_nor_act_on_a_message_or_its_thread(
    pair: Federation,
) -> None:
    mid = _delivered(pair, 62)
    pair["europol"].accounts.add_unit("test", "other")
    stranger = _signed_in(pair, "europol", "other")
    for path in (f"/desk/messages/{mid}", f"/desk/messages/{mid}/thread"):
        refused = stranger.get(path)
        assert refused.status_code == 404, path
        assert "not_found" in refused.text
        assert "Synthetic report" not in refused.text
    for action, fields in (
        ("forward", {"to": "cc@interpol"}),
        ("permission-request", {"scope": "onward-transfer", "grantee": "interpol"}),
        ("retract", {"reason": "x"}),
        ("correct", {"reason": "x", "body": "y"}),
    ):
        posted = _post(stranger, f"/desk/messages/{mid}/{action}", "/desk/inbox", **fields)
        assert posted.status_code == 404, (action, posted.text)
    assert stranger.get("/desk/messages/not-an-id/thread").status_code == 404


def test_the_provider_corrects_and_retracts_and_the_thread_shows_it_in_order(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    mid = _delivered(pair, 63)
    provider = _signed_in(pair, "interpol", "cc")
    page = provider.get(f"/desk/messages/{mid}")
    assert "Retract at every recipient" in page.text
    assert 'id="reply"' not in page.text  # one does not reply to oneself

    empty = _post(provider, f"/desk/messages/{mid}/retract", f"/desk/messages/{mid}", reason=" ")
    assert empty.status_code == 422
    assert "Not retracted" in empty.text
    assert "reason" in empty.text

    corrected = _post(
        provider,
        f"/desk/messages/{mid}/correct",
        f"/desk/messages/{mid}",
        reason="wrong account number " + ATTACK,
        body="the corrected body",
    )
    assert corrected.status_code == 303
    assert corrected.headers["location"] == f"/desk/messages/{mid}/thread"

    # the recipient replies through the desk's compose, reply_to filled in
    reader = _signed_in(pair, "europol", "ops")
    form = reader.get(f"/desk/compose?kind=reply&reply_to={mid}&to=cc@interpol")
    replied = reader.post(
        "/desk/compose",
        data={
            "csrf": csrf_of(form),
            "to": "cc@interpol",
            "kind": "reply",
            "reply_to": mid,
            "crime_area": "cyber-crime",
            "subject": "Re: thanks",
            "handling": "H0",
            "reliability": "B",
            "accuracy": "2",
            "purpose": "prevent and combat serious crime",
            "priority": "normal",
            "classification": "basic",
            "body": "received",
        },
    )
    assert replied.status_code == 303, replied.text
    reply_id = replied.headers["location"].rsplit("/", 1)[1]
    wait_state(europol, reply_id, "interpol", ["delivered", "read"])

    retracted = _post(
        provider, f"/desk/messages/{mid}/retract", f"/desk/messages/{mid}", reason="sent in error"
    )
    assert retracted.status_code == 303
    wait_for(lambda: message_row(europol, mid).purged_at is not None, what="the purge")

    thread = provider.get(f"/desk/messages/{mid}/thread")
    assert thread.status_code == 200
    order = re.findall(r'<span class="badge kind">([a-z-]+)</span>', thread.text)
    assert order == ["information", "correction", "reply", "deletion"]
    assert ATTACK not in thread.text
    assert ESCAPED in thread.text  # the correction's subject names its reason, as text
    # the reply's thread at the recipient is the same thread as the recipient sees it
    theirs = reader.get(f"/desk/messages/{reply_id}/thread")
    kinds = re.findall(r'<span class="badge kind">([a-z-]+)</span>', theirs.text)
    assert kinds[0] == "information"
    assert "reply" in kinds
    assert "content removed" in theirs.text  # the retraction purged it there
    assert interpol.messaging.status(officer(interpol), mid).deliveries


def test_acknowledging_h3_conditions_is_audited_with_the_acknowledgement(
    pair: Federation,
) -> None:
    mid = _delivered(pair, 64, handling="H3", handling_conditions="Only for case 17.")
    reader = _signed_in(pair, "europol", "ops")
    gated = reader.get(f"/desk/messages/{mid}")
    assert 'id="body"' not in gated.text
    europol = pair["europol"]
    assert not [r for r in europol.audit.records_for_object(mid) if r.action == "message.read"]
    shown = reader.post(f"/desk/messages/{mid}", data={"csrf": csrf_of(gated)})
    assert 'id="body"' in shown.text
    reads = [r for r in europol.audit.records_for_object(mid) if r.action == "message.read"]
    assert [(r.actor, r.detail["conditions_acknowledged"]) for r in reads] == [
        ("ops-views", "True")
    ]
    assert not grant_store.list_grants(europol.db)
