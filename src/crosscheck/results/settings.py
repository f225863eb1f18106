"""How a results service runs: who may read, who administers, how fast a CI may write."""

from __future__ import annotations

from dataclasses import dataclass, field

from crosscheck.web.settings import PagesSettings


@dataclass(frozen=True)
class ResultsSettings:
    #: False: reading needs a CI account's token or the admin token.
    public_reads: bool = True
    #: The admin token (from a secret: an environment variable or a file), or None for none.
    admin_token: str | None = field(default=None, repr=False)
    #: Writes per second per CI account, on average, and the burst allowed.
    rate: float = 10.0
    burst: int = 100
    #: The pages (served only with public reads): expected CIs per project, Gerrit's address.
    pages: PagesSettings = field(default_factory=PagesSettings)
