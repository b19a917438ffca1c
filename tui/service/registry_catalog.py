"""Search results and a v2 registry's catalog, read directly with the stdlib (no daemon).

One job: ``SearchResult`` (one hit of `docker search` or of a catalog) and ``registry_catalog``,
which lists a registry's repositories (``/v2/_catalog``, every page: the ``Link`` header's next
page is followed on the same origin) whose name contains a term, each with its tags
(``/v2/<name>/tags/list``), anonymously, trying HTTP first for a loopback registry as the Engine
does; ``CatalogHits`` says how many matched when not all are listed. ``split_registry_term``
tells a ``host:port/term`` from a plain search term.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import urllib.error
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tui.format import natural_key
from tui.service.errors import RegistryError


@dataclass(frozen=True)
class SearchResult:
    """One hit of `docker search` (or of a private registry's catalog, with its tags)."""

    name: str
    description: str
    stars: int
    official: bool
    automated: bool = False
    tags: tuple[str, ...] = ()
    #: Where to pull from when the index that found this hit is not itself a registry: the
    #: references to choose from (empty: pull ``pull_reference``). One entry is a registry known
    #: to have the repository; several, or a guess, mean the pull dialog asks.
    sources: tuple[str, ...] = ()
    #: True when ``sources`` holds exactly the registry that has the repository (no guess).
    resolved: bool = False

    @property
    def pull_reference(self) -> str:
        """What to pull for this hit (the first tag of a catalog hit, else the name)."""
        if self.sources:
            return self.sources[0]
        if self.tags:
            tag = "latest" if "latest" in self.tags else self.tags[0]
            return f"{self.name}:{tag}"
        return self.name


class CatalogHits(list[SearchResult]):
    """The catalog's hits (at most ``max_repos``) and how many repositories matched in all."""

    def __init__(self, hits: list[SearchResult], matching: int, complete: bool = True) -> None:
        super().__init__(hits)
        #: Repositories whose name contains the term, listed or not.
        self.matching = matching
        #: False when the catalog was longer than imagedeck reads (``MAX_PAGES``, or a next
        #: page on another origin).
        self.complete = complete

    def summary(self, registry: str) -> str:
        """``12 from the catalog of host`` or ``the first 100 of 523 ...``, for the status."""
        if len(self) < self.matching or not self.complete:
            more = "" if self.complete else " or more"
            return (
                f"the first {len(self)} of {self.matching:,}{more} matching "
                f"repositories in the catalog of {registry}"
            )
        return f"{len(self)} from the catalog of {registry}"


#: Repositories asked per catalog page, and the most pages read (100,000 repositories): a
#: registry larger than that is listed as far as that, and says so.
PAGE_SIZE = 1000
MAX_PAGES = 100


def split_registry_term(text: str) -> tuple[str, str] | None:
    """``("host:port", "term")`` when ``text`` names a registry (``host:port/`` or
    ``registry.example.com/term``); None for a plain search term."""
    text = text.strip()
    first, slash, rest = text.partition("/")
    if not slash:
        return None
    if ":" in first or "." in first or first == "localhost":
        return first, rest.strip("/")
    return None


def _is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0].strip("[]") if registry.count(":") <= 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _get_json(url: str, timeout: float) -> Any:
    return _get(url, timeout)[0]


def _get(url: str, timeout: float) -> tuple[Any, str]:
    """The JSON body of ``url`` and its ``Link`` header ("" when none)."""
    # Only http(s) URLs we built ourselves reach here (never file: or custom schemes).
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    # urllib.request here, not at import: it brings http.client and ssl (libcrypto, about
    # 4 MB resident), which the image list never needs.
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response), response.headers.get("Link") or ""


def _next_target(link: str) -> str | None:
    """The target of a ``Link`` header's ``rel="next"`` entry as written; None when none."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        target = target.strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        rels = {p.strip().replace(" ", "") for p in params.split(";")}
        if 'rel="next"' in rels or "rel=next" in rels:
            return target[1:-1]
    return None


def next_page(base: str, link: str) -> str | None:
    """The next catalog page named by a ``Link`` header (``<...>; rel="next"``), made absolute
    against ``base``; None when there is none or it leaves ``base``'s origin (the header is the
    registry's text: it may not send imagedeck to another host or scheme)."""
    target = _next_target(link)
    if target is None:
        return None
    url = urllib.parse.urljoin(base + "/", target)
    ours, theirs = urllib.parse.urlsplit(base), urllib.parse.urlsplit(url)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        return None
    if not theirs.path.startswith("/v2/_catalog"):
        return None
    return url


def _repositories(base: str, timeout: float, page_size: int) -> tuple[list[str], bool]:
    """Every repository of the catalog at ``base``, page after page; and whether that was all
    (False past ``MAX_PAGES``, or when the next page is one ``next_page`` does not follow)."""
    repos: list[str] = []
    url = f"{base}/v2/_catalog?n={page_size}"
    for _ in range(MAX_PAGES):
        data, link = _get(url, timeout)
        repos += [str(r) for r in (data or {}).get("repositories") or []]
        if _next_target(link) is None:
            return repos, True
        following = next_page(base, link)
        if following is None:  # more, the registry says, but somewhere not followed
            return repos, False
        url = following
    return repos, False


def registry_catalog(
    registry: str,
    term: str = "",
    timeout: float = 10.0,
    max_repos: int = 100,
    page_size: int = PAGE_SIZE,
) -> CatalogHits:
    """See ``TransfersMixin.catalog``; a plain function so it needs no daemon."""
    registry = registry.strip().rstrip("/")
    if not registry or "/" in registry:
        raise RegistryError(f"{registry!r} is not a registry host[:port].")
    # Loopback registries are insecure (plain HTTP) by the Engine's own default; other hosts
    # get HTTPS first and plain HTTP as the fallback, as the Engine does for insecure ones.
    schemes = ("http", "https") if _is_loopback(registry) else ("https", "http")
    last: Exception | None = None
    for scheme in schemes:
        base = f"{scheme}://{registry}"
        try:
            repos, complete = _repositories(base, timeout, page_size)
        except urllib.error.HTTPError as exc:
            raise _catalog_http_error(registry, exc) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = exc
            continue
        needle = term.strip().lower()
        matching = sorted(r for r in repos if needle in r.lower())
        results = []
        for repo in matching[:max_repos]:
            tags: list[str] = []
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                quoted = urllib.parse.quote(repo, safe="/")
                tags = list(
                    (_get_json(f"{base}/v2/{quoted}/tags/list", timeout) or {}).get("tags") or []
                )
            results.append(
                SearchResult(
                    name=f"{registry}/{repo}",
                    description=f"{len(tags)} tag{'s' if len(tags) != 1 else ''}: "
                    + ", ".join(sorted(tags, key=natural_key)),
                    stars=0,
                    official=False,
                    tags=tuple(sorted(tags, key=natural_key)),
                )
            )
        return CatalogHits(results, len(matching), complete)
    reason = getattr(last, "reason", last)
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        raise RegistryError(f"The registry {registry} did not answer in {timeout:g}s.")
    raise RegistryError(f"The registry {registry} cannot be reached ({reason}).")


def _catalog_http_error(registry: str, exc: urllib.error.HTTPError) -> RegistryError:
    if exc.code == 401:
        return RegistryError(
            f"The registry {registry} wants a login to list its catalog (HTTP 401)."
        )
    if exc.code == 404:
        return RegistryError(f"The registry {registry} has no v2 catalog (HTTP 404).")
    return RegistryError(f"The registry {registry} answered HTTP {exc.code} {exc.reason}.")
