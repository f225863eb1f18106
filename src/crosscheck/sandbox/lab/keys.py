"""ed25519 keys made with ssh-keygen, and their public halves as `ssh-ed25519 AAAA...`."""

from __future__ import annotations

from pathlib import Path

from crosscheck.sandbox.lab.tools import run_tool


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def public_line(private: Path) -> str:
    """The key type and the key, without the comment: the form known_hosts lines pin."""
    return " ".join(public_path(private).read_text().split()[:2])


def generate_key(private: Path, comment: str) -> str:
    """A fresh key pair without passphrase at `private` (mode 0600); its public line."""
    # ssh-keygen would stop to ask before overwriting an older pair.
    private.unlink(missing_ok=True)
    public_path(private).unlink(missing_ok=True)
    run_tool(
        ["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-C", comment, "-f", str(private)],
        what=f"generate the key {private}",
    )
    return public_line(private)
