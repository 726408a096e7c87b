"""The checks every uploaded text file passes before a page parses it: size, emptiness, UTF-8, no binary.

The Recurrence page's CSV validator (lib.data.series) and the Translator page's TSV validator
(lib.data.corpus) both start here, so both answer a bad file with the same kind of sentence. No
Streamlit here: the validators stay testable without a page.
"""

from __future__ import annotations


def decode_text_upload(
    raw_bytes: bytes,
    *,
    max_bytes: int,
    error_type: type[Exception],
    kind: str,
    needs: str,
    fewer: str,
) -> str:
    """The upload as text, or `error_type` raised with a sentence for the user.

    `kind` names the file ("a CSV file"), `needs` says what it must hold ("a column of dates and a
    column of numbers"), `fewer` what to cut when it is too large ("a shorter series").
    """
    if len(raw_bytes) > max_bytes:
        raise error_type(
            f"The file is {len(raw_bytes) / 1e6:.1f} MB, more than the {max_bytes / 1e6:g} MB allowed: "
            f"please upload {fewer}."
        )
    if not raw_bytes.strip():
        raise error_type(f"The file is empty: it needs {needs}.")
    try:
        # "utf-8-sig" also accepts the byte-order mark that spreadsheet programs put first.
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw_bytes[: error.start].count(b"\n") + 1
        raise error_type(
            f"The file is not UTF-8 text (line {line} holds a byte that cannot be read): "
            f"please save it as {kind} encoded in UTF-8."
        ) from None
    if "\x00" in text:
        raise error_type(f"The file contains binary data, not text: please upload {kind}.")
    return text
