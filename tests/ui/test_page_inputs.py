"""What the pages take from outside: query and path parameters, and form posts.

Through the ASGI app (no browser needed): whatever a page's parameters hold,
the answer is a page or a redirect, never a 500; a control character is a
422 page naming the parameter; a form post from another site changes nothing.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Text a person or a crawler might put in a page's address: any Unicode
# (controls, NUL, right-to-left marks, emoji), long runs, and names that exist.
texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=150, max_size=260),
    st.sampled_from(["上海華聯貿易有限公司", "A-100", "overdue", "a\x00b", "\u202e\u0301", "🙂"]),
)
numbers = st.one_of(
    st.integers(), st.sampled_from(["", "-1", "1e9", "99999999999999999999", "NaN", "١٢"])
)


def page_requests(text: str, number: Any) -> list[tuple[str, dict[str, Any]]]:
    # A "/" or a line break in the reference would leave the route, not test it.
    ref = re.sub(r"[/\n\r]", "-", text) or "x"
    return [
        ("/ui/board", {"customer": text, "product": text, "flag": text}),
        ("/ui/board/fragment", {"customer": text, "flag": text}),
        ("/ui/backlog", {"customer": text, "product": text}),
        ("/ui/board", {"as_of": text}),
        ("/ui/reports", {"currency": text, "year": number}),
        (f"/ui/orders/{quote(ref, safe='')}", {"version": number}),
        (f"/ui/{quote(ref, safe='')}/elsewhere", {}),
        ("/ui/go", {"number": text}),
        ("/ui/login", {"next": text}),
    ]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(text=texts, number=numbers)
def test_no_page_parameter_brings_a_server_error(
    client: TestClient, text: str, number: Any
) -> None:
    for path, params in page_requests(text, number):
        response = client.get(path, params=params, follow_redirects=False)
        assert response.status_code < 500, (path, params, response.text[:300])
        if response.status_code in (301, 302, 303, 307):
            continue
        assert response.headers["content-type"].startswith("text/html"), (path, params)
        if CONTROL.search(text) and path != "/ui/login":
            assert response.status_code == 422, (path, params)
            assert "Invalid input" in response.text


def test_a_nul_in_a_page_filter_is_a_422_page_naming_it(client: TestClient) -> None:
    for path in ("/ui/board", "/ui/board/fragment", "/ui/backlog"):
        response = client.get(path, params={"customer": "上海\x00"})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert "Invalid input: customer" in response.text
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.get("/ui/board", params={"customer": "上海華聯貿易有限公司"}).status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver.evil"])
def test_signing_out_from_another_site_is_refused_and_the_session_kept(
    client: TestClient, origin: str
) -> None:
    response = client.post("/ui/logout", headers={"Origin": origin}, follow_redirects=False)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert client.get("/ui/board", follow_redirects=False).status_code == 200


def test_signing_out_from_the_site_itself_forgets_the_token(client: TestClient) -> None:
    own = {"Origin": "http://testserver"}
    response = client.post("/ui/logout", headers=own, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert 'ledger_token=""' in response.headers["set-cookie"]
    assert client.get("/ui/board", follow_redirects=False).status_code == 303
