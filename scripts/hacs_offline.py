"""Run the HACS action's repository checks on this working tree, with no network.

    scripts/validate runs this with the Python of a virtual environment holding the HACS action's requirements:

    python scripts/hacs_offline.py HACS_CHECKOUT [REPOSITORY_ROOT]

HACS_CHECKOUT is a clone of https://github.com/hacs/integration. Its `action/action.py` (what the `hacs/action`
GitHub action runs) reads the repository through GitHub's REST API, raw.githubusercontent.com and, for brands,
brands.home-assistant.io. Here every HTTP request of its aiohttp session is answered from the files of this working
tree (what `git ls-files --cached --others --exclude-standard` lists) instead; a request this script does not know is
answered 404 and printed, and none leaves the machine.

What the files cannot tell, the repository's settings on GitHub, is stated in GITHUB_SETTINGS below: the checks
`description`, `topics`, `issues` and `archived` pass offline on those statements, so the GitHub repository must match
them. The licence is identified from LICENSE the way GitHub's licence detection reports it (an SPDX id).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
import hashlib
import json
import os
from pathlib import Path
import re
import subprocess
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

# The GitHub repository's settings, which no file holds (Settings → General on GitHub).
GITHUB_SETTINGS: dict[str, Any] = {
    "description": "Home Assistant integration for electricity meters read through an optical head (IEC 62056-21) "
    "or their DLMS push port",
    "topics": ["home-assistant", "hacs", "homeassistant-custom-component", "smart-meter", "iec62056-21", "dlms"],
    "has_issues": True,
    "archived": False,
    "default_branch": "main",
}

# Licence texts GitHub recognises, by a phrase each one's text carries (SPDX ids as GitHub's API reports them).
LICENCES: tuple[tuple[str, str, str], ...] = (
    ("Apache-2.0", "Apache License 2.0", r"Apache License\s+Version 2\.0"),
    ("MIT", "MIT License", r"Permission is hereby granted, free of charge"),
    ("GPL-3.0", "GNU General Public License v3.0", r"GNU GENERAL PUBLIC LICENSE\s+Version 3"),
    ("GPL-2.0", "GNU General Public License v2.0", r"GNU GENERAL PUBLIC LICENSE\s+Version 2"),
    ("MPL-2.0", "Mozilla Public License 2.0", r"Mozilla Public License Version 2\.0"),
    ("BSD-3-Clause", 'BSD 3-Clause "New" or "Revised" License', r"Neither the name of the copyright holder"),
)


def repository_files(root: Path) -> dict[str, Path]:
    """The files a push of this working tree would publish: tracked and new, not ignored, still present."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    return {name: root / name for name in sorted(set(listed.split("\0"))) if name and (root / name).is_file()}


def licence(files: dict[str, Path]) -> dict[str, str] | None:
    """GitHub's `license` object for the repository: None without a licence file, NOASSERTION when unrecognised."""
    for name in ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING"):
        if name in files:
            text = files[name].read_text(encoding="utf-8", errors="replace")
            for spdx, title, phrase in LICENCES:
                if re.search(phrase, text):
                    return {"key": spdx.lower(), "name": title, "spdx_id": spdx, "url": None, "node_id": "offline"}
            return {"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": None, "node_id": "offline"}
    return None


def blob_sha(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's object id


class OfflineGitHub:
    """Answers the requests HACS makes for one repository from the working tree's files."""

    def __init__(self, root: Path, full_name: str) -> None:
        self.root = root
        self.full_name = full_name
        self.files = repository_files(root)
        self.unknown: list[str] = []
        self.requests: list[str] = []

    def repository(self) -> dict[str, Any]:
        owner, name = self.full_name.split("/")
        return {
            "id": 1,
            "name": name,
            "full_name": self.full_name,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "private": False,
            "fork": False,
            "description": GITHUB_SETTINGS["description"],
            "topics": GITHUB_SETTINGS["topics"],
            "has_issues": GITHUB_SETTINGS["has_issues"],
            "archived": GITHUB_SETTINGS["archived"],
            "default_branch": GITHUB_SETTINGS["default_branch"],
            "license": licence(self.files),
            "stargazers_count": 0,
            "pushed_at": "2026-01-01T00:00:00Z",
            "html_url": f"https://github.com/{self.full_name}",
        }

    def tree(self) -> dict[str, Any]:
        entries: list[dict[str, Any]] = []
        folders: set[str] = set()
        for name, path in self.files.items():
            parts = name.split("/")
            for depth in range(1, len(parts)):
                folders.add("/".join(parts[:depth]))
            entries.append({"path": name, "mode": "100644", "type": "blob", "sha": blob_sha(path), "size": 0})
        entries += [{"path": folder, "mode": "040000", "type": "tree", "sha": "0" * 40} for folder in folders]
        entries.sort(key=lambda entry: entry["path"])
        return {"sha": "0" * 40, "url": "", "tree": entries, "truncated": False}

    def contents(self, path: str) -> tuple[int, Any]:
        if path in self.files:
            data = self.files[path].read_bytes()
            return 200, {
                "type": "file",
                "encoding": "base64",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": blob_sha(self.files[path]),
                "size": len(data),
                "content": base64.b64encode(data).decode(),
                "download_url": f"https://raw.githubusercontent.com/{self.full_name}/main/{path}",
            }
        listing = [
            {"type": "file", "name": name.rsplit("/", 1)[-1], "path": name}
            for name in self.files
            if name.rsplit("/", 1)[0] == path or (not path and "/" not in name)
        ]
        return (200, listing) if listing else (404, {"message": "Not Found"})

    def answer(self, method: str, url: str) -> tuple[int, Any]:
        """(status, JSON value or bytes) for one request."""
        self.requests.append(f"{method} {url}")
        parts = urlsplit(url)
        path = unquote(parts.path)
        api = f"/repos/{self.full_name}"
        routes: list[tuple[str, str, Callable[[re.Match[str]], tuple[int, Any]]]] = [
            ("api.github.com", rf"{api}", lambda _: (200, self.repository())),
            ("api.github.com", rf"{api}/git/trees/.+", lambda _: (200, self.tree())),
            ("api.github.com", rf"{api}/contents/?(?P<path>.*)", lambda m: self.contents(m["path"])),
            ("api.github.com", rf"{api}/releases", lambda _: (200, [])),
            ("api.github.com", rf"{api}/tags", lambda _: (200, [])),
            ("api.github.com", rf"{api}/branches/(?P<b>.+)", lambda m: (200, self.branch(m["b"]))),
            ("api.github.com", rf"{api}/commits/?.*", lambda _: (200, self.branch("main")["commit"])),
            ("raw.githubusercontent.com", rf"/{self.full_name}/[^/]+/(?P<path>.+)", lambda m: self.raw(m["path"])),
        ]
        for host, pattern, respond in routes:
            if parts.hostname == host and (match := re.fullmatch(pattern, path)):
                return respond(match)
        self.unknown.append(f"{method} {url}")
        return 404, {"message": "Not Found (offline)"}

    def branch(self, name: str) -> dict[str, Any]:
        return {"name": name, "commit": {"sha": "0" * 40, "commit": {"message": "offline"}}}

    def raw(self, path: str) -> tuple[int, Any]:
        if path in self.files:
            return 200, self.files[path].read_bytes()
        return 404, b"404: Not Found"


class OfflineResponse:
    """The part of aiohttp's ClientResponse that aiogithubapi and HACS read."""

    def __init__(self, url: str, status: int, body: Any) -> None:
        from yarl import URL

        self.url = URL(url)
        self.status = status
        self.reason = "OK" if status < 400 else "Not Found"
        self.ok = status < 400
        self._body = body if isinstance(body, bytes) else json.dumps(body).encode()
        content_type = "application/octet-stream" if isinstance(body, bytes) else "application/json"
        self.headers = {
            "Content-Type": content_type,
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "5000",
            "X-RateLimit-Reset": "0",
            "X-RateLimit-Used": "0",
            "X-RateLimit-Resource": "core",
            "Etag": '"offline"',
        }

    async def read(self, **_: Any) -> bytes:
        return self._body

    async def text(self, **_: Any) -> str:
        return self._body.decode()

    async def json(self, **_: Any) -> Any:
        return json.loads(self._body)

    def raise_for_status(self) -> None:
        if self.status >= 400:
            import aiohttp

            raise aiohttp.ClientResponseError(None, (), status=self.status, message=self.reason)  # type: ignore[arg-type]

    def release(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def __aenter__(self) -> OfflineResponse:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


def full_name(root: Path) -> str:
    """owner/name of the GitHub repository, from the manifest's issue tracker."""
    [manifest] = root.glob("custom_components/*/manifest.json")
    tracker = json.loads(manifest.read_text())["issue_tracker"]
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)/issues/?", tracker)
    if match is None:
        raise SystemExit(f"hacs_offline: the manifest's issue_tracker {tracker!r} names no GitHub repository")
    return match[1]


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    hacs = Path(sys.argv[1]).resolve()
    root = Path(sys.argv[2] if len(sys.argv) == 3 else Path(__file__).parent.parent).resolve()
    if not (hacs / "action" / "action.py").is_file():
        print(f"hacs_offline: {hacs} is not a checkout of hacs/integration (no action/action.py)", file=sys.stderr)
        return 2
    name = full_name(root)
    github = OfflineGitHub(root, name)

    import aiohttp

    async def offline_request(_session: aiohttp.ClientSession, method: str, url: Any, *_: Any, **__: Any) -> Any:
        status, body = github.answer(method, str(url))
        return OfflineResponse(str(url), status, body)

    aiohttp.ClientSession._request = offline_request  # type: ignore[method-assign,assignment]

    os.environ.update(
        {
            "INPUT_GITHUB_TOKEN": "offline",
            "INPUT_REPOSITORY": name,
            "INPUT_CATEGORY": "integration",
            "REPOSITORY_REF": GITHUB_SETTINGS["default_branch"],
            "GITHUB_REPOSITORY": name,
        }
    )
    sys.path.insert(0, str(hacs))
    # The action's image puts the HACS frontend (PyPI package hacs-frontend) inside custom_components/hacs; here it
    # stays in the virtual environment and is aliased there, so that the checkout is left as cloned.
    import hacs_frontend

    sys.modules["custom_components.hacs.hacs_frontend"] = hacs_frontend
    from action.action import preflight  # the checkout's action, as the GitHub action runs it

    code = 0
    try:
        asyncio.run(preflight())
    except SystemExit as exit_:  # the action exits 1 when a check fails
        code = exit_.code if isinstance(exit_.code, int) else 1
    if github.unknown:
        print("hacs_offline: requests answered 404 (not served offline):", *github.unknown, sep="\n  ")
    return code


if __name__ == "__main__":
    sys.exit(main())
