"""Connection URLs of the server metadata stores, built from a `metadata_store` block.

The password comes from a sensitive variable interpolated into `url`, or from the environment
variable named by `password_env` (libpq's own variables, such as PGPASSWORD, work as well).
A password written in clear in a config file is refused: config files get committed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zenctl.config.variables import Sensitive, reveal
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# The driver each store type uses unless the url names one: psycopg 3 and PyMySQL.
DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}
_SCHEMES = {"postgresql": ("postgresql", "postgres"), "mysql": ("mysql", "mariadb")}
_EXAMPLES = {
    "postgresql": 'url = "postgresql://zenctl@db.example.com:5432/zenctl"',
    "mysql": 'url = "mysql://zenctl@db.example.com:3306/zenctl"',
}
SETTINGS = ("url", "password_env")


def server_url(
    type_: str, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> URL:
    """The SQLAlchemy URL, password included, for a `metadata_store "postgresql"|"mysql"`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    environ = os.environ if environ is None else environ
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown or "url" not in settings:
        raise UserError(
            f'Invalid metadata_store "{type_}" settings',
            f'metadata_store "{type_}" takes {" and ".join(SETTINGS)}'
            + (f", not {', '.join(unknown)}" if unknown else "; url is required")
            + f'. For example: {_EXAMPLES[type_]}, with password_env = "PGPASSWORD" or a '
            "sensitive variable in the url for the password.",
        )
    raw = settings["url"]
    try:
        url = make_url(str(reveal(raw)))
    except ArgumentError:
        # Not echoed: an unparseable url may still hold a password.
        raise UserError(
            f'metadata_store "{type_}" url is not a database URL',
            f"Write it as {_EXAMPLES[type_]}.",
        ) from None
    if url.get_backend_name() not in _SCHEMES[type_]:
        raise UserError(
            f'metadata_store "{type_}" url is for another database',
            f"{url.render_as_string(hide_password=True)} is not a {type_} URL. "
            f"Write it as {_EXAMPLES[type_]}.",
        )
    if url.password is not None and not isinstance(raw, Sensitive):
        raise UserError(
            "Password in clear in the metadata_store url",
            "Config files get committed: take the password from a sensitive variable "
            '(url = "postgresql://user:${var.db_password}@host/db" with sensitive = true on the '
            'variable) or from the environment (password_env = "PGPASSWORD").',
        )
    if "+" not in url.drivername:
        url = url.set(drivername=DRIVERS[type_])
    variable = settings.get("password_env")
    if variable is not None:
        password = environ.get(str(variable))
        if password is None:
            raise UserError(
                f"Environment variable {variable} is not set",
                f'metadata_store "{type_}" takes its password from {variable} (password_env). '
                "Set it, or remove password_env to connect without a password.",
            )
        url = url.set(password=password)
    return url
