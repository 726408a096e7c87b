"""The Debian archive this machine's apt already uses, so that nothing in the repository names a host.

`.ci/docker-engine` runs it as a script (it prints the address) to fetch the Compose and Buildx plugins;
`tests/docker_support.py` imports it to build the stand-in base image with debootstrap.
"""

from __future__ import annotations

from pathlib import Path

APT = Path("/etc/apt")


def _uris(path: Path) -> list[str]:
    """The archive addresses of one apt source file: one-line `deb` entries or deb822 `URIs:` fields."""
    found = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split("#", 1)[0].split()
        if path.suffix == ".sources" and words[:1] == ["URIs:"]:
            found += words[1:]
        elif path.suffix == ".list" and words[:1] == ["deb"]:
            rest = words[1:]
            if rest and rest[0].startswith("["):  # options such as [signed-by=…], up to the closing bracket
                while rest and not rest[0].endswith("]"):
                    rest = rest[1:]
                rest = rest[1:]
            found += rest[:1]
    return found


def debian_mirror() -> str:
    """The first Debian archive (not its security archive) among the machine's apt sources."""
    files = [
        APT / "sources.list",
        *sorted((APT / "sources.list.d").glob("*.sources")),
        *sorted((APT / "sources.list.d").glob("*.list")),
    ]
    for path in files:
        if path.is_file():
            for uri in _uris(path):
                if uri.startswith(("http://", "https://")) and "security" not in uri:
                    return uri.rstrip("/")
    raise RuntimeError("No Debian archive found in /etc/apt's sources: add one (apt-get needs it too).")


if __name__ == "__main__":
    print(debian_mirror())
