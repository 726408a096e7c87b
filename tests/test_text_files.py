"""The shared checks of an uploaded text file: what a user sees when the file is not usable text."""

from __future__ import annotations

import pytest

from lib.data.text_files import decode_text_upload


class UploadProblem(ValueError):
    pass


def decode(raw: bytes, max_bytes: int = 1000) -> str:
    return decode_text_upload(
        raw,
        max_bytes=max_bytes,
        error_type=UploadProblem,
        kind="a CSV file",
        needs="two columns",
        fewer="a shorter file",
    )


def test_good_text_comes_back_without_the_byte_order_mark():
    assert decode("\ufeffa,b\n1,2\n".encode("utf-8")) == "a,b\n1,2\n"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"x" * 1001, "more than the 0.001 MB allowed: please upload a shorter file"),
        (b" \n\n", "The file is empty: it needs two columns"),
        ("a,b\n1,2\n3,\u00e9\n".encode("latin-1"), "line 3 holds a byte that cannot be read"),
        (b"a,b\n\x00\x00", "binary data, not text: please upload a CSV file"),
    ],
    ids=["too-large", "empty", "not-utf8-line-3", "binary"],
)
def test_bad_files_get_a_sentence_naming_the_problem(raw, says):
    with pytest.raises(UploadProblem, match=says):
        decode(raw)
