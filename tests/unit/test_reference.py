"""The reference grammar (distribution/reference), checked before the daemon is asked."""

from __future__ import annotations

import pytest

from tui.service.errors import InvalidReference
from tui.service.reference import is_valid, parse

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "name", "domain", "tag", "digest"),
    [
        ("ubuntu", "ubuntu", "", None, None),
        ("ubuntu:15.10", "ubuntu", "", "15.10", None),
        ("runoob/ubuntu:v2", "runoob/ubuntu", "", "v2", None),
        ("localhost:5000/team/app", "localhost:5000/team/app", "localhost:5000", None, None),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app", "localhost:5000", "v1", None),
        ("localhost/app:1", "localhost/app", "localhost", "1", None),
        ("127.0.0.1:5000/demo/app:1.0", "127.0.0.1:5000/demo/app", "127.0.0.1:5000", "1.0", None),
        ("docker.io/library/mysql:5.7", "docker.io/library/mysql", "docker.io", "5.7", None),
        ("mysql@" + DIGEST, "mysql", "", None, DIGEST),
        ("a/b:c@" + DIGEST, "a/b", "", "c", DIGEST),
        ("my_repo/a__b/c-d---e.f:_Tag-1.x", "my_repo/a__b/c-d---e.f", "", "_Tag-1.x", None),
        ("[::1]:5000/app:x", "[::1]:5000/app", "[::1]:5000", "x", None),
        ("app:" + "a" * 128, "app", "", "a" * 128, None),
    ],
)
def test_valid_references(
    text: str, name: str, domain: str, tag: str | None, digest: str | None
) -> None:
    ref = parse(text)
    assert (ref.name, ref.domain, ref.tag, ref.digest) == (name, domain, tag, digest)
    assert str(ref) == text
    assert is_valid(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("Ubuntu", "lowercase"),
        ("team/MyApp:v1", "lowercase"),
        ("a:-bad", "starts with '-'"),
        ("a:.bad", "starts with '.'"),
        ("app:" + "a" * 129, "129 characters"),
        ("app:", "no tag"),
        ("a//b", "empty path component"),
        ("a/b/", "empty path component"),
        ("a b", "spaces"),
        (" ubuntu", "spaces"),
        ("ubuntü", "non-ASCII"),
        ("app:tagé", "non-ASCII"),
        ("app@sha256:xyz", "digest"),
        ("-app", "not a valid repository name component"),
        ("app_:1", "not a valid repository name component"),
        ("bad_host:5000/app", "registry host"),
        ("a" * 256, "at most 255"),
        (":tag", "no repository name"),
    ],
)
def test_invalid_references_say_why(text: str, why: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse(text)
    assert why in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert not is_valid(text)


def test_with_tag_and_path() -> None:
    ref = parse("localhost:5000/team/app")
    assert ref.path == "team/app"
    assert ref.tag_or_latest == "latest"
    assert str(ref.with_tag("v2")) == "localhost:5000/team/app:v2"
    with pytest.raises(InvalidReference):
        ref.with_tag("-x")


HEX64 = "a" * 64


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (HEX64, "64-digit hexadecimal image ID"),
        (f"busybox@sha256:{'b' * 40}", "has 64 hexadecimal digits"),
        (f"busybox@sha256:{'b' * 65}", "has 64 hexadecimal digits"),
        (f"busybox@sha512:{'b' * 64}", "has 128 hexadecimal digits"),
        (f"busybox@md5:{'b' * 32}", "not a digest algorithm"),
        (f"busybox@sha256:{'B' * 64}", "lowercase"),
        ("a" * 256, "path is 256 characters"),
        ("registry.example:5000/" + "a/" * 127 + "ab", "at most 255"),
    ],
)
def test_references_the_engine_refuses(text: str, why: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse(text)
    assert why in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        f"{HEX64}:v1",  # with a tag it is a name (the engine takes it)
        f"x/{HEX64}",
        f"127.0.0.1:5000/{HEX64}",
        f"busybox@sha256:{'b' * 64}",
        f"busybox@sha384:{'b' * 96}",
        f"busybox@sha512:{'b' * 128}",
        # 255 characters of path behind a long registry host: the limit is the path's.
        "registry." + "x" * 60 + ".example:5000/" + "a" * 255,
    ],
)
def test_references_the_engine_accepts(text: str) -> None:
    assert is_valid(text), text
