"""Uploads that are validated before the page draws: one pattern for every page that takes a file.

A widget callback runs before the script, so a good file is stored and chosen in the same rerun
(the page's choice widget already offers it), and a bad one leaves the page's data as it was with
the validator's sentence kept to be shown beside the uploader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import streamlit as st


def validated_upload(
    *,
    uploader_key: str,
    parse: Callable[[bytes], Any],
    error_type: type[Exception],
    store_key: str,
    choice_key: str,
    kept: str,
) -> Callable[[], None]:
    """A callback for `st.file_uploader(on_change=...)`.

    On a good file it stores `parse(bytes)` under `store_key`, the file's id under
    `store_key + "_id"` (a hash of its content), and selects "upload" in the widget `choice_key`. On a bad one (the
    validator raises `error_type`) it stores the message under `upload_error_key(store_key)`,
    saying that the page keeps `kept`.
    """

    def read_upload() -> None:
        upload = st.session_state[uploader_key]
        st.session_state.pop(upload_error_key(store_key), None)
        if upload is None:
            return
        try:
            st.session_state[store_key] = parse(upload.getvalue())
        except error_type as problem:
            st.session_state[upload_error_key(store_key)] = (
                f"“{upload.name}” cannot be used: {problem} The page keeps {kept}."
            )
            return
        # The content's hash: identical files are the same data, so their identical presses may share a training.
        st.session_state[f"{store_key}_id"] = hashlib.sha256(upload.getvalue()).hexdigest()[:16]
        st.session_state[choice_key] = "upload"

    return read_upload


def upload_error_key(store_key: str) -> str:
    return f"{store_key}_error"


def show_upload_error(store_key: str) -> None:
    """The last upload's problem, if it had one, where the uploader is."""
    message = st.session_state.get(upload_error_key(store_key))
    if message:
        st.error(message, icon=":material/error:")


def upload_box(
    title: str,
    label: str,
    file_types: list[str],
    *,
    uploader_key: str,
    parse: Callable[[bytes], Any],
    error_type: type[Exception],
    store_key: str,
    choice_key: str,
    kept: str,
) -> None:
    """An expander with the uploader and, after a bad file, its problem (the expander then stays open)."""
    with st.expander(title, expanded=upload_error_key(store_key) in st.session_state):
        st.file_uploader(
            label,
            type=file_types,
            key=uploader_key,
            on_change=validated_upload(
                uploader_key=uploader_key,
                parse=parse,
                error_type=error_type,
                store_key=store_key,
                choice_key=choice_key,
                kept=kept,
            ),
        )
        show_upload_error(store_key)
