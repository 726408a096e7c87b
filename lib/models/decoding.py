"""The decoding every translator shares, and what is measured by decoding: greedy, beam, the text box.

A translator here is anything that follows `StepTranslator`: `encode(source_ids) -> state` and
`step(previous_ids, state) -> (probabilities, state, extras)`. The seq2seq of the Translator page
(`lib.models.seq2seq.Seq2SeqTranslator`) follows it, and so do the attention and Transformer
translators, whose `extras` can carry the attention weights of the step (`greedy_decode` keeps them
in its trace). This module holds:

- greedy decoding, traced step by step for the page (`greedy_decode`) and batched for evaluation
  (`greedy_decode_batch`), and beam search;
- the text box's input handling (`prepare_source`);
- the held-out measurements: the train/test mismatch (teacher-forced against greedy token
  accuracy), BLEU and exact matches (`evaluate_translator`), and a Keras callback writing the
  held-out BLEU into the epoch logs.

Nothing here imports Keras or TensorFlow except the callback, inside its function.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from lib.data.bleu import corpus_bleu, exact_match_rate
from lib.data.corpus import END_ID, PAD_ID, START_ID, UNKNOWN, EncodedPairs, Vocabulary, encode_pairs, tokenize

if TYPE_CHECKING:
    import keras

    from lib.models.translator_base import Translator

# The text box translates at most this many English words; longer input is cut with a warning.
MAX_INPUT_WORDS = 40
# Held-out sentences the live BLEU chart decodes at each epoch's end (a sample: the tables decode them all).
LIVE_BLEU_SENTENCES = 200


# --------------------------------------------------------------------------------------------------
# The decoding protocol
# --------------------------------------------------------------------------------------------------


class StepTranslator(Protocol):
    """What every decoding function needs from a model; the attention pages implement it too.

    `state` is a list of arrays whose first axis is the batch (beam search reorders them by that
    axis). `extras` is a dict of per-batch arrays (attention weights, say), or empty.
    """

    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]: ...

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]: ...


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


@dataclass
class DecodeStep:
    """One step of greedy decoding: the candidates for the next word and the one fed back."""

    position: int
    top_words: list[tuple[str, float]]  # the top-k next words with their probabilities, best first
    chosen: str
    chosen_probability: float
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the attention weights of this step


@dataclass
class DecodeTrace:
    token_ids: list[int]  # the output, without </s>
    words: list[str]
    text: str
    stopped_at_end: bool  # False when the length cap ended decoding before </s>
    steps: list[DecodeStep]

    @property
    def log_probability(self) -> float:
        return float(sum(math.log(max(step.chosen_probability, 1e-12)) for step in self.steps))

    def steps_frame(self) -> pd.DataFrame:
        """One row per step and candidate, for a table or chart: step, rank, word, probability, fed_back."""
        rows = [
            {
                "step": step.position,
                "rank": rank + 1,
                "word": word,
                "probability": probability,
                "fed_back": word == step.chosen,
            }
            for step in self.steps
            for rank, (word, probability) in enumerate(step.top_words)
        ]
        return pd.DataFrame(rows, columns=["step", "rank", "word", "probability", "fed_back"])


def default_max_length(source_length: int) -> int:
    """The length cap of decoding: French runs a little longer than English (ne … pas, parce que)."""
    return int(2 * source_length + 5)


def greedy_decode(
    translator: StepTranslator, source_ids: Sequence[int], max_length: int | None = None, top_k: int = 5
) -> DecodeTrace:
    """Decode one sentence greedily, feeding each most probable word back, until </s> or `max_length` words.

    Every step records the top-k candidates and their probabilities, so a page can replay it.
    """
    source_ids = [int(i) for i in source_ids]
    max_length = max_length or default_max_length(len(source_ids))
    vocabulary = translator.target_vocabulary
    state = translator.encode(np.asarray([source_ids or [PAD_ID]], dtype=np.int32))
    previous = START_ID
    output: list[int] = []
    steps: list[DecodeStep] = []
    stopped = False
    for position in range(max_length + 1):  # + 1: room for </s> after max_length words
        probabilities, state, extras = translator.step(np.asarray([previous]), state)
        row = probabilities[0]
        best = np.argsort(-row, kind="stable")[:top_k]
        chosen = int(best[0])
        steps.append(
            DecodeStep(
                position=position + 1,
                top_words=[(vocabulary.words[i], float(row[i])) for i in best],
                chosen=vocabulary.words[chosen],
                chosen_probability=float(row[chosen]),
                extras={key: np.asarray(value)[0] for key, value in extras.items()},
            )
        )
        if chosen == END_ID:
            stopped = True
            break
        if position == max_length:
            break
        output.append(chosen)
        previous = chosen
    words = vocabulary.tokens(output)
    return DecodeTrace(output, words, vocabulary.decode(output), stopped, steps)


def greedy_decode_batch(
    translator: StepTranslator, source_array: np.ndarray, max_length: int, batch_size: int = 512
) -> list[list[int]]:
    """Greedy outputs (ids without </s>) of many sentences at once: one decoder step per position for
    the whole batch, stopping when every sentence has written </s> or `max_length` words."""
    results: list[list[int]] = []
    source_array = np.asarray(source_array, dtype=np.int32)
    for start in range(0, len(source_array), batch_size):
        chunk = source_array[start : start + batch_size]
        state = translator.encode(chunk)
        previous = np.full(len(chunk), START_ID, dtype=np.int32)
        outputs = np.zeros((len(chunk), max_length), dtype=np.int32)
        finished = np.zeros(len(chunk), dtype=bool)
        for position in range(max_length):
            probabilities, state, _ = translator.step(previous, state)
            chosen = probabilities.argmax(axis=-1).astype(np.int32)
            finished |= chosen == END_ID
            outputs[:, position] = np.where(finished, PAD_ID, chosen)
            if finished.all():
                break
            previous = chosen
        results.extend([int(i) for i in row if i != PAD_ID] for row in outputs)
    return results


@dataclass
class BeamResult:
    token_ids: list[int]
    words: list[str]
    text: str
    score: float  # log-probability divided by length ** length_penalty
    log_probability: float
    candidates: pd.DataFrame  # the finished hypotheses, best first: text, words, log_probability, score


def beam_search(
    translator: StepTranslator,
    source_ids: Sequence[int],
    width: int = 4,
    max_length: int | None = None,
    length_penalty: float = 1.0,
) -> BeamResult:
    """Keep the `width` most probable partial translations at each step; return the best finished one.

    A hypothesis finishes when it writes </s>. Finished hypotheses are ranked by log-probability
    divided by (words + 1) ** `length_penalty` (1: the mean log-probability per word, including
    </s>), since a plain sum would always prefer stopping early. Width 1 is greedy decoding.
    """
    source_ids = [int(i) for i in source_ids]
    max_length = max_length or default_max_length(len(source_ids))
    vocabulary = translator.target_vocabulary
    state = translator.encode(np.asarray([source_ids or [PAD_ID]], dtype=np.int32))
    beams: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[tuple[list[int], float]] = []
    for position in range(max_length + 1):
        previous = np.asarray([tokens[-1] if tokens else START_ID for tokens, _ in beams], dtype=np.int32)
        probabilities, state, _ = translator.step(previous, state)
        log_probabilities = np.log(np.maximum(probabilities, 1e-12))
        totals = np.asarray([score for _, score in beams])[:, None] + log_probabilities
        if position == max_length:  # The cap: only </s> may follow.
            for row, (tokens, _) in enumerate(beams):
                finished.append((tokens, float(totals[row, END_ID])))
            break
        order = np.argsort(-totals, axis=None, kind="stable")
        next_beams: list[tuple[list[int], float]] = []
        parents: list[int] = []
        for flat in order:
            row, word = divmod(int(flat), totals.shape[1])
            if word == END_ID:
                finished.append((beams[row][0], float(totals[row, word])))
            elif word not in (PAD_ID, START_ID):
                next_beams.append((beams[row][0] + [word], float(totals[row, word])))
                parents.append(row)
            if len(next_beams) == width:
                break
        # Stop once `width` hypotheses have finished: the open ones are already less probable.
        if len(finished) >= width or not next_beams:
            break
        beams = next_beams
        state = [s[parents] for s in state]
    ranked = sorted(finished, key=lambda item: -_normalised(item[0], item[1], length_penalty))
    candidates = pd.DataFrame(
        [
            {
                "text": vocabulary.decode(tokens),
                "words": len(tokens),
                "log_probability": score,
                "score": _normalised(tokens, score, length_penalty),
            }
            for tokens, score in ranked[: max(width, 1)]
        ],
        columns=["text", "words", "log_probability", "score"],
    )
    best_tokens, best_score = ranked[0]
    return BeamResult(
        best_tokens,
        vocabulary.tokens(best_tokens),
        vocabulary.decode(best_tokens),
        _normalised(best_tokens, best_score, length_penalty),
        best_score,
        candidates,
    )


def _normalised(tokens: list[int], log_probability: float, length_penalty: float) -> float:
    return log_probability / (len(tokens) + 1) ** length_penalty


# --------------------------------------------------------------------------------------------------
# The text box
# --------------------------------------------------------------------------------------------------


@dataclass
class PreparedSource:
    """A user's English sentence made ready to translate, with what the page should tell the user."""

    ids: list[int]
    words: list[str]
    unknown_words: list[str]
    truncated: bool
    message: str | None  # a prompt or warning for the user, or None

    @property
    def usable(self) -> bool:
        return bool(self.ids)


def prepare_source(text: str | None, vocabulary: Vocabulary, max_words: int = MAX_INPUT_WORDS) -> PreparedSource:
    """Tokenize any text for the translator without raising: empty input gets a prompt, unknown
    words become <unk> and are listed, input longer than `max_words` words is cut with a warning."""
    words = tokenize(text or "")
    if not words:
        return PreparedSource(
            [], [], [], False, "Type an English sentence to translate, for example “the small cat sleeps”."
        )
    messages = []
    truncated = len(words) > max_words
    if truncated:
        messages.append(f"The sentence has {len(words)} words; only the first {max_words} are translated.")
        words = words[:max_words]
    unknown = list(dict.fromkeys(word for word in words if word not in vocabulary))
    if unknown:
        listed = ", ".join(f"“{word}”" for word in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        messages.append(
            f"{len(unknown)} word(s) are not in the English vocabulary and are read as {UNKNOWN}: {listed}."
        )
    return PreparedSource(vocabulary.encode(words), words, unknown, truncated, " ".join(messages) or None)


# --------------------------------------------------------------------------------------------------
# Measuring: token accuracies (the train/test mismatch) and BLEU
# --------------------------------------------------------------------------------------------------


def teacher_forced_accuracy(translator: Translator, encoded: EncodedPairs) -> float:
    """Share of target words (and </s>) predicted right when every decoder input is the gold word."""
    probabilities = translator.teacher_forced_probabilities(encoded)
    mask = encoded.decoder_target != PAD_ID
    hits = (probabilities.argmax(axis=-1) == encoded.decoder_target) & mask
    return float(hits.sum() / max(mask.sum(), 1))


def greedy_accuracy(translator: StepTranslator, encoded: EncodedPairs, outputs: list[list[int]] | None = None) -> float:
    """Share of target words (and </s>) that greedy decoding writes at the same position.

    Same sentences, same positions as `teacher_forced_accuracy`, but each decoder input is the
    model's own previous word: one early mistake shifts or changes the rest, which is the
    train/test mismatch that the notes name.
    """
    target = encoded.decoder_target
    if outputs is None:
        outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=target.shape[1])
    produced = np.zeros_like(target)
    for row, tokens in enumerate(outputs):
        sequence = (tokens + [END_ID])[: target.shape[1]]
        produced[row, : len(sequence)] = sequence
    mask = target != PAD_ID
    return float(((produced == target) & mask).sum() / max(mask.sum(), 1))


@dataclass
class Evaluation:
    bleu: float
    exact_match: float
    teacher_forced_accuracy: float
    greedy_accuracy: float
    hypotheses: list[str]
    references: list[str]
    sources: list[str]
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {
            "bleu": self.bleu,
            "exact_match": self.exact_match,
            "teacher_forced_accuracy": self.teacher_forced_accuracy,
            "greedy_accuracy": self.greedy_accuracy,
        }


def evaluate_translator(
    translator: Translator, pairs: Sequence[tuple[str, str]], max_target_length: int | None = None
) -> Evaluation:
    """BLEU, exact matches and both token accuracies of greedy decoding on held-out pairs."""
    started = time.perf_counter()
    encoded = encode_pairs(
        pairs, translator.source_vocabulary, translator.target_vocabulary, max_target_length=max_target_length
    )
    outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
    hypotheses = [translator.target_vocabulary.decode(tokens) for tokens in outputs]
    references = [
        translator.target_vocabulary.decode(translator.target_vocabulary.encode(french)) for _, french in pairs
    ]
    return Evaluation(
        bleu=corpus_bleu(hypotheses, references),
        exact_match=exact_match_rate(hypotheses, references),
        teacher_forced_accuracy=teacher_forced_accuracy(translator, encoded),
        greedy_accuracy=greedy_accuracy(translator, encoded, outputs),
        hypotheses=hypotheses,
        references=references,
        sources=[english for english, _ in pairs],
        seconds=time.perf_counter() - started,
    )


def held_out_bleu_callback(
    translator: StepTranslator,
    pairs: Sequence[tuple[str, str]],
    max_sentences: int = LIVE_BLEU_SENTENCES,
    seed: int = 0,
) -> keras.callbacks.Callback:
    """A Keras callback that, at each epoch's end, greedily decodes held-out sentences and writes
    `logs["val_bleu"]` (0-100) and `logs["val_greedy_accuracy"]` (0-1) for the chart.

    It must run before the live-training engine's recorder so that the recorder finds these values
    in the logs (pass it in `train_live`'s `metric_callbacks`). The translator shares the model's
    layers, so it decodes with the weights of the epoch that just ended. Decoding is batched: 200
    sentences take a fraction of a second.
    """
    import keras

    pairs = list(pairs)
    if len(pairs) > max_sentences:
        chosen = np.random.default_rng(seed).choice(len(pairs), size=max_sentences, replace=False)
        pairs = [pairs[index] for index in sorted(chosen)]
    encoded = encode_pairs(pairs, translator.source_vocabulary, translator.target_vocabulary)
    references = [
        translator.target_vocabulary.decode(translator.target_vocabulary.encode(french)) for _, french in pairs
    ]

    class HeldOutBleu(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
            hypotheses = [translator.target_vocabulary.decode(tokens) for tokens in outputs]
            logs["val_bleu"] = corpus_bleu(hypotheses, references)
            logs["val_greedy_accuracy"] = greedy_accuracy(translator, encoded, outputs)

    return HeldOutBleu()
