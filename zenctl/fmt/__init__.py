"""`zenctl fmt`: rewrite `*.zc.hcl` files in canonical style, comments and all."""

from zenctl.config.tokens import FormatError
from zenctl.fmt.formatter import FormatResult, format_paths, format_source

__all__ = ["FormatError", "FormatResult", "format_paths", "format_source"]
