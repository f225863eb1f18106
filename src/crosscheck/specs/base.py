"""The base of every element's spec, and the rules for secrets named in one."""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class Spec(BaseModel):
    """An element as written: unknown keys are errors, and a checked spec never changes.

    Each spec's validator is built when first used: most configurations use a few of the
    element kinds, and building them all is a tenth of `config check`'s start-up.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def no_inline(key: str) -> AfterValidator:
    """Refuse a secret written in the configuration, pointing at its `_env`/`_file` keys."""

    def refuse(value: Any) -> Any:
        if value is not None:
            raise ValueError(
                f"{key} must not be written in the configuration: name a file with "
                f"{key}_file or an environment variable with {key}_env"
            )
        return value

    return AfterValidator(refuse)


def one_source(spec: BaseModel, key: str) -> None:
    """A secret comes from an environment variable or a file, never from both."""
    if getattr(spec, f"{key}_env") and getattr(spec, f"{key}_file"):
        raise ValueError(f"give {key}_env or {key}_file, not both")
