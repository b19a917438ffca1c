"""The catalog's ``Link`` header is the registry's text: only a next page on the same origin
and under ``/v2/_catalog`` is followed; and the status line says when not all hits are listed."""

from __future__ import annotations

import pytest

from tui.service.registry_catalog import CatalogHits, SearchResult, next_page

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
