"""One fake Gerrit for the tests: a small in-memory Gerrit 3.10 behind `httpx.MockTransport`.

It holds accounts, groups, projects (branches, HEAD) and changes (revisions with their
commit messages and files, change messages, status, votes) and answers the REST calls
crosscheck makes the way Gerrit 3.10 answers them (Documentation/rest-api-*.txt, and what
the e2e tests see from the sandbox Gerrit):

    GET  /config/server/version
    GET  /accounts/self
    GET  /changes/?q=&n=&S=&o=            terms after:, before:, project:, branch:, status:
    GET  /changes/ID?o=                   ID: 7, project~7, I<Change-Id>, project~branch~I<..>
    GET  /changes/ID/messages
    GET  /changes/ID/revisions/REV/files  REV: a SHA-1 or a prefix of it, a number, current
    POST /changes/ID/revisions/REV/review votes, and a "Patch Set N: Label+1" message, tagged
    GET  /projects/?n=&S=                 sorted by name; `_more_projects` on a page's last
    GET  /projects/NAME/HEAD, /projects/NAME/branches/
    GET  /groups/NAME/members/

As Gerrit does: a JSON body is `)]}'`, a newline, compact JSON and a newline; an error is
text/plain ending in a newline (404 `Not found: acme/driver~7`, 409 `change is closed` for
votes on an abandoned change); under /a/ a request needs the Basic credentials of one of
its accounts (else 401), and a write without /a/ is 403 `Authentication required`; the
`o=` options shape a ChangeInfo (no `revisions` without CURRENT_REVISION or ALL_REVISIONS,
accounts are `_account_id` alone without DETAILED_ACCOUNTS, ...); query results come
newest-updated first, paged by `n` and `S` with `_more_changes` on a page's last change.

It does not serve anything else (404), nor model: permissions (everyone sees everything),
label configuration (any label and value is accepted, on any patchset), inline comments,
drafts, reviewers, submitting, the LABELS option (DETAILED_LABELS only), a commit's
author, committer and parents, or OR/NOT in queries. An option or a query term it does
not know is a 400 naming this file, so that a new call fails here rather than drifting.

What it received: `requests` (every request, in order) and views of it (`calls`, `urls`,
`queries`, `reviews`, `reads`). Switches: `down` (every request refused, as by a Gerrit
that is not running), `fail()` (an error status or a transport error for the requests
matching a pattern, `times` times or for good), `close_on_review()` (a change closed by
someone else just before a review arrives).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote, unquote

import httpx

from crosscheck.drivers.gerrit.rest import GerritRestClient, RetryPolicy

#: What `GET /config/server/version` answers: the sandbox Gerrit's version.
VERSION = "3.10.2"
#: Gerrit's guard against cross-site script inclusion, the first line of a JSON body.
XSSI_LINE = ")]}'\n"
#: When the revisions and messages of the tests' changes were made, unless they say.
TIMESTAMP = "2024-05-01 10:00:00.000000000"
#: Every account's HTTP password, unless it says.
PASSWORD = "secret"
#: Query results per page when the query gives no `n` (Gerrit's default query limit).
QUERY_LIMIT = 500
#: The `o=` options of a change query or lookup it serves.
OPTIONS = frozenset(
    {"CURRENT_REVISION", "ALL_REVISIONS", "CURRENT_COMMIT", "ALL_COMMITS", "CURRENT_FILES"}
    | {"ALL_FILES", "MESSAGES", "DETAILED_ACCOUNTS", "DETAILED_LABELS"}
)


@dataclass(frozen=True)
class Account:
    """A Gerrit account; `info()` is its AccountInfo."""

    account_id: int
    username: str
    name: str = ""
    tags: tuple[str, ...] = ()
    password: str = PASSWORD

    def info(self, detailed: bool = True) -> dict[str, Any]:
        """`_account_id` alone, or with the fields DETAILED_ACCOUNTS adds."""
        if not detailed:
            return {"_account_id": self.account_id}
        info: dict[str, Any] = {
            "_account_id": self.account_id,
            "name": self.name or self.username.title(),
            "email": f"{self.username}@example.org",
            "username": self.username,
        }
        if self.tags:
            info["tags"] = list(self.tags)
        return info


#: The account `FakeGerrit.rest()` signs in as: the CI's.
CI = Account(1000001, "ci", "Acme CI")
#: The account that owns and uploads the changes, unless they say.
DEV = Account(1000002, "dev", "Developer")


@dataclass(frozen=True)
class Revision:
    """A patchset: its number, commit SHA-1, commit message and files (as Gerrit lists
    them: `/COMMIT_MSG` and any `/MERGE_LIST` too, each with its FileInfo)."""

    number: int
    sha: str
    created: str = TIMESTAMP
    uploader: int = DEV.account_id
    message: str = "A change\n"
    files: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: {"/COMMIT_MSG": {"status": "A"}}
    )
    kind: str = "REWORK"

    def ref(self, change: int) -> str:
        return f"refs/changes/{change % 100:02d}/{change}/{self.number}"


@dataclass(frozen=True)
class Message:
    """A change message (a review's text, a comment, Gerrit's own notes)."""

    author: int
    text: str
    patchset: int
    date: str = TIMESTAMP
    tag: str | None = None
    message_id: str = ""


@dataclass
class Change:
    """A change: its patchsets; its messages; the votes on it (label -> account id ->
    value). It was last updated by its newest patchset, message or merge, or at `updated`
    if that is later (an update that leaves no message: a reviewer added, a topic set)."""

    number: int
    project: str
    revisions: list[Revision]
    branch: str = "master"
    status: str = "NEW"
    subject: str = ""
    owner: int = DEV.account_id
    change_id: str = ""
    messages: list[Message] = field(default_factory=list)
    votes: dict[str, dict[int, int]] = field(default_factory=dict)
    submitted: str | None = None
    updated: str | None = None
    topic: str | None = None
    hashtags: tuple[str, ...] = ()
    work_in_progress: bool = False
    is_private: bool = False

    def __post_init__(self) -> None:
        self.change_id = self.change_id or f"I{self.number:040x}"
        self.subject = self.subject or f"Change {self.number}"

    @property
    def current(self) -> Revision:
        return max(self.revisions, key=lambda revision: revision.number)

    @property
    def created(self) -> str:
        return min(revision.created for revision in self.revisions)

    @property
    def last_update(self) -> str:
        moments = [r.created for r in self.revisions] + [m.date for m in self.messages]
        return max([*moments, self.submitted or "", self.updated or ""])

    def revision(self, revision_id: str) -> Revision | None:
        """By `current`, patchset number, or SHA-1 (a unique prefix will do)."""
        if revision_id == "current":
            return self.current
        if re.fullmatch(r"[1-9][0-9]{0,4}", revision_id):  # Gerrit's "legacy" number syntax
            return next((r for r in self.revisions if r.number == int(revision_id)), None)
        found = [r for r in self.revisions if r.sha.startswith(revision_id)]
        return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Project:
    """A project, its HEAD branch and its branches (short names)."""

    name: str
    head: str = "master"
    branches: tuple[str, ...] = ("master",)
    state: str = "ACTIVE"


class FakeGerrit:
    """The fake Gerrit (see the module's docstring); call it with a request, or use
    `rest()` for a GerritRestClient on it."""

    def __init__(
        self,
        changes: Iterable[Change] = (),
        projects: Iterable[Project] = (),
        accounts: Iterable[Account] = (),
        groups: Mapping[str, Iterable[str]] | None = None,
        *,
        down: bool = False,
    ) -> None:
        sites = (Project("All-Projects", branches=()), Project("All-Users", branches=()))
        self.accounts = {a.account_id: a for a in (CI, DEV, *accounts)}
        self.projects: dict[str, Project] = {p.name: p for p in (*sites, *projects)}
        #: Group name -> its members' usernames.
        self.groups: dict[str, list[str]] = {k: list(v) for k, v in (groups or {}).items()}
        self.changes: dict[int, Change] = {}
        for change in changes:
            self.add_change(change)
        #: Refuse every connection, as a Gerrit that is not running does.
        self.down = down
        #: Every request received, in order.
        self.requests: list[httpx.Request] = []
        self._failures: list[_Failure] = []
        self._closing: dict[int, str] = {}
        self._routes = self._route_table()

    # -- building the site ---------------------------------------------------------

    def add_change(self, change: Change) -> Change:
        """Add a change, and its project and branch if they are new."""
        project = self.projects.get(change.project) or Project(change.project, change.branch)
        if change.branch not in project.branches:
            project = Project(project.name, project.head, (*project.branches, change.branch))
        self.projects[project.name] = project
        self.changes[change.number] = change
        return change

    def account(self, username: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.username == username), None)

    def rest(
        self,
        base_url: str = "http://gerrit.test/",
        *,
        account: Account | None = CI,
        retry: RetryPolicy | None = None,
    ) -> GerritRestClient:
        """A client signed in as `account` (None: anonymous), trying each call once."""
        return GerritRestClient(
            base_url,
            account.username if account else None,
            account.password if account else None,
            retry=retry or RetryPolicy(attempts=1),
            transport=httpx.MockTransport(self),
        )

    # -- switches ------------------------------------------------------------------

    def fail(
        self,
        pattern: str,
        answer: int | type[httpx.TransportError],
        body: str = "",
        *,
        times: int | None = None,
    ) -> None:
        """Answer the requests matching `pattern` with the error status `answer` (its
        text `body`, else its reason phrase), or raise the transport error `answer`;
        `times` times, or for good. The pattern is a glob over "METHOD /path", the path
        as sent less /a: "POST */review", "GET /changes/*", "*"."""
        self._failures.append(_Failure(pattern, answer, body, times))

    def close_on_review(self, number: int, status: str = "ABANDONED") -> None:
        """Change `number` is closed (to `status`) just before its next review arrives."""
        self._closing[number] = status

    # -- what it received ----------------------------------------------------------

    @property
    def calls(self) -> list[str]:
        """Each request's path, as sent."""
        return [request.url.path for request in self.requests]

    @property
    def urls(self) -> list[httpx.URL]:
        return [request.url for request in self.requests]

    @property
    def queries(self) -> list[httpx.QueryParams]:
        """The parameters of each change query (`GET /changes/?q=...`)."""
        return [r.url.params for r in self.requests if _path(r).rstrip("/") == "/changes"]

    @property
    def reviews(self) -> list[dict[str, Any]]:
        """The body of each review posted, whatever the answer was."""
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == "POST" and r.url.path.endswith("/review")
        ]

    @property
    def reads(self) -> int:
        """How many GET requests it received."""
        return sum(request.method == "GET" for request in self.requests)

    # -- serving -------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        failure = next((f for f in self._failures if f.matches(request)), None)
        if failure is not None:
            return failure.answer_to(request)
        try:
            return _json(self._serve(request))
        except _RefusedError as refused:
            return _text(refused.status, refused.text)

    def _serve(self, request: httpx.Request) -> Any:
        call = _Call(request, self._caller(request))
        if request.method != "GET" and call.caller is None:
            raise _RefusedError(403, "Authentication required")
        path = _path(request).rstrip("/")
        for method, route, handler in self._routes:
            if (match := route.fullmatch(path)) and request.method == method:
                return handler(call, *map(unquote, match.groups()))
        raise _RefusedError(404, "Not found")

    def _caller(self, request: httpx.Request) -> Account | None:
        """The signed-in account under /a/ (401 without valid credentials), else None."""
        if not request.url.raw_path.startswith(b"/a/"):
            return None
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        credentials = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        username, _, password = credentials.partition(":")
        account = self.account(username)
        if account is None or account.password != password:
            raise _RefusedError(401, "Unauthorized")
        return account

    def _route_table(self) -> list[tuple[str, re.Pattern[str], _Handler]]:
        """(method, path, handler); a path is matched less /a and a trailing slash."""
        change, revision = r"/changes/([^/]+)", r"/revisions/([^/]+)"
        table: list[tuple[str, str, _Handler]] = [
            ("GET", r"/config/server/version", lambda call: VERSION),
            ("GET", r"/accounts/self", self._get_self),
            ("GET", r"/changes", self._query_changes),
            ("GET", change, self._get_change),
            ("GET", change + "/messages", self._get_messages),
            ("GET", change + revision + "/files", self._get_files),
            ("POST", change + revision + "/review", self._post_review),
            ("GET", r"/projects", self._list_projects),
            ("GET", r"/projects/([^/]+)/HEAD", self._get_head),
            ("GET", r"/projects/([^/]+)/branches", self._list_branches),
            ("GET", r"/groups/([^/]+)/members", self._list_members),
        ]
        return [(method, re.compile(path), handler) for method, path, handler in table]

    # -- the endpoints -------------------------------------------------------------

    def _get_self(self, call: _Call) -> Any:
        if call.caller is None:
            raise _RefusedError(403, "Authentication required")
        return call.caller.info()

    def _query_changes(self, call: _Call) -> Any:
        tests = [_term(term) for term in shlex.split(call.params.get("q", "status:open"))]
        found = [c for c in self._newest_first() if all(test(c) for test in tests)]
        start, limit = int(call.params.get("S", 0)), int(call.params.get("n", QUERY_LIMIT))
        page = [self._change_info(c, call.options()) for c in found[start : start + limit]]
        if page and start + limit < len(found):
            page[-1]["_more_changes"] = True
        return page

    def _get_change(self, call: _Call, change_id: str) -> Any:
        return self._change_info(self._change(change_id), call.options())

    def _get_messages(self, call: _Call, change_id: str) -> Any:
        return self._messages(self._change(change_id), detailed=True)

    def _get_files(self, call: _Call, change_id: str, revision_id: str) -> Any:
        return dict(self._revision(self._change(change_id), revision_id).files)

    def _post_review(self, call: _Call, change_id: str, revision_id: str) -> Any:
        change = self._change(change_id)
        revision = self._revision(change, revision_id)
        change.status = self._closing.pop(change.number, change.status)
        review: dict[str, Any] = json.loads(call.request.content or b"{}")
        labels: dict[str, int] = review.get("labels") or {}
        if labels and change.status == "ABANDONED":
            raise _RefusedError(409, "change is closed")
        assert call.caller is not None  # a write needs a signed-in caller: see _serve
        self._record(change, revision, call.caller, review)
        return {"labels": labels} if labels else {}

    def _list_projects(self, call: _Call) -> Any:
        start, limit = int(call.params.get("S", 0)), int(call.params.get("n", 0))
        names = sorted(self.projects)
        shown = names[start : start + limit] if limit else names[start:]
        listing: dict[str, dict[str, Any]] = {
            name: {"id": quote(name, safe=""), "state": self.projects[name].state} for name in shown
        }
        if shown and start + len(shown) < len(names):
            listing[shown[-1]]["_more_projects"] = True
        return listing

    def _get_head(self, call: _Call, name: str) -> Any:
        return f"refs/heads/{self._project(name).head}"

    def _list_branches(self, call: _Call, name: str) -> Any:
        project = self._project(name)
        refs = ["refs/meta/config", *(f"refs/heads/{b}" for b in sorted(project.branches))]
        tips = [{"ref": ref, "revision": _sha(name, ref)} for ref in refs]
        return [{"ref": "HEAD", "revision": project.head}, *tips]

    def _list_members(self, call: _Call, name: str) -> Any:
        if name not in self.groups:
            raise _RefusedError(404, f"Not found: {name}")
        members = (self.account(username) for username in self.groups[name])
        return [member.info() for member in members if member is not None]

    # -- the site's state ----------------------------------------------------------

    def _change(self, id_: str) -> Change:
        """A change by any id Gerrit takes; 404 when it is not here."""
        parts = id_.split("~")
        found: Change | None = None
        if parts[-1].isdigit() and len(parts) <= 2:  # number, or project~number
            found = self.changes.get(int(parts[-1]))
            found = found if found and parts[0] in (found.project, parts[-1]) else None
        elif len(parts) in (1, 3):
            matching = [c for c in self.changes.values() if c.change_id == parts[-1]]
            if len(parts) == 3:  # project~branch~Change-Id
                matching = [c for c in matching if [c.project, c.branch] == parts[:2]]
            found = matching[0] if len(matching) == 1 else None
        if found is None:
            raise _RefusedError(404, f"Not found: {id_}")
        return found

    def _revision(self, change: Change, revision_id: str) -> Revision:
        revision = change.revision(revision_id)
        if revision is None:
            raise _RefusedError(404, f"Not found: {revision_id}")
        return revision

    def _project(self, name: str) -> Project:
        if name not in self.projects:
            raise _RefusedError(404, f"Not found: {name}")
        return self.projects[name]

    def _newest_first(self) -> list[Change]:
        changes = self.changes.values()
        return sorted(changes, key=lambda c: (c.last_update, c.number), reverse=True)

    def _record(
        self, change: Change, revision: Revision, caller: Account, review: dict[str, Any]
    ) -> None:
        """A review's votes and its message, as Gerrit writes them."""
        labels: dict[str, int] = review.get("labels") or {}
        for label, value in labels.items():
            change.votes.setdefault(label, {})[caller.account_id] = value
        votes = " ".join(
            f"{label}{value:+d}" if value else f"-{label}" for label, value in labels.items()
        )
        text = f"Patch Set {revision.number}:" + (f" {votes}" if votes else "")
        if review.get("message"):
            text += f"\n\n{review['message']}"
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f000")
        change.messages.append(
            Message(caller.account_id, text, revision.number, now, review.get("tag"))
        )

    # -- Gerrit's JSON entities -----------------------------------------------------

    def _account(self, account_id: int, detailed: bool) -> dict[str, Any]:
        return self.accounts[account_id].info(detailed)

    def _change_info(self, change: Change, options: frozenset[str]) -> dict[str, Any]:
        """ChangeInfo, with what `options` ask for."""
        detailed = "DETAILED_ACCOUNTS" in options
        project = quote(change.project, safe="")
        info: dict[str, Any] = {
            "id": f"{project}~{change.number}",
            "triplet_id": f"{project}~{quote(change.branch, safe='')}~{change.change_id}",
            "project": change.project,
            "branch": change.branch,
            "hashtags": list(change.hashtags),
            "change_id": change.change_id,
            "subject": change.subject,
            "status": change.status,
            "created": change.created,
            "updated": change.last_update,
            "_number": change.number,
            "owner": self._account(change.owner, detailed),
        }
        info |= _set_fields(change)
        if options & {"CURRENT_REVISION", "ALL_REVISIONS"}:
            info["current_revision"] = change.current.sha
            info["revisions"] = self._revisions(change, options)
        if "MESSAGES" in options:
            info["messages"] = self._messages(change, detailed)
        if "DETAILED_LABELS" in options:
            info["labels"] = self._labels(change, detailed)
        return info

    def _revisions(self, change: Change, options: frozenset[str]) -> dict[str, Any]:
        shown = change.revisions if "ALL_REVISIONS" in options else [change.current]
        return {revision.sha: self._revision_info(change, revision, options) for revision in shown}

    def _revision_info(
        self, change: Change, revision: Revision, options: frozenset[str]
    ) -> dict[str, Any]:
        """RevisionInfo: commit and files only as ALL_/CURRENT_COMMIT and _FILES ask."""
        current = revision.number == change.current.number
        info: dict[str, Any] = {
            "kind": revision.kind,
            "_number": revision.number,
            "created": revision.created,
            "uploader": self._account(revision.uploader, "DETAILED_ACCOUNTS" in options),
            "ref": revision.ref(change.number),
        }
        if "ALL_COMMITS" in options or (current and "CURRENT_COMMIT" in options):
            subject = revision.message.partition("\n")[0]
            info["commit"] = {"subject": subject, "message": revision.message}
        if "ALL_FILES" in options or (current and "CURRENT_FILES" in options):
            info["files"] = dict(revision.files)
        return info

    def _messages(self, change: Change, detailed: bool) -> list[dict[str, Any]]:
        return [
            {
                "id": message.message_id or f"{change.number}-{index}",
                "author": self._account(message.author, detailed),
                "date": message.date,
                "message": message.text,
                "_revision_number": message.patchset,
            }
            | ({"tag": message.tag} if message.tag else {})
            for index, message in enumerate(change.messages, 1)
        ]

    def _labels(self, change: Change, detailed: bool) -> dict[str, Any]:
        """DETAILED_LABELS' `all`: each account's vote on each label."""
        return {
            label: {"all": [self._account(a, detailed) | {"value": v} for a, v in votes.items()]}
            for label, votes in change.votes.items()
        }


@dataclass(frozen=True)
class _Call:
    """One request being served, and who sent it (None: anonymous)."""

    request: httpx.Request
    caller: Account | None

    @property
    def params(self) -> httpx.QueryParams:
        return self.request.url.params

    def options(self) -> frozenset[str]:
        """The `o=` options; 400 for one this fake does not serve."""
        options = frozenset(self.params.get_list("o"))
        if unknown := options - OPTIONS:
            raise _RefusedError(
                400, f"options {sorted(unknown)} not served by tests/fakes/gerrit.py"
            )
        return options


_Handler = Callable[..., Any]


@dataclass
class _Failure:
    """One `FakeGerrit.fail()` switch."""

    pattern: str
    answer: int | type[httpx.TransportError]
    body: str
    times: int | None

    def matches(self, request: httpx.Request) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return fnmatchcase(f"{request.method} {_path(request)}", self.pattern)

    def answer_to(self, request: httpx.Request) -> httpx.Response:
        if self.times is not None:
            self.times -= 1
        if isinstance(self.answer, int):
            return _text(self.answer, self.body or httpx.codes.get_reason_phrase(self.answer))
        raise self.answer(self.body or f"failed as told ({self.pattern})", request=request)


class _RefusedError(Exception):
    """An error status Gerrit answers, with its text."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _path(request: httpx.Request) -> str:
    """The path as sent, without the query and without the /a of authenticated calls."""
    path = request.url.raw_path.decode().partition("?")[0]
    return path[2:] if path.startswith("/a/") else path


def _term(term: str) -> Callable[[Change], bool]:
    """One query term (`after:"2024-05-01 00:00:00"`, `project:acme/driver`) as a test."""
    operator, _, value = term.partition(":")
    if operator in ("after", "since"):
        after = _stamp(value)
        return lambda change: change.last_update >= after
    if operator in ("before", "until"):
        before = _stamp(value)
        return lambda change: change.last_update <= before
    if operator == "project":
        return lambda change: change.project == value
    if operator == "branch":
        return lambda change: change.branch == value
    if operator == "status":
        return lambda change: value.lower() in _status_words(change.status)
    raise _RefusedError(400, f"query term {term!r} not served by tests/fakes/gerrit.py")


def _status_words(status: str) -> set[str]:
    """The words `status:` finds a change by: `open` or `closed`, and its own status."""
    return {"open" if status == "NEW" else "closed", status.lower()}


def _stamp(value: str) -> str:
    """A query's date (`2024-05-01`, `2024-05-01 10:00:00[.123]`) as Gerrit writes times."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise _RefusedError(400, f"Unrecognized date/time: {value}") from error
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f000")


def _set_fields(change: Change) -> dict[str, Any]:
    """The ChangeInfo fields Gerrit leaves out when they are unset or false."""
    optional = {
        "topic": change.topic,
        "submitted": change.submitted,
        "work_in_progress": change.work_in_progress or None,
        "is_private": change.is_private or None,
    }
    return {name: value for name, value in optional.items() if value is not None}


def _sha(*names: str) -> str:
    """A made-up but stable commit SHA-1, for branch tips."""
    return hashlib.sha1("/".join(names).encode(), usedforsecurity=False).hexdigest()


def _json(body: Any) -> httpx.Response:
    text = XSSI_LINE + json.dumps(body, separators=(",", ":")) + "\n"
    return httpx.Response(
        200, text=text, headers={"content-type": "application/json; charset=UTF-8"}
    )


def _text(status: int, text: str) -> httpx.Response:
    body = text if text.endswith("\n") else text + "\n"
    return httpx.Response(status, text=body, headers={"content-type": "text/plain; charset=UTF-8"})
