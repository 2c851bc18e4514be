"""`{{name}}` placeholders: the one way instructions, prompt templates and completion messages
are filled from variables."""

from __future__ import annotations

import re

from store.errors import BadRequestError

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


def interpolate(
    text: str, variables: dict[str, str] | None, param: str, *, source: str = "variables"
) -> str:
    """Fill `{{name}}` placeholders; a placeholder with no variable is a 400 naming it (and
    `source`, the parameter that carries the variables)."""
    if "{{" not in text:
        return text

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if variables is None or name not in variables:
            raise BadRequestError(
                f"Missing variable '{name}' for the placeholder '{{{{{name}}}}}' in '{param}'. "
                f"Pass it in '{source}'.",
                param=f"{source}.{name}",
                code="missing_variable",
            )
        return variables[name]

    return _VARIABLE.sub(fill, text)
