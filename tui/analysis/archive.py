"""One pass over a `docker save` archive (legacy or OCI layout), then its layers in manifest order.

Layers may come in any order and ``manifest.json`` may come last, so the order is settled at
the end; a multi-platform index picks the chosen platform, else the first that is complete."""

from __future__ import annotations

import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import Any

from tui.analysis.efficiency import LayerTree, layer_tree
from tui.analysis.model import (
    GZIP_MAGIC,
    MAX_JSON_BYTES,
    ZSTD_MAGIC,
    FileEntry,
    LayerAnalysisError,
)
from tui.analysis.tarstream import (
    REGULAR,
    BlockReader,
    CountingReader,
    clean_path,
    decompressed,
    read_layer,
    walk_tar,
)


@dataclass
class Archive:
    """What one pass over the outer tar collected."""

    layers: dict[str, list[FileEntry]] = field(default_factory=dict)
    json_docs: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)
    trees: dict[str, LayerTree] = field(default_factory=dict)


def read_archive(counter: CountingReader) -> Archive:
    found = Archive()
    outer = decompressed(BlockReader(counter))
    for member, data in walk_tar(outer, counter.check_cancel, "the image archive"):
        name = member.name
        if member.type == tarfile.SYMTYPE:
            # Modern `docker save` makes <id>/layer.tar a relative symlink into blobs/.
            found.links[name] = clean_path(posixpath.join(posixpath.dirname(name), member.linkname))
            continue
        if member.type == tarfile.LNKTYPE:
            found.links[name] = clean_path(member.linkname)
            continue
        if member.type not in REGULAR:
            continue
        is_blob = name.startswith("blobs/")
        is_json = name.endswith(".json")
        is_tar = name.endswith((".tar", ".tar.gz", ".tgz"))
        if not (is_blob or is_json or is_tar):
            continue  # VERSION, legacy <id>/json, repositories, oci-layout
        content = BlockReader(data)
        head = content.peek(512)
        if head.lstrip()[:1] in (b"{", b"[") and member.size <= MAX_JSON_BYTES:
            try:
                found.json_docs[name] = json.loads(content.read())
            except ValueError:
                if is_json:
                    message = f"{name} in the archive is not valid JSON"
                    raise LayerAnalysisError(message) from None
            continue
        if head.startswith(ZSTD_MAGIC):
            found.unsupported[name] = "zstd-compressed layers are not supported"
            continue
        # An empty layer tar is only its end-of-archive zero blocks (no "ustar" to see).
        looks_tar = len(head) >= 262 and (head[257:262] == b"ustar" or not any(head))
        if not (head.startswith(GZIP_MAGIC) or looks_tar or is_tar or not head):
            continue  # some other blob we have no use for
        entries = read_layer(content, counter.check_cancel, name)
        found.layers[name] = entries
        # Worked out now, while the daemon is still sending the rest of the archive.
        found.trees[name] = layer_tree(entries)
    return found


def resolve_link(archive: Archive, path: str) -> str:
    seen: set[str] = set()
    path = clean_path(path)
    while path in archive.links and path not in seen:
        seen.add(path)
        path = archive.links[path]
    return path


def _blob_path(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


def manifest_layers(archive: Archive, platform: str | None = None) -> tuple[list[str], Any, str]:
    """(layer paths, config document or None, image name) from manifest.json or index.json.

    A multi-platform index (the containerd image store saves one) may list platforms whose
    manifest or layers are not in the archive (only the host's platform was pulled) and
    attestation manifests: the image analysed is ``platform`` (``os/arch[/variant]``) when
    given, else the first platform whose manifest and layers are all there.
    """
    manifest = archive.json_docs.get("manifest.json")
    index = archive.json_docs.get("index.json")
    if isinstance(manifest, list) and manifest and platform and not isinstance(index, dict):
        # A legacy archive holds one platform: the one this machine pulled.
        config = archive.json_docs.get(resolve_link(archive, str(manifest[0].get("Config", ""))))
        have = platform_text({"platform": config}) if isinstance(config, dict) else ""
        if have and have != platform and have.rsplit("/", 1)[0] != platform:
            raise LayerAnalysisError(
                f"This machine has the image's {have} platform only, not {platform}: "
                f"pull it with --platform {platform} to analyse it."
            )
        platform = None
    if isinstance(manifest, list) and manifest and platform is None:
        # dive reads the first image of a multi-image archive; so do we.
        first = manifest[0]
        layers = [str(p) for p in first.get("Layers") or []]
        config = archive.json_docs.get(resolve_link(archive, str(first.get("Config", ""))))
        tags = first.get("RepoTags") or []
        complete = all(resolve_link(archive, path) in archive.layers for path in layers)
        if complete or not isinstance(index, dict):
            return layers, config, str(tags[0]) if tags else ""
        # Its layers are not all there (a platform that was not pulled): the index decides.
    if isinstance(index, dict):
        return _from_index(archive, index, platform)
    raise LayerAnalysisError(
        "The archive has no manifest.json or index.json: is it the output of `docker save`?"
    )


def platform_text(entry: Any) -> str:
    """``linux/amd64`` (``/v8`` variant appended) of an index entry; "" when it has none."""
    found = entry.get("platform") if isinstance(entry, dict) else None
    if not isinstance(found, dict):
        return ""
    text = f"{found.get('os', '')}/{found.get('architecture', '')}"
    return f"{text}/{found['variant']}" if found.get("variant") else text


def _is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    return (
        annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        or platform_text(entry) == "unknown/unknown"
    )


def _from_index(
    archive: Archive, index: dict[str, Any], platform: str | None
) -> tuple[list[str], Any, str]:
    name = ""
    listed: list[str] = []  # platforms the index names
    absent: list[str] = []  # ... whose manifest is not in the archive
    partial: list[str] = []  # ... whose manifest is, but not every layer
    stack: list[tuple[dict[str, Any], int]] = [(index, 0)]
    while stack:
        doc, depth = stack.pop(0)
        for entry in doc.get("manifests") or []:
            if not isinstance(entry, dict) or _is_attestation(entry):
                continue
            annotations = entry.get("annotations") or {}
            name = name or str(annotations.get("io.containerd.image.name", ""))
            child = archive.json_docs.get(_blob_path(str(entry.get("digest", ""))))
            label = platform_text(entry)
            if label:
                listed.append(label)
            if not isinstance(child, dict):
                if label:
                    absent.append(label)
                continue
            if "manifests" in child:
                if depth < 4:  # an index inside an index (how `docker save` wraps one)
                    stack.append((child, depth + 1))
                continue
            if "layers" not in child:
                continue
            config_doc = archive.json_docs.get(
                _blob_path(str((child.get("config") or {}).get("digest", "")))
            )
            if not label and isinstance(config_doc, dict):
                # An index without platforms (Engine 26's overlay2 save): the config says.
                label = platform_text({"platform": config_doc})
                if label:
                    listed.append(label)
            if platform and label and label != platform:
                continue
            layers = [_blob_path(str(layer.get("digest", ""))) for layer in child["layers"]]
            if not all(resolve_link(archive, path) in archive.layers for path in layers):
                partial.append(label or str(entry.get("digest", ""))[:19])
                if platform:
                    break
                continue
            return layers, config_doc, name
    if platform and platform not in listed:
        shown = ", ".join(listed) or "none"
        raise LayerAnalysisError(f"The image has no {platform} platform (it has: {shown}).")
    if platform:
        raise LayerAnalysisError(
            f"The {platform} platform of this image is not on this machine (only its entry in "
            "the image index is): pull it with --platform to analyse it."
        )
    if listed and len(absent) + len(partial) >= len(listed):
        raise LayerAnalysisError(
            f"None of the image's platforms ({', '.join(listed)}) is complete in the archive: "
            "only the index was saved, not a platform's layers. Pull one platform first."
        )
    raise LayerAnalysisError(
        "The archive's index.json names no image manifest that is in the archive: is it the "
        "output of `docker save`?"
    )


def layer_id(path: str) -> str:
    if path.startswith("blobs/"):
        parts = path.split("/")
        return f"{parts[1]}:{parts[2]}" if len(parts) >= 3 else path
    return posixpath.dirname(path) or path


def layer_commands(config: Any, count: int) -> list[str | None]:
    """One created_by per layer: non-empty history entries map to layers in order (as dive)."""
    history = config.get("history") if isinstance(config, dict) else None
    commands: list[str | None] = [None] * count
    if not isinstance(history, list):
        return commands
    with_layer = [h for h in history if isinstance(h, dict) and not h.get("empty_layer")]
    for idx, entry in enumerate(with_layer[:count]):
        commands[idx] = str(entry.get("created_by", ""))
    return commands
