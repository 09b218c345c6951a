"""The desk's message view with its actions, threads, alerts, permissions, retention and
live fragments (issue 15), against a running pair over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from secureline.store import grants as grant_store
from tests.integration.support import (
    Federation,
    message_row,
    officer,
    sample,
    seed_with_a_person,
    wait_for,
    wait_state,
)
from tests.integration.test_desk import _assert_headers
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


def _compose_fields(page: httpx.Response, **fields: str) -> dict[str, str]:
    return {
        "csrf": csrf_of(page),
        "kind": "information",
        "crime_area": "cyber-crime",
        "handling": "H0",
        "reliability": "B",
        "accuracy": "2",
        "purpose": "prevent and combat serious crime",
        "priority": "normal",
        "classification": "basic",
        "body": "details",
        **fields,
    }


def test_an_alert_to_several_units_waits_for_a_second_officer_of_the_unit(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    europol.accounts.add_unit("test", "other")
    interpol.accounts.add_unit("test", "elsewhere")
    author = _signed_in(pair, "interpol", "cc", "cc-author")
    form = author.get("/desk/compose")
    composed = author.post(
        "/desk/compose",
        data=_compose_fields(
            form,
            to="ops@europol, other@europol",
            kind="alert",
            alert="blue",
            crime_area="counter-terrorism",
            subject="Missing person " + ATTACK,
        ),
    )
    assert composed.status_code == 303, composed.text
    mid = composed.headers["location"].rsplit("/", 1)[1]
    held = author.get(f"/desk/messages/{mid}")
    assert '<span class="state state-held">held</span>' in held.text  # per recipient node

    # the author is not the second pair of eyes: refused on the queue, in words
    queue = author.get("/desk/alerts")
    assert ESCAPED in queue.text
    assert ATTACK not in queue.text
    own = author.post(f"/desk/alerts/{mid}/approve", data={"csrf": csrf_of(queue)})
    assert own.status_code == 403
    assert "own_alert" in own.text
    # nor is an officer of another unit: it is not in their queue, nor found by URL
    stranger = _signed_in(pair, "interpol", "elsewhere")
    assert mid not in stranger.get("/desk/alerts").text
    assert _post(stranger, f"/desk/alerts/{mid}/approve", "/desk/alerts").status_code == 404
    # a rejection needs its reason; without the token nothing is decided
    reviewer = _signed_in(pair, "interpol", "cc", "cc-reviewer")
    assert reviewer.post(f"/desk/alerts/{mid}/approve", data={}).status_code == 403
    empty = _post(reviewer, f"/desk/alerts/{mid}/reject", "/desk/alerts", reason=" ")
    assert empty.status_code == 422
    assert "state why the alert is rejected" in empty.text

    approved = _post(reviewer, f"/desk/alerts/{mid}/approve", "/desk/alerts")
    assert approved.status_code == 303
    wait_state(interpol, mid, "europol", ["delivered", "read"])
    assert mid not in reviewer.get("/desk/alerts").text
    evidence = author.get(f"/desk/messages/{mid}")
    assert '<span class="state state-delivered">delivered</span> by europol' in evidence.text
    for unit in ("ops", "other"):
        inbox = europol.messaging.latest(officer(europol, unit))[0]
        assert [i.header.id for i in inbox] == [mid]


def test_a_rejected_alert_never_leaves(pair: Federation) -> None:
    author = _signed_in(pair, "interpol", "cc", "cc-author")
    form = author.get("/desk/compose")
    composed = author.post(
        "/desk/compose",
        data=_compose_fields(
            form,
            to="ops@europol",
            kind="alert",
            alert="red",
            crime_area="counter-terrorism",
            subject="Wanted",
            handling="H3",
            handling_conditions="Named recipients only.",
        ),
    )
    assert composed.status_code == 303, composed.text
    mid = composed.headers["location"].rsplit("/", 1)[1]
    reviewer = _signed_in(pair, "interpol", "cc", "cc-reviewer")
    rejected = _post(reviewer, f"/desk/alerts/{mid}/reject", "/desk/alerts", reason="no basis")
    assert rejected.status_code == 303
    page = author.get(f"/desk/messages/{mid}")
    assert "alert_rejected" in page.text
    assert "no basis" in page.text


def _request_permission(reader: httpx.Client, mid: str, reason: str) -> None:
    asked = _post(
        reader,
        f"/desk/messages/{mid}/permission-request",
        f"/desk/messages/{mid}",
        scope="onward-transfer",
        grantee="interpol",
        reason=reason,
    )
    assert asked.status_code == 303, asked.text


def test_a_permission_request_is_granted_with_a_scope_and_the_requester_sees_it(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    granted_h2, refused_h2 = (
        _delivered(pair, 65, handling="H2"),
        _delivered(pair, 66, handling="H2"),
    )
    reader = _signed_in(pair, "europol", "ops")
    _request_permission(reader, granted_h2, "joint investigation team")
    _request_permission(reader, refused_h2, ATTACK)
    sent = reader.get("/desk/permissions")
    assert sent.text.count('<span class="state state-pending">pending</span>') == 2
    requests = wait_for(
        lambda: (
            [h.id for h, _ in interpol.sharing.permission_requests(officer(interpol))]
            if len(interpol.sharing.permission_requests(officer(interpol))) == 2
            else None
        )
    )

    provider = _signed_in(pair, "interpol", "cc")
    received = provider.get("/desk/permissions")
    assert "joint investigation team" in received.text
    assert ESCAPED in received.text
    assert ATTACK not in received.text
    by_message = {
        body["message_id"]: h.id
        for h, body in interpol.sharing.permission_requests(officer(interpol))
    }
    assert set(by_message.values()) == set(requests)
    # another unit of the provider's node cannot decide by URL; a post without token is refused
    interpol.accounts.add_unit("test", "elsewhere")
    stranger = _signed_in(pair, "interpol", "elsewhere")
    request_id = by_message[granted_h2]
    grant_path = f"/desk/permissions/{request_id}/grant"
    assert (
        _post(stranger, grant_path, "/desk/permissions", scope="onward-transfer").status_code == 404
    )
    assert request_id not in stranger.get("/desk/permissions").text
    assert provider.post(grant_path, data={"scope": "onward-transfer"}).status_code == 403
    bad_date = _post(provider, grant_path, "/desk/permissions", until="next week")
    assert bad_date.status_code == 422
    assert "is not a date" in bad_date.text

    done = _post(
        provider, grant_path, "/desk/permissions", scope="onward-transfer", until="2027-06-30"
    )
    assert done.status_code == 303, done.text
    refused = _post(
        provider,
        f"/desk/permissions/{by_message[refused_h2]}/refuse",
        "/desk/permissions",
        reason="not for this case",
    )
    assert refused.status_code == 303, refused.text
    decided = provider.get("/desk/permissions")
    assert '<span class="state state-granted">granted</span>' in decided.text
    assert "Refused because: not for this case" in decided.text
    assert f'action="{grant_path}"' not in decided.text  # decided: no form to decide again

    # the grant travels back; the requester's page says granted, and the forward now passes
    wait_for(lambda: grant_store.list_grants(europol.db, direction="received"), what="the grant")
    mine = reader.get("/desk/permissions")
    assert '<span class="state state-granted">granted</span>' in mine.text
    assert "2027-06-30 23:59 UTC" in mine.text
    forwarded = _post(
        reader,
        f"/desk/messages/{granted_h2}/forward",
        f"/desk/messages/{granted_h2}",
        to="cc@interpol",
    )
    assert forwarded.status_code == 303, forwarded.text


def test_the_retention_queue_of_the_unit_keeps_with_a_date_or_purges(pair: Federation) -> None:
    europol = pair["europol"]
    seed = seed_with_a_person()
    kept = _delivered(pair, seed, subject="Kept " + ATTACK)
    purged = _delivered(pair, seed, subject="Purged")
    review = europol.messaging.open(officer(europol), kept).header.review_date
    assert review is not None
    soon = datetime.combine(review - timedelta(days=10), datetime.min.time(), UTC)
    assert sorted(europol.retention.run(soon).queued) == sorted([kept, purged])

    officer_page = _signed_in(pair, "europol", "ops")
    queue = officer_page.get("/desk/retention")
    assert queue.status_code == 200
    assert "a tombstone (id, dates, reason) remains" in queue.text  # what purging does
    assert "Kept " + ESCAPED in queue.text
    assert ATTACK not in queue.text
    europol.accounts.add_unit("test", "other")
    stranger = _signed_in(pair, "europol", "other")
    assert kept not in stranger.get("/desk/retention").text
    refused = _post(stranger, f"/desk/retention/{kept}/purge", "/desk/retention", reason="x")
    assert refused.status_code == 403
    assert "not_holding_unit" in refused.text
    assert (
        officer_page.post(f"/desk/retention/{kept}/purge", data={"reason": "x"}).status_code == 403
    )
    assert message_row(europol, kept).purged_at is None

    until = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    done = _post(
        officer_page,
        f"/desk/retention/{kept}/keep",
        "/desk/retention",
        until=until,
        reason="investigation still open",
    )
    assert done.status_code == 303, done.text
    late = _post(
        officer_page,
        f"/desk/retention/{purged}/keep",
        "/desk/retention",
        until="2001-01-01",
        reason="r",
    )
    assert late.status_code == 422
    assert "is not in the future" in late.text
    gone = _post(
        officer_page,
        f"/desk/retention/{purged}/purge",
        "/desk/retention",
        reason="no longer needed",
    )
    assert gone.status_code == 303
    assert message_row(europol, purged).purged_at is not None
    assert message_row(europol, kept).purged_at is None
    assert "Nothing of your unit is due for review" in officer_page.get("/desk/retention").text
    tomb = officer_page.get(f"/desk/messages/{purged}")
    assert "no longer needed" in tomb.text  # the tombstone, on the message's page


def test_the_inbox_and_sent_fragments_update_without_a_reload(pair: Federation) -> None:
    interpol = pair["interpol"]
    reader = _signed_in(pair, "europol", "ops")
    page = reader.get("/desk/inbox")
    assert 'hx-get="/desk/inbox/live" hx-trigger="every 5s"' in page.text
    assert "0 unread" in page.text
    first = _delivered(pair, 67, subject="First " + ATTACK)
    overdue = interpol.messaging.submit(
        officer(interpol),
        sample(
            "ops@europol",
            seed=68,
            kind="request",
            subject="Overdue one",
            deadline=(datetime.now(UTC) - timedelta(hours=30)).isoformat(),
        ),
    )
    wait_state(interpol, overdue.id, "europol", ["delivered"])
    live = reader.get("/desk/inbox/live", headers={"hx-request": "true"})
    assert live.status_code == 200
    assert "<html" not in live.text  # the fragment alone
    assert live.text.lstrip().startswith('<div id="inbox-live"')
    assert "2 unread" in live.text
    assert "First " + ESCAPED in live.text
    assert ATTACK not in live.text
    assert live.text.index("Overdue one") < live.text.index("First ")  # overdue first
    assert "overdue by 1 d 6 h" in live.text
    reader.get(f"/desk/messages/{first}")
    assert "1 unread" in reader.get("/desk/inbox/live").text

    pair["europol"].accounts.add_unit("test", "other")
    stranger = _signed_in(pair, "europol", "other")
    assert "Overdue one" not in stranger.get("/desk/inbox/live").text

    sender = _signed_in(pair, "interpol", "cc")
    sent = sender.get("/desk/sent/live")
    assert "Overdue one" in sent.text
    assert '<span class="state state-delivered">delivered</span>' in sent.text
    assert (
        "Overdue one"
        not in _signed_in(pair, "europol", "ops", "ops-two").get("/desk/sent/live").text
    )

    # a poll after the session ended takes the whole page to the sign-in
    anonymous = client(pair["europol"])
    polled = anonymous.get("/desk/inbox/live", headers={"hx-request": "true"})
    assert polled.status_code == 200
    assert polled.headers["hx-redirect"] == "/desk/sign-in"
    assert "Overdue one" not in polled.text
    assert anonymous.get("/desk/inbox/live").status_code == 303  # without htmx: a redirect


def test_the_new_pages_carry_the_headers_and_no_inline_code(pair: Federation) -> None:
    mid = _delivered(pair, 69)
    browser = _signed_in(pair, "europol", "ops")
    for path in (
        f"/desk/messages/{mid}",
        f"/desk/messages/{mid}/thread",
        "/desk/alerts",
        "/desk/permissions",
        "/desk/retention",
        "/desk/inbox/live",
        "/desk/sent/live",
    ):
        page = browser.get(path)
        assert page.status_code == 200, path
        _assert_headers(page)
        assert "<script>" not in page.text  # no inline script, only src=
        assert "style=" not in page.text
        assert "onclick=" not in page.text.lower()
