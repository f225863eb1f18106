"""The `ci` element's admin token, read from where the configuration names it.

(The keys themselves are checked in test_results_settings.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.config.secrets import SecretError, admin_token
from crosscheck.model.config import CISettings


def test_the_token_is_read_from_where_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("from-the-file\n")
    monkeypatch.setenv("ADMIN_TOKEN_FOR_TEST", "from-the-variable")
    assert admin_token(CISettings()) is None
    assert admin_token(CISettings(admin_token_file=tmp_path / "token")) == "from-the-file"
    assert admin_token(CISettings(admin_token_env="ADMIN_TOKEN_FOR_TEST")) == "from-the-variable"
    with pytest.raises(SecretError, match="UNSET_ADMIN_TOKEN_VARIABLE is not set"):
        admin_token(CISettings(admin_token_env="UNSET_ADMIN_TOKEN_VARIABLE"))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretError, match="is empty"):
        admin_token(CISettings(admin_token_file=tmp_path / "empty"))
