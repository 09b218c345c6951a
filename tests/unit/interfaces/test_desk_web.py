"""The desk's pure helpers: deadlines in words, the compose form read into a draft."""

from datetime import UTC, datetime, timedelta

import pytest

from secureline.interfaces.desk.explain import draft_from_form
from secureline.interfaces.desk.security import CsrfRefused, check_csrf
from secureline.interfaces.desk.web import due, templates

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_deadline_is_said_in_days_and_hours() -> None:
    assert due(None, NOW) == ("", False)
    assert due(NOW + timedelta(days=2, hours=5, minutes=10), NOW) == ("in 2 d 5 h", False)
    assert due(NOW + timedelta(hours=7, minutes=59), NOW) == ("in 7 h", False)
    assert due(NOW + timedelta(minutes=20), NOW) == ("in under an hour", False)
    assert due(NOW - timedelta(hours=30), NOW) == ("overdue by 1 d 6 h", True)


def test_the_form_becomes_a_draft_without_empty_optional_fields() -> None:
    draft = draft_from_form(
        {
            "to": ["ops@europol, ncb@ncb-madrid;"],
            "reliability": ["B"],
            "accuracy": ["2"],
            "case_ref": [""],
            "data_subjects": ["suspect", "victim"],
            "body": ["  indented\nlines  "],
        }
    )
    assert draft["to"] == ["ops@europol", "ncb@ncb-madrid"]
    assert draft["evaluation"] == "B2"
    assert "case_ref" not in draft
    assert draft["data_subjects"] == ["suspect", "victim"]
    assert draft["body"] == "  indented\nlines  "  # the body keeps its spacing
    assert draft["confidential"] is False


def test_every_template_escapes() -> None:
    page = templates().from_string("{{ x }}").render(x="<script>alert(1)</script>")
    assert page == "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.parametrize(
    ("given", "code"), [({}, "csrf_missing"), ({"csrf": ["forged"]}, "csrf_invalid")]
)
def test_a_form_without_the_right_token_is_refused(given: dict, code: str) -> None:
    with pytest.raises(CsrfRefused) as refused:
        check_csrf(given, "the-session-token")
    assert refused.value.code == code
    with pytest.raises(CsrfRefused, match="CSRF"):
        check_csrf({"csrf": ["x"]}, None)  # no token to compare with: refused, never passed
