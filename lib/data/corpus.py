"""English→French sentence pairs as the Translator, Attention and Transformer pages read them.

The pairs themselves come from the grammar in `lib.data.grammar` (with their gold word alignments)
or from a file a user uploads. This module holds what every translator does with them, whichever
their source:

- tokenization (`tokenize`, `detokenize`), the word-level `Vocabulary` with its special words
  <pad>, <s>, </s> and <unk>, and the padded arrays for teacher forcing (`encode_pairs`);
- the training and held-out parts (`Corpus`; `split_pairs` for uploaded pairs, `make_corpus` in
  `lib.data.grammar` for the grammar's) and their length distribution;
- the validator of an uploaded tab-separated file of pairs (`parse_sentence_pairs_tsv`).

It imports neither Keras nor Streamlit.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lib.data.text_files import decode_text_upload

# --------------------------------------------------------------------------------------------------
# Tokenization and vocabularies
# --------------------------------------------------------------------------------------------------

PAD, START, END, UNKNOWN = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, START, END, UNKNOWN)
PAD_ID, START_ID, END_ID, UNKNOWN_ID = range(4)

# A word with its elided article glued ("l'", "qu'") is split after the apostrophe; punctuation
# marks are words of their own; digits and letters (with accents) make words.
_TOKEN = re.compile(r"[^\W\d_]+'|\w+|[^\w\s]")
_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", ")", "…"}


def normalize(text: str) -> str:
    """Lower case, typographic apostrophes made plain, runs of spaces made one."""
    return " ".join(text.replace("’", "'").replace("\u00a0", " ").lower().split())


def tokenize(text: str) -> list[str]:
    """Words of a sentence: lower case, punctuation split off, "j'aime" → ["j'", "aime"]."""
    return _TOKEN.findall(normalize(text))


def detokenize(tokens: Sequence[str]) -> str:
    """Join words back into a sentence: no space after an apostrophe or before punctuation."""
    text = ""
    for token in tokens:
        if not text or text.endswith("'") or token in _NO_SPACE_BEFORE:
            text += token
        else:
            text += " " + token
    return text


@dataclass
class Vocabulary:
    """A word ↔ id table; ids 0-3 are <pad>, <s>, </s> and <unk>, then words by falling frequency."""

    words: list[str]
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        if tuple(self.words[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"A vocabulary must start with {SPECIALS}.")
        self.index = {word: position for position, word in enumerate(self.words)}

    @classmethod
    def from_sentences(cls, sentences: Iterable[str], min_count: int = 1, max_size: int | None = None) -> Vocabulary:
        """Every word seen at least `min_count` times, most frequent first (ties in alphabetical order)."""
        counts = Counter(token for sentence in sentences for token in tokenize(sentence))
        ranked = sorted(
            (word for word, count in counts.items() if count >= min_count and word not in SPECIALS),
            key=lambda word: (-counts[word], word),
        )
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(SPECIALS))]
        return cls([*SPECIALS, *ranked])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, sentence: str | Sequence[str], add_start: bool = False, add_end: bool = False) -> list[int]:
        """Ids of a sentence's words; a word not in the table becomes <unk>."""
        tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
        ids = [self.index.get(token, UNKNOWN_ID) for token in tokens]
        return ([START_ID] if add_start else []) + ids + ([END_ID] if add_end else [])

    def unknown_words(self, sentence: str) -> list[str]:
        """The words of a sentence that the table does not hold, in order, each once."""
        return list(dict.fromkeys(token for token in tokenize(sentence) if token not in self.index))

    def tokens(self, ids: Iterable[int], stop_at_end: bool = True) -> list[str]:
        """Words of ids, skipping <pad> and <s>, and stopping at </s> unless told otherwise."""
        words = []
        for token_id in ids:
            token_id = int(token_id)
            if token_id == END_ID and stop_at_end:
                break
            if token_id in (PAD_ID, START_ID):
                continue
            words.append(self.words[token_id] if 0 <= token_id < len(self.words) else UNKNOWN)
        return words

    def decode(self, ids: Iterable[int], stop_at_end: bool = True) -> str:
        return detokenize(self.tokens(ids, stop_at_end))

    def to_json(self) -> str:
        return json.dumps({"words": self.words}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        return cls(list(json.loads(text)["words"]))

    def frame(self, counts_from: Iterable[str] | None = None) -> pd.DataFrame:
        """The table for display: id, word and (given sentences) how often the word occurs."""
        frame = pd.DataFrame({"id": range(len(self.words)), "word": self.words})
        if counts_from is not None:
            counts = Counter(token for sentence in counts_from for token in tokenize(sentence))
            frame["count"] = [counts.get(word, 0) for word in self.words]
        return frame


@dataclass
class EncodedPairs:
    """Padded int32 arrays for teacher forcing, all padded with <pad> = 0 at the end.

    The decoder reads <s> and the target, and must predict the target followed by </s>: at step t
    its input is the gold word t-1 (teacher forcing) and its target the gold word t.
    """

    encoder_input: np.ndarray  # (sentences, source length)
    decoder_input: np.ndarray  # (sentences, target length + 1): <s> w1 … wn
    decoder_target: np.ndarray  # (sentences, target length + 1): w1 … wn </s>

    def __len__(self) -> int:
        return len(self.encoder_input)

    @property
    def inputs(self) -> list[np.ndarray]:
        return [self.encoder_input, self.decoder_input]


def pad_sequences(sequences: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Pad with 0 at the end (or cut) to `length`."""
    array = np.zeros((len(sequences), length), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        sequence = list(sequence)[:length]
        array[row, : len(sequence)] = sequence
    return array


def encode_pairs(
    pairs: Sequence[tuple[str, str]],
    source_vocabulary: Vocabulary,
    target_vocabulary: Vocabulary,
    max_source_length: int | None = None,
    max_target_length: int | None = None,
) -> EncodedPairs:
    """Turn (English, French) pairs into the three padded arrays of teacher forcing.

    Lengths default to the longest sentence of `pairs`; pass the training set's lengths to encode a
    held-out set the same way. Longer sentences are cut (a cut target loses its </s>).
    """
    sources = [source_vocabulary.encode(english) for english, _ in pairs]
    targets = [target_vocabulary.encode(french) for _, french in pairs]
    source_length = max_source_length or max((len(s) for s in sources), default=1)
    target_length = max_target_length or max((len(t) for t in targets), default=1)
    return EncodedPairs(
        encoder_input=pad_sequences(sources, source_length),
        decoder_input=pad_sequences([[START_ID, *t] for t in targets], target_length + 1),
        decoder_target=pad_sequences([[*t, END_ID] for t in targets], target_length + 1),
    )


# --------------------------------------------------------------------------------------------------
# Training and held-out pairs
# --------------------------------------------------------------------------------------------------


@dataclass
class Corpus:
    """Training and held-out pairs; no English sentence of `test` appears in `train`."""

    train: list[tuple[str, str]]
    test: list[tuple[str, str]]
    seed: int
    source: str = "grammar"  # "grammar" or "upload"
    # For a corpus drawn from the grammar, the gold alignment of each held-out pair, in the order of
    # `test` (see `lib.data.grammar.render_aligned`); None for uploaded pairs, whose alignment nobody knows.
    test_alignments: list[tuple[int, ...]] | None = None


def split_pairs(
    pairs: Sequence[tuple[str, str]], test_fraction: float = 0.1, seed: int = 0, max_test: int = 1000
) -> Corpus:
    """Split uploaded pairs into train and held-out parts with no English sentence in both."""
    by_english: dict[str, str] = {}
    for english, french in pairs:
        by_english.setdefault(normalize(english), french)
    unique = list(by_english.items())
    order = np.random.default_rng(seed).permutation(len(unique))
    test_count = min(max_test, max(1, int(round(len(unique) * test_fraction)))) if len(unique) > 1 else 0
    chosen = [unique[index] for index in order]
    return Corpus(train=chosen[test_count:], test=chosen[:test_count], seed=seed, source="upload")


def length_distribution(pairs: Iterable[tuple[str, str]], split: str = "") -> pd.DataFrame:
    """Counts of sentences by length in words: columns split, language, words, sentences."""
    rows = Counter()
    for english, french in pairs:
        rows[("English", len(tokenize(english)))] += 1
        rows[("French", len(tokenize(french)))] += 1
    frame = pd.DataFrame(
        [
            {"split": split, "language": language, "words": words, "sentences": count}
            for (language, words), count in sorted(rows.items())
        ],
        columns=["split", "language", "words", "sentences"],
    )
    return frame


# --------------------------------------------------------------------------------------------------
# Uploaded sentence pairs
# --------------------------------------------------------------------------------------------------


class SentencePairsError(ValueError):
    """An uploaded file of sentence pairs cannot be used; the message is a sentence meant for the user."""


def _line_list(numbers: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(number) for number in numbers[:limit])
    more = len(numbers) - limit
    return shown + (f" and {more:,} more" if more > 0 else "")


def parse_sentence_pairs_tsv(
    raw_bytes: bytes,
    max_bytes: int = 2_000_000,
    max_lines: int = 50_000,
    max_words: int = 40,
    min_pairs: int = 20,
) -> list[tuple[str, str]]:
    """Validate a tab-separated file of pairs, `English<TAB>French[<TAB>anything]`, and return its pairs.

    This is the format of the public sentence-pair collections (Tatoeba's exports, manythings.org):
    a third column (often attribution) is ignored, and blank lines are skipped. Raises
    `SentencePairsError` with a sentence naming the offending lines when the file cannot be used.
    """
    text = decode_text_upload(
        raw_bytes,
        max_bytes=max_bytes,
        error_type=SentencePairsError,
        kind="a tab-separated text file",
        needs="one English<TAB>French pair per line",
        fewer="fewer sentence pairs",
    )
    lines = text.splitlines()
    if len(lines) > max_lines:
        raise SentencePairsError(
            f"The file has {len(lines):,} lines, more than the {max_lines:,} allowed: please upload fewer pairs."
        )
    pairs: list[tuple[str, str]] = []
    missing_tab, empty_side, too_long = [], [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            missing_tab.append(number)
            continue
        english, french = (part.strip() for part in line.split("\t")[:2])
        if not english or not french:
            empty_side.append(number)
            continue
        if max(len(tokenize(english)), len(tokenize(french))) > max_words:
            too_long.append(number)
            continue
        pairs.append((english, french))

    if missing_tab:
        raise SentencePairsError(
            f"{len(missing_tab):,} line(s) have no tab between the English and the French sentence "
            f"(line {_line_list(missing_tab)}): each line must read English<TAB>French."
        )
    if empty_side:
        raise SentencePairsError(
            f"{len(empty_side):,} line(s) have an empty English or French side (line {_line_list(empty_side)})."
        )
    if too_long:
        raise SentencePairsError(
            f"{len(too_long):,} line(s) have a sentence of more than {max_words} words "
            f"(line {_line_list(too_long)}): please shorten or remove them."
        )
    if len(pairs) < min_pairs:
        raise SentencePairsError(
            f"The file holds {len(pairs):,} sentence pairs, fewer than the {min_pairs:,} needed "
            "to train a translator and keep some held out."
        )
    return pairs
