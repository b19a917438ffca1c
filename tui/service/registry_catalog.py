"""Search results and a v2 registry's catalog, read directly with the stdlib (no daemon).

One job: ``SearchResult`` (one hit of `docker search` or of a catalog) and ``registry_catalog``,
which lists a registry's repositories (``/v2/_catalog``) whose name contains a term, each with
its tags (``/v2/<name>/tags/list``), anonymously, trying HTTP first for a loopback registry as
the Engine does. ``split_registry_term`` tells a ``host:port/term`` from a plain search term.
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
    # Only http(s) URLs we built ourselves reach here (never file: or custom schemes).
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    # urllib.request here, not at import: it brings http.client and ssl (libcrypto, about
    # 4 MB resident), which the image list never needs.
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response)


def registry_catalog(
    registry: str, term: str = "", timeout: float = 10.0, max_repos: int = 100
) -> list[SearchResult]:
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
            data = _get_json(f"{base}/v2/_catalog?n=1000", timeout)
        except urllib.error.HTTPError as exc:
            raise _catalog_http_error(registry, exc) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = exc
            continue
        repos = [str(r) for r in (data or {}).get("repositories") or []]
        needle = term.strip().lower()
        matching = sorted(r for r in repos if needle in r.lower())[:max_repos]
        results = []
        for repo in matching:
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
        return results
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
