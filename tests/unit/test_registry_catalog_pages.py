"""The catalog's ``Link`` header is the registry's text: only a next page on the same origin
and under ``/v2/_catalog`` is followed; and the status line says when not all hits are listed."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from tui.service.registry_catalog import CatalogHits, SearchResult, next_page, registry_catalog

BASE = "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ('</v2/_catalog?last=b&n=2>; rel="next"', f"{BASE}/v2/_catalog?last=b&n=2"),
        (f'<{BASE}/v2/_catalog?last=b&n=2>; rel="next"', f"{BASE}/v2/_catalog?last=b&n=2"),
        ("</v2/_catalog?last=b>; rel=next", f"{BASE}/v2/_catalog?last=b"),
        ('</x>; rel="prev", </v2/_catalog?last=c>; rel="next"', f"{BASE}/v2/_catalog?last=c"),
        ("", None),
        ('</v2/_catalog?last=b>; rel="prev"', None),
        ('<https://127.0.0.1:5000/v2/_catalog?last=b>; rel="next"', None),  # another scheme
        ('<http://evil.example/v2/_catalog?last=b>; rel="next"', None),  # another host
        ('<//evil.example/v2/_catalog>; rel="next"', None),  # scheme-relative: another host
        ('</v2/secret/manifests/x>; rel="next"', None),  # not the catalog
        ('<file:///etc/passwd>; rel="next"', None),
        ('/v2/_catalog?last=b; rel="next"', None),  # no angle brackets
    ],
)
def test_next_page(link: str, expected: str | None) -> None:
    assert next_page(BASE, link) == expected


def _hits(count: int) -> list[SearchResult]:
    return [SearchResult(f"r/{n}", "", 0, False) for n in range(count)]


def test_summary_says_when_not_all_are_listed() -> None:
    assert CatalogHits(_hits(2), 2).summary("h:1") == "2 from the catalog of h:1"
    assert CatalogHits(_hits(2), 1200).summary("h:1") == (
        "the first 2 of 1,200 matching repositories in the catalog of h:1"
    )
    assert CatalogHits(_hits(2), 2, complete=False).summary("h:1") == (
        "the first 2 of 2 or more matching repositories in the catalog of h:1"
    )


def test_a_next_page_elsewhere_is_not_followed_and_the_list_says_or_more() -> None:
    # A local registry whose first page points its next page at another host: that page is
    # not asked for, and the hits are not called the whole catalog.
    asked: list[str] = []

    class Registry(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path.startswith("/v2/_catalog"):
                body, link = (
                    {"repositories": ["a/one", "b/two"]},
                    ('<http://elsewhere.invalid/v2/_catalog?last=b%2Ftwo>; rel="next"'),
                )
            else:
                body, link = {"tags": ["1"]}, ""
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hits = registry_catalog(f"127.0.0.1:{server.server_port}", "", timeout=5)
    finally:
        server.shutdown()
    assert [h.name.split("/", 1)[1] for h in hits] == ["a/one", "b/two"]
    assert (hits.matching, hits.complete) == (2, False)
    assert "the first 2 of 2 or more" in hits.summary("r")
    assert [p for p in asked if p.startswith("/v2/_catalog")] == ["/v2/_catalog?n=1000"]
