"""Secrets masked in what a step leaves behind (its log, its error), as GitHub Actions masks
them: each occurrence becomes `***` as it is written, so no file ever holds the value.

A secret is masked in the forms a step is likely to print it in: as is, as Python's repr and
JSON strings show it, URL-encoded, and in base64 (also where it starts at any byte offset of
the encoded data, as in an HTTP Basic header). A secret with line breaks is masked whole and
line by line, each line stripped. Any form, or line of one, shorter than MIN_LENGTH characters
is not masked: masking `a` or `on` everywhere would leave a log nobody can read, and a value
that short can be guessed anyway (docs/variables.md#secrets-in-step-logs-and-errors).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from zenctl.config.types import convert_value
from zenctl.config.variables import Sensitive, reveal

MASK = b"***"
MIN_LENGTH = 4
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def secret_texts(value: Any) -> set[str]:
    """The text of each secret in `value`: every string or number inside a `Sensitive`, at
    any depth (variables, params). A bool is no secret worth masking: it has two values."""
    if isinstance(value, Sensitive):
        return set(_leaves(reveal(value)))
    if isinstance(value, list):
        return {text for item in value for text in secret_texts(item)}
    if isinstance(value, dict):
        return {text for item in value.values() for text in secret_texts(item)}
    return set()


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield convert_value(value, "string")  # as "${var.x}" writes it: 5432, 0.25


def _forms(secret: str) -> Iterator[str]:
    yield secret
    yield repr(secret)[1:-1]
    yield json.dumps(secret)[1:-1]
    yield json.dumps(secret, ensure_ascii=False)[1:-1]
    yield quote(secret, safe="")
    yield quote_plus(secret, safe="")
    data = secret.encode("utf-8", "surrogatepass")
    for shift in range(3):
        # base64 of the secret behind `shift` unknown bytes: the characters that the secret's
        # bytes alone decide (whole groups of 3 bytes, none shared with the prefix)...
        full = base64.b64encode(bytes(shift) + data)
        whole = (shift + len(data)) // 3 * 4
        start, rest = (0, 2, 3)[shift], (shift + len(data)) % 3
        texts = [full[start:whole].decode()]
        if rest:  # ...and of its last bytes' group, the characters they alone decide, or, where
            # the secret ends the encoded text, the whole group with its padding
            texts += [full[start : whole + rest].decode(), full[start:].decode()]
        if shift == 1 and data:  # the character it shares with the byte before: 4 of its bits
            lead = [_B64[(high << 4) | data[0] >> 4] for high in range(4)]
            texts += [char + text for char in lead for text in texts]
        for text in texts:
            # twice as long as other forms: short runs of base64 turn up in any encoded data
            if len(text) >= 2 * MIN_LENGTH:
                yield text
                yield text.translate(str.maketrans("+/", "-_"))  # the URL-safe alphabet


def _masks(secret: str) -> Iterator[str]:
    for form in _forms(secret):
        yield form
        yield from (line.strip() for line in form.splitlines())


class Masker:
    """Masks the given secrets in bytes or text: leftmost occurrence first, and where several
    start at the same place the longest (a secret that extends another is masked whole)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        masks = {
            mask.encode("utf-8", "surrogatepass")
            for secret in secrets
            for mask in _masks(secret)
            if len(mask) >= MIN_LENGTH
        }
        # longest first: at one position, the regex takes the first alternative that matches
        self._masks = sorted(masks, key=lambda mask: (-len(mask), mask))
        self._pattern = (
            re.compile(b"|".join(re.escape(mask) for mask in self._masks)) if masks else None
        )
        self._first_bytes = {mask[0] for mask in masks}

    def __bool__(self) -> bool:
        """Whether there is anything to mask."""
        return self._pattern is not None

    def mask(self, data: bytes) -> bytes:
        return data if self._pattern is None else self._pattern.sub(MASK, data)

    def mask_text(self, text: str) -> str:
        # UTF-8 is self-synchronizing: a mask matches only at character boundaries
        data = text.encode("utf-8", "surrogatepass")
        return self.mask(data).decode("utf-8", "surrogatepass")

    def search(self, data: bytes, start: int) -> re.Match[bytes] | None:
        return None if self._pattern is None else self._pattern.search(data, start)

    def undecided(self, data: bytes, start: int) -> int:
        """Where the end of `data` could begin a secret that the next bytes complete (or extend
        into a longer one), from `start` on: len(data) if nowhere."""
        longest = len(self._masks[0]) if self._masks else 0
        view = memoryview(data)  # no copy of the tail at each position: secrets can be long
        for position in range(max(start, len(data) - longest + 1), len(data)):
            if data[position] in self._first_bytes:
                size = len(data) - position
                tail = view[position:]
                if any(len(mask) > size and mask.startswith(tail) for mask in self._masks):
                    return position
        return len(data)


class MaskedStream:
    """Masks a stream that arrives in pieces (a step's output, read from a pipe) exactly as
    `Masker.mask` masks it whole: a secret split across two writes is masked all the same.

    Only the end of a piece that could begin a secret is held back, until the next piece
    decides; the rest is given out at once. A complete line is held back only while it is the
    start of a secret with line breaks. `end` gives out what is held when the stream ends.
    """

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        data = self._held + data
        out: list[bytes] = []
        position = 0
        undecided = self._masker.undecided(data, 0)
        # A match that starts before the undecided end is final: every secret that could start
        # there matches whole or already differs, so the longest one is known.
        while (found := self._masker.search(data, position)) and found.start() < undecided:
            out += [data[position : found.start()], MASK]
            position = found.end()
            if position > undecided:  # the match covered it: look again past the match
                undecided = self._masker.undecided(data, position)
        out.append(data[position:undecided])
        self._held = data[undecided:]
        return b"".join(out)

    def end(self) -> bytes:
        held, self._held = self._held, b""
        return self._masker.mask(held)
