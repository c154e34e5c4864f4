"""Secrets masked in step logs and errors as they are written (zenctl/apply/masking.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zenctl.apply.masking import MIN_LENGTH, MaskedStream, Masker, secret_texts
from zenctl.apply.task import masked_log
from zenctl.config.variables import Sensitive

SECRET = "hunter2-x9"


def streamed(masker: Masker, pieces: list[bytes]) -> bytes:
    stream = MaskedStream(masker)
    return b"".join([*(stream.feed(piece) for piece in pieces), stream.end()])


def test_a_secret_split_across_writes_is_masked_at_every_cut() -> None:
    masker = Masker([SECRET])
    text = f"token={SECRET}; again {SECRET}\n".encode()
    for cut in range(len(text) + 1):
        assert streamed(masker, [text[:cut], text[cut:]]) == b"token=***; again ***\n"
    assert streamed(masker, [bytes([byte]) for byte in text]) == b"token=***; again ***\n"


def test_only_what_could_begin_a_secret_is_held_back() -> None:
    stream = MaskedStream(Masker([SECRET]))
    assert stream.feed(b"loading... hunt") == b"loading... "
    assert stream.feed(b"ing\n") == b"hunting\n"  # not the secret after all: given out
    assert stream.feed(b"a whole line\n") == b"a whole line\n"
    assert stream.feed(b"ends with hunter2") == b"ends with "
    assert stream.end() == b"hunter2"  # the step ended: nothing can complete it


def test_a_secret_that_extends_another_is_masked_whole() -> None:
    masker = Masker(["abcd1234", "abcd1234-long", "1234-long"])
    assert masker.mask(b"[abcd1234-long] [abcd1234-lo] [1234-long]") == b"[***] [***-lo] [***]"
    assert streamed(masker, [b"[abcd1234", b"-lo", b"ng]"]) == b"[***]"


def test_a_secret_is_masked_in_the_forms_a_step_prints_it() -> None:
    secret = "it's a \\secret\n2nd-line"
    masker = Masker([secret])
    printed = [
        secret,
        repr(secret),
        json.dumps({"key": secret}),
        f"https://host/?q={quote(secret, safe='')}",
        f"Authorization: Basic {base64.b64encode(f'user:{secret}'.encode()).decode()}",
    ]
    for text in printed:
        masked = masker.mask_text(text)
        assert "***" in masked
        for part in ("secret", "2nd-line", "c2VjcmV0", "c2Vjcm"):  # base64 of "secret"
            assert part not in masked, (text, masked)


@pytest.mark.parametrize("secret", ["SuperSecretTok9x", "SuperSecretTok9xy", "SuperSecretTok9z"])
@pytest.mark.parametrize("prefix", ["", "a", "ab", "user:", "ab:"])
def test_base64_of_a_secret_keeps_no_character_that_only_the_secret_decides(
    secret: str, prefix: str
) -> None:
    """Where the secret ends the encoded text (an HTTP Basic header's password), its last
    group is masked with its padding; only characters of the prefix's own bytes stay, and
    the one the prefix shares with the secret's first byte (2 of its bits at most)."""
    masker = Masker([secret])
    encoded = base64.b64encode(f"{prefix}{secret}".encode())
    kept = masker.mask(encoded).decode().removesuffix("***")
    assert "***" not in kept  # the mask is the end
    prefix_only = len(prefix) // 3 * 4 + (0, 1, 2)[len(prefix) % 3]  # chars of the prefix alone
    assert len(kept) <= prefix_only + (1 if len(prefix) % 3 == 2 else 0), (encoded, kept)


def test_each_line_of_a_secret_is_masked_and_short_ones_are_not() -> None:
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"
    masker = Masker([pem, "abc", '{\n  "k": "v-long-enough"\n}'])
    assert masker.mask_text(f"{pem}\n") == "***\n"
    assert masker.mask_text("key MIIEvQIBADANBg here") == "key *** here"
    # shorter than MIN_LENGTH: a secret, or a line of one, left as is
    assert masker.mask_text('abc {\n  "k": "v-long-enough"\n}') == "abc ***"
    assert masker.mask_text('{\n"k": "v-long-enough"}') == "{\n***}"
    assert not Masker(["a" * (MIN_LENGTH - 1), ""])
    assert Masker(["a" * MIN_LENGTH]).mask_text("aaaaa") == "***a"


def test_the_secrets_in_values_are_their_strings_and_numbers() -> None:
    variables = {
        "token": Sensitive("tok-1234"),
        "port": Sensitive(5432),
        "ratio": Sensitive(0.25),
        "flag": Sensitive(True),
        "keys": Sensitive({"a": ["k1-long", "k2-long"]}),
        "params": {"header": Sensitive("Bearer tok-1234"), "list": [Sensitive("in-a-list")]},
        "plain": "not-a-secret",
    }
    assert secret_texts(variables) == {
        "tok-1234",
        "5432",
        "0.25",
        "k1-long",
        "k2-long",
        "Bearer tok-1234",
        "in-a-list",
    }


def test_a_process_left_running_does_not_hold_the_step_back(tmp_path: Path) -> None:
    """A background child keeps the pipe open: what was written is kept all the same."""
    log = tmp_path / "step.log"
    children: list[subprocess.Popen[bytes]] = []

    def step() -> None:
        with masked_log(log, Masker([SECRET])) as fd:
            children.append(subprocess.Popen(["sleep", "60"], stdout=fd))
            sys.stdout.flush()
            with open(fd, "w", closefd=False) as out:
                out.write(f"before {SECRET[:3]}")
                out.flush()
                out.write(f"{SECRET[3:]} after\n")

    try:
        thread = threading.Thread(target=step)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "the log waited for the background process"
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert log.read_text() == "before *** after\n"


ALPHABET = "ab\n'\\é*"


@st.composite
def _secrets_and_text(draw: st.DrawFn) -> tuple[list[str], bytes, list[int]]:
    secrets = draw(st.lists(st.text(ALPHABET, min_size=1, max_size=8), min_size=1, max_size=3))
    parts = st.one_of(st.sampled_from(secrets), st.text(ALPHABET, max_size=6))
    text = "".join(draw(st.lists(parts, max_size=12))).encode()
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=8))
    return secrets, text, sorted(cuts)


@settings(max_examples=300)  # fast: a search wider than the profile's default
@given(_secrets_and_text())
def test_masking_in_pieces_is_masking_whole(case: tuple[list[str], bytes, list[int]]) -> None:
    secrets, text, cuts = case
    masker = Masker(secrets)
    pieces = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    stream = MaskedStream(masker)
    out = b""
    for index, piece in enumerate(pieces):
        out += stream.feed(piece)
        if piece.endswith(b"\n") and not any("\n" in secret for secret in secrets):
            # a complete line is never held back when no secret spans lines
            assert out == masker.mask(b"".join(pieces[: index + 1]))
    out += stream.end()
    assert out == masker.mask(text)
    for secret in secrets:
        if len(secret) >= MIN_LENGTH and "*" not in secret:  # "***" could complete it
            assert secret.encode() not in out
