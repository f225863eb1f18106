"""The digest of the code that shapes kept answers: a deploy that changes a template or
the code of the pages changes every kept answer's tag, whatever the version says."""

from __future__ import annotations

from pathlib import Path

from crosscheck.http.shaping import code_digest, digest_of


def a_package(root: Path) -> Path:
    (root / "web" / "templates").mkdir(parents=True)
    (root / "web" / "templates" / "change.html").write_text("<h1>{{ page.change }}</h1>")
    (root / "web" / "views.py").write_text("X = 1\n")
    (root / "executor").mkdir()
    (root / "executor" / "git.py").write_text("Y = 2\n")
    return root


def test_a_template_or_the_pages_code_changed_changes_the_digest(tmp_path: Path) -> None:
    root = a_package(tmp_path)
    first = digest_of(root, "0.1.0")
    assert digest_of(root, "0.1.0") == first
    assert digest_of(root, "0.2.0") != first
    (root / "web" / "templates" / "change.html").write_text('<h1 class="x">{{ page.change }}</h1>')
    template_changed = digest_of(root, "0.1.0")
    assert template_changed != first
    (root / "web" / "views.py").write_text("X = 2\n")
    assert digest_of(root, "0.1.0") not in (first, template_changed)


def test_code_that_shapes_no_answer_leaves_the_digest_alone(tmp_path: Path) -> None:
    root = a_package(tmp_path)
    first = digest_of(root, "0.1.0")
    (root / "executor" / "git.py").write_text("Y = 3\n")
    (root / "web" / "notes.txt").write_text("not code")
    assert digest_of(root, "0.1.0") == first
    # A file moved is a change too: its name is part of the digest.
    (root / "web" / "views.py").rename(root / "web" / "view.py")
    assert digest_of(root, "0.1.0") != first


def test_this_process_digest_is_read_once_and_is_short() -> None:
    assert code_digest() is code_digest()
    assert len(code_digest()) == 12
