"""`zenctl fmt`: rewrite `*.zc.hcl` files in canonical style, comments and all."""

from zenctl.fmt.formatter import FormatResult, format_paths, format_source
from zenctl.fmt.tokens import FormatError

__all__ = ["FormatError", "FormatResult", "format_paths", "format_source"]
