"""The translator family's glue: what the Translator, Attention and Transformer pages share.

The three pages translate English into French with three models (`lib.models.seq2seq`,
`lib.models.attention`, `lib.models.transformer`, all `lib.models.translator_base.Translator`s) on the
same corpus, so everything that is not one model's own lives here, once:

- the corpus in use (the grammar's, or the session's upload, shared by the three pages) and its
  vocabularies, computed once per process or per upload (`st.cache_resource`, `st.cache_data`);
- the shipped models, each described once (`ShippedModel`: its files and loader, the figures measured
  when it was trained, its held-out evaluation), each loaded once per process and shared read-only by
  every session, its graphs traced so that the first sentence is fast;
- translating one sentence (greedy and beam, remembered on the translator), the model and sentence boxes;
- training from scratch through the engine, a run's held-out measurement, and the replay of its live view;
- the family compared on the same held-out sentences, what BLEU says on these pairs, and BLEU over
  length ranges with its bootstrap interval.

Each page's own content is in its module: `translator_page`, `attention_page`, `transformer_page`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from lib.app.shipped_evaluations import load_evaluation
from lib.app.uploads import upload_box
from lib.data.bleu import bleu_by_source_length, bleu_over_lengths
from lib.data.corpus import (
    Corpus,
    SentencePairsError,
    Vocabulary,
    encode_pairs,
    parse_sentence_pairs_tsv,
    split_pairs,
    tokenize,
)
from lib.data.grammar import LONG_HELD_OUT_SEED, generate_pairs, long_held_out_pairs, make_corpus
from lib.engine.charts import line_chart, show
from lib.engine.training import TrainingRun, page_runs, train_live, training_slot
from lib.models.attention import AttentionTranslator, alignment_results, is_attention_model
from lib.models.decoding import (
    BeamResult,
    DecodeTrace,
    PreparedSource,
    beam_search,
    evaluate_translator,
    greedy_decode,
    greedy_decode_batch,
    held_out_bleu_callback,
    prepare_source,
)
from lib.models.professor_forcing import compile_professor_forcing
from lib.models.seq2seq import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    TRANSLATOR_DIRECTORY,
    Seq2SeqTranslator,
    bucketed_dataset,
    compile_seq2seq,
    cosine_learning_rate,
)
from lib.models.transformer import TransformerTranslator, is_transformer_model
from lib.models.translator_base import Translator, load_metrics, read_vocabularies
from lib.page_glue.settings.translator_family import (
    EXAMPLE_SENTENCE,
    OWN_SENTENCE_TEXT,
    SENTENCE_CHOICE,
    TRAINING_PAIRS,
)

# The shipped model's corpus: make_corpus(48000, 500, seed=0) (see data/README.md, translator/).
DEFAULT_TRAIN_PAIRS = 48_000
HELD_OUT_PAIRS = 500
GRAMMAR_KEY = "grammar"
# Where the session's uploaded pairs are kept: one key for every page of the family.
UPLOAD_KEY = "translator_uploaded_corpus"
# The "Training pairs" sizes the pages offer (below the corpus's own size; each page has its default).
SCRATCH_TRAIN_CHOICES = (3_000, 6_000, 12_000, 24_000, 36_000, 48_000)
# An uploaded corpus keeps at most this many words per language (the rest read as <unk>).
UPLOAD_VOCABULARY_LIMIT = 6_000
# A model larger than this is not built: the host shares its memory with every session.
MAX_PARAMETERS = 12_000_000


# --- The corpus -----------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Generating the English-French corpus…")
def default_corpus() -> Corpus:
    """The shipped models' corpus, one object shared read-only by every session: a cached copy per
    call (`st.cache_data`) cost 22 ms of every rerun of the translator pages, to unpickle 48,500 pairs."""
    return make_corpus(DEFAULT_TRAIN_PAIRS, HELD_OUT_PAIRS, seed=0)


@st.cache_data(show_spinner=False)
def shipped_vocabularies() -> tuple[Vocabulary, Vocabulary]:
    """The pretrained model's vocabularies (built from the default corpus's training part)."""
    return read_vocabularies(TRANSLATOR_DIRECTORY)


@st.cache_data(max_entries=8, show_spinner="Reading the vocabularies of your pairs…")
def upload_vocabularies(corpus_id: str, _train: list[tuple[str, str]]) -> tuple[Vocabulary, Vocabulary]:
    """An uploaded corpus's vocabularies, cached by the upload's id (hashing every pair at each
    rerun would cost more than the cache saves)."""
    return (
        Vocabulary.from_sentences((english for english, _ in _train), max_size=UPLOAD_VOCABULARY_LIMIT),
        Vocabulary.from_sentences((french for _, french in _train), max_size=UPLOAD_VOCABULARY_LIMIT),
    )


@dataclass(frozen=True)
class CorpusChoice:
    """The sentence pairs a page works on: the grammar's or the session's upload."""

    key: str  # GRAMMAR_KEY or "upload"
    corpus: Corpus
    corpus_id: str  # runs remember it, so a new upload never mixes with the runs of an older one
    vocabularies: tuple[Vocabulary, Vocabulary]

    def say_what_bleu_means(self) -> None:
        """Where a page of the family shows BLEU: what a score near 100 means on these pairs, and what
        the no-attention model's fall with length does and does not carry over to real corpora. A
        method, so each page says it with one line and no import: see `what_bleu_means`."""
        st.markdown(what_bleu_means(task_facts(self.corpus_id, self.corpus)))


def choose_corpus(choice_key: str, uploader_key: str) -> CorpusChoice:
    """The corpus radio and upload box of the translator pages. One upload serves every page of
    the family in the session (it is stored under one key), so their models compare on its pairs."""
    names = {
        GRAMMAR_KEY: f"Generated English→French grammar ({DEFAULT_TRAIN_PAIRS:,} training pairs, "
        f"{HELD_OUT_PAIRS:,} held out)"
    }
    if UPLOAD_KEY in st.session_state:
        names["upload"] = "Your uploaded pairs"
    # Not bound to the URL: the only other choice is an upload, and a link carries settings, never data.
    key = st.radio("Sentence pairs", list(names), format_func=names.get, key=choice_key)
    upload_box(
        "Upload your own pairs (tab-separated: English<TAB>French[<TAB>anything], UTF-8)",
        "TSV file, up to 2 MB",
        ["tsv", "txt"],
        uploader_key=uploader_key,
        parse=read_upload,
        error_type=SentencePairsError,
        store_key=UPLOAD_KEY,
        choice_key=choice_key,
        kept="the corpus it had",
    )
    if key == "upload" and UPLOAD_KEY in st.session_state:
        corpus, corpus_id = st.session_state[UPLOAD_KEY], f"upload:{st.session_state[UPLOAD_KEY + '_id']}"
    else:
        key, corpus, corpus_id = GRAMMAR_KEY, default_corpus(), GRAMMAR_KEY
    return CorpusChoice(key, corpus, corpus_id, corpus_vocabularies(corpus_id, corpus))


def read_upload(raw: bytes) -> Corpus:
    """Validate an uploaded TSV of pairs and split it; raises SentencePairsError with a user-facing message."""
    pairs = parse_sentence_pairs_tsv(raw)
    corpus = split_pairs(pairs, seed=0)
    if len(corpus.train) < 10 or not corpus.test:
        raise SentencePairsError(
            f"Only {len(corpus.train) + len(corpus.test)} distinct English sentences: too few to train and hold some out."
        )
    return corpus


def corpus_vocabularies(corpus_id: str, corpus: Corpus) -> tuple[Vocabulary, Vocabulary]:
    """The shipped model's vocabularies for the grammar; an upload's own (by its id) otherwise."""
    return shipped_vocabularies() if corpus_id == GRAMMAR_KEY else upload_vocabularies(corpus_id, corpus.train)


# --- The shipped models ---------------------------------------------------------------------------


def traced(translator):
    """A shipped translator with its decoding graphs traced (greedy and beam search on the example),
    so that the first sentence a participant types translates as fast as the next ones."""
    ids = translator.source_vocabulary.encode(EXAMPLE_SENTENCE)
    greedy_decode(translator, ids)
    beam_search(translator, ids, width=4)
    return translator


def evaluation_results(translator: Seq2SeqTranslator, test: list[tuple[str, str]], model_label: str) -> dict:
    evaluation = evaluate_translator(translator, test)
    return {
        **evaluation.as_dict(),
        "by_length": bleu_by_source_length(
            evaluation.sources, evaluation.hypotheses, evaluation.references, model=model_label
        ),
        "examples": pd.DataFrame(
            {"English": evaluation.sources, "Reference": evaluation.references, "Greedy output": evaluation.hypotheses}
        ),
    }


@dataclass(eq=False)
class ShippedModel:
    """A shipped model of the family, described once: its files and loader (its translator class:
    `DIRECTORY`, `MODEL_FILE`, `load`), its label in the comparison tables, and what the page shows
    while it loads and while its evaluation is measured (only when the shipped evaluation.json is
    stale). `translator()`, `figures()` and `evaluation()` are cached once per process, shared by every
    session; `measure_more(translator, corpus)` adds a model's own figures to its evaluation."""

    key: str  # its page's key
    label: str
    translator_class: type[Translator]
    loading: str
    measuring: str
    evaluation_label: str | None = None  # the model's name in a live-measured evaluation (default: `label`)
    measure_more: Callable[[Translator, Corpus], dict] | None = None
    _translator: Callable = field(init=False, repr=False)
    _evaluation: Callable = field(init=False, repr=False)

    def __post_init__(self):
        # One cached function for every model (the key tells them apart), each with its model's spinner.
        self._translator = st.cache_resource(show_spinner=self.loading)(_shipped_translator)
        self._evaluation = st.cache_data(show_spinner=self.measuring)(_shipped_evaluation)

    @property
    def directory(self):
        return self.translator_class.DIRECTORY

    @property
    def model_file(self) -> str:
        return self.translator_class.MODEL_FILE

    def translator(self) -> Translator:
        """The shipped model, shared read-only by every session; its graphs are traced once, so that
        the first sentence a participant types translates as fast as the next ones."""
        return self._translator(self.key)

    def figures(self) -> dict:
        """What was measured when the shipped model was trained (its metrics.json)."""
        return _shipped_figures(self.key)

    def evaluation(self) -> dict:
        """BLEU, exact matches, both token accuracies and BLEU by length of the shipped model, held out:
        shipped beside the model (lib/app/shipped_evaluations.py), measured here only if that file is stale."""
        return self._evaluation(self.key)

    def measure_evaluation(self) -> dict:
        """The held-out evaluation measured now (what scripts/evaluate_shipped.py ships)."""
        corpus = default_corpus()
        results = evaluation_results(self.translator(), corpus.test, self.evaluation_label or self.label)
        if self.measure_more is not None:
            results.update(self.measure_more(self.translator(), corpus))
        return results


def _shipped_translator(key: str) -> Translator:
    return traced(SHIPPED_MODELS[key].translator_class.load())


@st.cache_data(show_spinner=False)
def _shipped_figures(key: str) -> dict:
    return load_metrics(SHIPPED_MODELS[key].directory)


def _shipped_evaluation(key: str) -> dict:
    model = SHIPPED_MODELS[key]
    return load_evaluation(model.directory, model.model_file, default_corpus()) or model.measure_evaluation()


def _alignment(translator: AttentionTranslator, corpus: Corpus) -> dict:
    return alignment_results(translator, corpus.test, corpus.test_alignments)


SHIPPED_SEQ2SEQ = ShippedModel(
    "translator",
    "pretrained seq2seq, no attention (shipped)",
    Seq2SeqTranslator,
    loading="Loading TensorFlow and the pretrained translator…",
    measuring="Measuring the pretrained model on the held-out sentences…",
    evaluation_label="pretrained (shipped)",
)
SHIPPED_ATTENTION = ShippedModel(
    "attention",
    "pretrained attention (shipped)",
    AttentionTranslator,
    loading="Loading TensorFlow and the pretrained attention model…",
    measuring="Measuring the pretrained attention model on the held-out sentences…",
    measure_more=_alignment,
)
SHIPPED_TRANSFORMER = ShippedModel(
    "transformer",
    "pretrained Transformer (shipped)",
    TransformerTranslator,
    loading="Loading TensorFlow and the pretrained Transformer…",
    measuring="Measuring the pretrained Transformer on the held-out sentences…",
)
SHIPPED_MODELS = {model.key: model for model in (SHIPPED_SEQ2SEQ, SHIPPED_ATTENTION, SHIPPED_TRANSFORMER)}


# --- Translating one sentence ---------------------------------------------------------------------


REMEMBERED_PER_KIND = 64


def remembered(translator, kind: str, key, compute: Callable[[], object]):
    """`compute()`, remembered on the translator under (kind, key).

    A page reruns at every slider move while the model and the sentence stay the same, so what it
    derives from them (translations, attention maps, charts) is worked out once. A trained model's
    weights no longer change, and the shipped one's memory is shared by every session, which is
    what a room typing the example wants. Each kind keeps its last `REMEMBERED_PER_KIND` keys.
    """
    memory = translator.__dict__.setdefault("_remembered", {}).setdefault(kind, {})
    if key not in memory:
        if len(memory) >= REMEMBERED_PER_KIND:
            memory.pop(next(iter(memory)), None)
        memory[key] = compute()
    return memory[key]


class Translation(NamedTuple):
    """One sentence translated both ways."""

    greedy: DecodeTrace  # traced step by step
    beam: BeamResult


def translate(translator, source_ids: list[int], beam_width: int) -> Translation:
    """Greedy decoding traced step by step, and beam search, of one prepared sentence (remembered)."""
    return remembered(
        translator,
        "translations",
        (tuple(int(i) for i in source_ids), int(beam_width)),
        lambda: Translation(
            greedy_decode(translator, source_ids), beam_search(translator, source_ids, width=beam_width)
        ),
    )


def greedy_and_beam_columns(trace, beam, beam_width: int) -> None:
    """The two translations of the translator pages side by side: greedy decoding, and beam search."""
    greedy_column, beam_column = st.columns(2, gap="large")
    for column, title, output in (
        (greedy_column, "Greedy decoding", trace.text),
        (beam_column, f"Beam search, width {beam_width}", beam.text),
    ):
        with column.container(border=True):
            st.caption(title)
            st.markdown(f"#### {output or '(nothing: </s> first)'}")


def candidates_at(trace, step_number: int) -> pd.DataFrame:
    step = trace.steps[step_number - 1]
    return pd.DataFrame(
        [
            {"Candidate": word, "Probability": probability, "Fed back": word == step.chosen}
            for word, probability in step.top_words
        ]
    )


def decoded_so_far(trace, step_number: int) -> str:
    words = [step.chosen for step in trace.steps[: step_number - 1]]
    return " ".join(["<s>", *words])


def choose_model(
    page_key: str,
    corpus_id: str,
    corpus: Corpus,
    shipped_label: str,
    load_shipped: Callable[[], object],
    help_text: str,
):
    """The model box of the translator pages: the shipped model, or one this session trained on the
    page (on the corpus in use). Returns the translator."""
    runs = trained_runs(page_key, corpus_id, corpus)
    translators = {shipped_label: None} | {run.display_label: run for run in runs if run.model is not None}
    # Not bound to the URL: the other models are this session's own runs, which a link cannot carry.
    name = st.selectbox("Model", list(translators), help=help_text)
    return load_shipped() if translators[name] is None else translators[name].model


OWN_SENTENCE = "Type your own…"


def choose_sentence(
    corpus: Corpus, vocabulary: Vocabulary, held_out_shown: int = 12
) -> tuple[str, PreparedSource] | None:
    """The sentence box of the attention pages: the example, a few held-out sentences, or the
    user's own, prepared for the model. Shows the prompt or warning the text calls for; returns
    None when there is nothing to translate (the page then shows what needs no sentence)."""
    held_out = [english for english, _ in corpus.test[:held_out_shown]]
    options = [EXAMPLE_SENTENCE, *[s for s in held_out if s != EXAMPLE_SENTENCE], OWN_SENTENCE]
    picked = SENTENCE_CHOICE.draw(st, options=options)
    # The text box and the note come and go with the choice and the text: one container holds them (see
    # `show_sentence_note`).
    with st.container():
        text = OWN_SENTENCE_TEXT.draw(st) if picked == OWN_SENTENCE else picked
        prepared = prepare_source(text, vocabulary)
        show_sentence_note(prepared, st.container())
    return (text, prepared) if prepared.usable else None


def show_sentence_note(prepared: PreparedSource, slot) -> None:
    """The prompt (nothing to translate) or the warning (words cut or unknown) that a sentence calls for, in `slot`.

    The slot is a container the page made before what follows it, so the note comes and goes without
    moving the page's later elements. Streamlit redraws an element that moves, and its browser side
    (1.67) then sometimes forgets to write that setting into the address when it is next set
    (`url_settings.write_settings_into_address` puts such a setting back, one run later).
    """
    if not prepared.usable:
        slot.info(prepared.message, icon=":material/edit:")
    elif prepared.message:
        slot.warning(prepared.message, icon=":material/warning:")


# --- Training from scratch ------------------------------------------------------------------------


def training_pairs_slider(container, corpus: Corpus, default: int) -> int:
    """The "Training pairs" control of the translator pages: the usual sizes below the corpus's, and
    the whole corpus; a corpus too small for a choice gets no slider."""
    choices = sorted({n for n in SCRATCH_TRAIN_CHOICES if n < len(corpus.train)} | {len(corpus.train)})
    if len(choices) == 1:
        return choices[0]
    wanted = min(default, len(corpus.train))
    return int(TRAINING_PAIRS.draw(container, options=choices, value=wanted if wanted in choices else choices[-1]))


def layer_counts_frame(counts) -> pd.DataFrame:
    """The shared counter's per-layer counts as the pages' parameter table, with a total row."""
    frame = pd.DataFrame(
        [
            {
                "Layer": c.name,
                "Weights": c.weights,
                "Biases": c.biases,
                "Parameters": c.total,
                "How it is counted": c.formula,
            }
            for c in counts
        ]
    )
    total = {
        "Layer": "total",
        "Weights": int(frame["Weights"].sum()),
        "Biases": int(frame["Biases"].sum()),
        "Parameters": int(frame["Parameters"].sum()),
        "How it is counted": "sum of the layers",
    }
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def parameter_expander(parameters: pd.DataFrame) -> int:
    """The parameter table in an expander titled with the total; returns the total."""
    total = int(parameters["Parameters"].iloc[-1])
    with st.expander(f"Parameters: {total:,}"):
        parameter_dataframe(parameters)
    return total


def parameter_dataframe(parameters: pd.DataFrame) -> None:
    """A parameter table of `layer_counts_frame`, its counts written with thousands separators."""
    st.dataframe(
        parameters,
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(format="localized") for name in ("Weights", "Biases", "Parameters")
        },
    )


def translator_for(model, vocabularies: tuple[Vocabulary, Vocabulary]):
    """The step-by-step translator of a model of the family: the attention one, or the plain seq2seq."""
    if is_transformer_model(model):
        return TransformerTranslator(model, *vocabularies)
    translator_class = AttentionTranslator if is_attention_model(model) else Seq2SeqTranslator
    return translator_class(model, *vocabularies)


def press_settings(settings, corpus_id: str) -> dict:
    """Everything a translator page's press depends on: its settings (the seed among them) and its
    corpus (the grammar, or an upload by its content hash). Runs keep it; identical presses share."""
    return {**asdict(settings), "corpus": corpus_id}


def train_from_scratch(
    page_key: str,
    corpus_id: str,
    corpus: Corpus,
    settings,
    area,
    references: list[dict] | None = None,
    extra_metrics: tuple[str, ...] = (),
    metric_callbacks: Callable[[object], list] | None = None,
    **live_view,
) -> TrainingRun:
    """Build a fresh model of the family (`settings.build`), train it with teacher forcing (with
    scheduled sampling if p > 0, or by professor forcing when `settings.professor_forcing` says so, the
    discriminator's accuracy then charted beside the loss) on length-bucketed batches through the engine, its step size
    decaying along a cosine over the planned epochs, with the held-out BLEU charted at every epoch;
    then measure it held out.

    The attention page adds its own epoch-end measures (`extra_metrics`, written into the logs by
    `metric_callbacks(translator)`) and its second live view (`live_view`: `snapshot` and
    `draw_snapshot`, functions of the translator, handed to `train_live`).
    """
    # Wait for a training slot before the preparation (encoding the pairs, building and compiling the
    # model: seconds of Python each), so that a room pressing at once queues instead of preparing together.
    with training_slot(area):
        vocabularies = corpus_vocabularies(corpus_id, corpus)
        train_pairs = corpus.train
        # The Transformer page can train on short sentences only, to test positions on unseen lengths.
        longest = getattr(settings, "longest_training_sentence", None)
        if longest:
            train_pairs = [pair for pair in train_pairs if len(tokenize(pair[0])) <= longest]
        train = encode_pairs(train_pairs[: settings.train_sentences], *vocabularies)
        test = encode_pairs(corpus.test, *vocabularies)
        model = settings.build(vocabularies)
        seed = getattr(settings, "seed", 0)
        batches = bucketed_dataset(train, DEFAULT_BATCH_SIZE, seed=seed)
        peak = getattr(settings, "learning_rate", DEFAULT_LEARNING_RATE)  # The Transformer's is smaller.
        # The Translator page can train by professor forcing (`ScratchSettings.professor_forcing`).
        professor = getattr(settings, "professor_forcing", False)
        learning_rate = cosine_learning_rate(settings.epochs * len(batches), peak)
        trainer = (
            compile_professor_forcing(model, learning_rate, settings.adversarial_weight, seed=seed)
            if professor
            else compile_seq2seq(model, learning_rate, sampling_probability=settings.sampling_probability, seed=seed)
        )
        # The discriminator's accuracy is charted live too: whether it can tell the two runs apart.
        extra_metrics = (*extra_metrics, *(["discriminator_accuracy"] if professor else []))
        translator = translator_for(model, vocabularies)
        snapshot = live_view.pop("snapshot", None)
        run = train_live(
            trainer,
            batches,
            validation_data=(test.inputs, test.decoder_target),
            epochs=settings.epochs,
            label=settings.label if corpus_id == GRAMMAR_KEY else f"{settings.label} · your pairs",
            page_key=page_key,
            settings=press_settings(settings, corpus_id),
            metrics=["loss", "token_accuracy", "bleu", *extra_metrics],
            area=area,
            metric_callbacks=[
                held_out_bleu_callback(translator, corpus.test),
                *(metric_callbacks(translator) if metric_callbacks else []),
            ],
            references=references,
            snapshot=(lambda: snapshot(translator)) if snapshot else None,
            **live_view,
        )
    measure_run(run, corpus_id, corpus, translator)
    return run


def measure_run(run: TrainingRun, corpus_id: str, corpus: Corpus, translator=None) -> None:
    """Replace the run's trainer by its translator and store its held-out figures in `run.results`."""
    if translator is None:
        translator = translator_for(run.model, corpus_vocabularies(corpus_id, corpus))
    run.model = translator
    run.results = {
        "corpus": corpus_id,
        **run.settings,
        **evaluation_results(translator, corpus.test, run.display_label),
        # Timed here, once per run: every session that shares the run then reads the same figure.
        "ms_per_sentence": _milliseconds_per_sentence(translator),
    }


def trained_runs(page_key: str, corpus_id: str, corpus: Corpus) -> list[TrainingRun]:
    """This session's runs on the corpus in use, each measured on its held-out sentences.

    A run stopped before its end (Stop, or a widget moved) keeps what it learned: it is measured
    here, on the rerun that follows, the first time the page needs it.
    """
    runs = []
    for run in page_runs(page_key):
        if run.settings.get("corpus") != corpus_id or run.status == "training":
            continue
        if not run.results and run.model is not None and run.epochs_completed + run.batches_completed > 0:
            measure_run(run, corpus_id, corpus)
        if run.results:
            runs.append(run)
    return runs


def replay_snapshots(page_key: str, corpus_id: str, title: str, draw: Callable[[TrainingRun, dict], None]) -> None:
    """The replay of a live view: this session's runs of the page (on the corpus in use) that kept
    snapshots, one chosen with its moment of training; `draw(run, snapshot)` draws that snapshot."""
    replayable = [run for run in page_runs(page_key) if run.snapshots and run.settings.get("corpus") == corpus_id]
    if not replayable:
        return
    st.subheader(title)
    run_names = {run.display_label: run for run in replayable}
    replay_run = run_names[st.selectbox("Run", list(run_names), index=len(run_names) - 1)]
    moment = st.select_slider(
        "Moment of training (epochs)",
        options=list(range(len(replay_run.snapshots))),
        value=len(replay_run.snapshots) - 1,
        format_func=lambda index: f"{replay_run.snapshots[index]['epoch']:.2f}",
    )
    draw(replay_run, replay_run.snapshots[moment])


# --- The family compared: the three translators on the same held-out sentences --------------------


# The Status of a shipped model's row in the run tables; a run trained in the session shows "finished"
# or "stopped at epoch …" there (`TrainingRun.status_text`), as on every page that trains.
SHIPPED_STATUS = "shipped"


FAMILY_PAGES = {"translator": "Translator", "attention": "Attention", "transformer": "Transformer"}


def family_runs(page_keys: list[str], corpus_id: str, corpus: Corpus) -> list[tuple[str, TrainingRun]]:
    """This session's measured runs of the given pages on the corpus in use, with their page's name."""
    return [(FAMILY_PAGES[key], run) for key in page_keys for run in trained_runs(key, corpus_id, corpus)]


# As many timed translations as scripts/train_translator.py times for a shipped model's figure.
TIMED_TRANSLATIONS = 20


def _milliseconds_per_sentence(translator) -> float:
    """Median time of one greedy translation of the example sentence (after a first, traced call)."""
    import time

    ids = translator.source_vocabulary.encode(EXAMPLE_SENTENCE)
    greedy_decode(translator, ids)
    timings = []
    for _ in range(TIMED_TRANSLATIONS):
        started = time.perf_counter()
        greedy_decode(translator, ids)
        timings.append(time.perf_counter() - started)
    return 1000 * float(np.median(timings))


def family_table(shipped: list[ShippedModel], page_keys: list[str], corpus_id: str, corpus: Corpus) -> pd.DataFrame:
    """One row per model: parameters, training time (whole and per epoch), held-out BLEU, exact
    matches, alignment accuracy where there is attention, and the time to translate one sentence."""
    rows = []
    if corpus_id == GRAMMAR_KEY:
        for model in shipped:
            figures, evaluation = model.figures(), model.evaluation()
            rows.append(
                {
                    "Model": model.label,
                    "Status": SHIPPED_STATUS,
                    "Measured on": "its training machine (shipped figures)",
                    "Pairs per epoch": figures["train_sentences"],
                    "Parameters": figures["parameters"],
                    "Training (s)": figures["training_seconds"],
                    "Seconds per epoch": figures["training_seconds"] / figures["epochs"],
                    "BLEU": evaluation["bleu"],
                    "Exact matches": evaluation["exact_match"],
                    "Alignment accuracy": evaluation.get("alignment_accuracy"),
                    "ms per sentence": 1000 * figures["translation_seconds_median"],
                }
            )
    for page, run in family_runs(page_keys, corpus_id, corpus):
        model = getattr(run.model, "model", None)
        if "ms_per_sentence" not in run.results:
            run.results["ms_per_sentence"] = _milliseconds_per_sentence(run.model)
        epochs = run.epochs_completed + run.batches_completed % run.batches_per_epoch / run.batches_per_epoch
        rows.append(
            {
                "Model": f"{page}: {run.display_label}",
                "Status": run.status_text,
                "Measured on": "this server",
                "Pairs per epoch": run.settings.get("train_sentences"),
                "Parameters": int(model.count_params()) if model is not None else None,
                "Training (s)": run.seconds,
                "Seconds per epoch": run.seconds / max(epochs, 1e-9),
                "BLEU": run.results["bleu"],
                "Exact matches": run.results["exact_match"],
                "Alignment accuracy": run.final("alignment_accuracy"),
                "ms per sentence": run.results["ms_per_sentence"],
            }
        )
    # Where and on how much a row was measured comes last, so the figures stay in view at a laptop's width.
    return pd.DataFrame(
        rows,
        columns=[
            "Model",
            "Status",
            "Parameters",
            "Training (s)",
            "Seconds per epoch",
            "BLEU",
            "Exact matches",
            "Alignment accuracy",
            "ms per sentence",
            "Measured on",
            "Pairs per epoch",
        ],
    )


# A stopped run's status ("stopped at epoch 0.2 of 3") was cut off at Streamlit's automatic width at
# 1,400 px. The model's label stays at its automatic width and pinned: widened, it pushed the
# accuracies, which are the point of these tables, out of view, and the readings under the tables
# spell each label out in full.
RUN_LABEL_COLUMNS = {
    "Model": st.column_config.TextColumn(pinned=True),
    "Status": st.column_config.TextColumn(width="medium"),
}


FAMILY_TABLE_COLUMNS = {
    **RUN_LABEL_COLUMNS,
    "Measured on": st.column_config.TextColumn(
        help="Shipped rows were measured on the machine that trained them (data/<model>/metrics.json); this "
        "session's rows on this server. Times compare within a group, not across: machines differ by several times."
    ),
    "Pairs per epoch": st.column_config.NumberColumn(format="localized"),
    "Parameters": st.column_config.NumberColumn(format="localized"),
    "Training (s)": st.column_config.NumberColumn(format="%.0f"),
    "Seconds per epoch": st.column_config.NumberColumn(
        format="%.1f", help="Per epoch of the row's own pairs per epoch."
    ),
    "BLEU": st.column_config.NumberColumn(format="%.1f"),
    "Exact matches": st.column_config.NumberColumn(format="percent"),
    "Alignment accuracy": st.column_config.NumberColumn(format="percent"),
    "ms per sentence": st.column_config.NumberColumn(
        format="%.1f",
        help=f"One greedy translation of the example sentence, median of {TIMED_TRANSLATIONS}, "
        "on the machine the row was measured on.",
    ),
}


def family_by_length(shipped: list[ShippedModel], page_keys: list[str], corpus_id: str, corpus: Corpus) -> pd.DataFrame:
    """BLEU by English length of every model of `family_table`, on the same held-out sentences."""
    frames = []
    if corpus_id == GRAMMAR_KEY:
        frames += [model.evaluation()["by_length"].assign(model=model.label) for model in shipped]
    frames += [
        run.results["by_length"].assign(model=f"{page}: {run.display_label}")
        for page, run in family_runs(page_keys, corpus_id, corpus)
    ]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model", "min_words", "bleu"])


def family_comparison(shipped: list[ShippedModel], page_keys: list[str], corpus_id: str, corpus: Corpus) -> bool:
    """The family table and its BLEU by length chart; False (nothing drawn) when there is no model to compare."""
    table = family_table(shipped, page_keys, corpus_id, corpus)
    if table.empty:
        return False
    st.dataframe(table, hide_index=True, width="stretch", column_config=FAMILY_TABLE_COLUMNS)
    show(st, bleu_by_length_chart(family_by_length(shipped, page_keys, corpus_id, corpus)), width="stretch")
    return True


def bleu_by_length_chart(by_length: pd.DataFrame):
    """Greedy corpus BLEU by English length, one line per model (columns model, min_words, bleu)."""
    return line_chart(
        by_length,
        "min_words",
        "bleu",
        "model",
        x_title="English sentence length (words, from)",
        y_title="Corpus BLEU (greedy)",
    )


# --- What BLEU says on this task ------------------------------------------------------------------


# Draws of the grammar that check it gives an English sentence one French translation only: the
# corpus cannot show it, as `make_corpus` keeps the first French of a repeated English sentence.
# 10,000 draws meet about 200 English sentences more than once, in about a second, once per process.
DETERMINISM_DRAWS = 10_000


@dataclass(frozen=True)
class TaskFacts:
    """What makes BLEU easy or hard on a corpus: its word types, its longest sentence and, for the
    grammar, how often a repeated English sentence came out with a different French one."""

    from_grammar: bool
    english_types: int
    french_types: int
    longest_english: int
    draws: int = 0
    repeated: int = 0  # English sentences drawn more than once
    ambiguous: int = 0  # of them, those that came out with two French translations or more


@st.cache_data(max_entries=8, show_spinner=False)
def task_facts(corpus_id: str, _corpus: Corpus) -> TaskFacts:
    """The corpus's counts (cached by its id), and for the grammar its determinism, measured on fresh draws."""
    pairs = _corpus.train + _corpus.test
    english = [tokenize(sentence) for sentence, _ in pairs]
    counts = dict(
        english_types=len({word for words in english for word in words}),
        french_types=len({word for _, sentence in pairs for word in tokenize(sentence)}),
        longest_english=max(map(len, english), default=0),
    )
    if corpus_id != GRAMMAR_KEY:
        return TaskFacts(from_grammar=False, **counts)
    draws = generate_pairs(DETERMINISM_DRAWS, seed=0)
    times_drawn = Counter(sentence for sentence, _ in draws)
    translations = Counter(sentence for sentence, _ in set(draws))  # distinct French translations of each
    return TaskFacts(
        True,
        draws=len(draws),
        repeated=sum(count > 1 for count in times_drawn.values()),
        ambiguous=sum(count > 1 for count in translations.values()),
        **counts,
    )


def what_bleu_means(facts: TaskFacts) -> str:
    """BLEU near 100 here, and the no-attention model's fall with length, set against real translation
    (Bahdanau et al., 2015, on WMT'14 English→French: 30,000 words per language, sentences past 50 words)."""
    vocabulary = f"{facts.english_types:,} English and {facts.french_types:,} French word types"
    real = (
        "Real translation is scored on tens of thousands of word types, rare words and sentences with many "
        "good translations: Bahdanau et al. (2015) kept 30,000 words per language on WMT'14 English→French, "
        "where their best model scored under 30 BLEU on the whole test set."
    )
    if not facts.from_grammar:
        source = (
            f"Your pairs hold {vocabulary}, and BLEU scores each output against the one French translation "
            "they give its English sentence (a repeated English sentence keeps its first), so a good "
            "translation worded differently counts as wrong."
        )
    elif facts.ambiguous == 0:
        source = (
            f"These pairs come from a small deterministic grammar: {vocabulary} in all, and one French "
            f"translation per English sentence (in {facts.draws:,} fresh draws, the {facts.repeated:,} "
            "English sentences drawn more than once came out with the same French every time). A model "
            "that learns the grammar's rules can match the reference word for word, so BLEU near 100 is "
            f"expected here for the attention models, and says little about translating real text. {real}"
        )
    else:
        source = (
            f"These pairs come from a small grammar: {vocabulary} in all; in {facts.draws:,} fresh draws, "
            f"{facts.ambiguous:,} of the {facts.repeated:,} English sentences drawn more than once came out "
            f"with two French translations or more, and BLEU scores against only one of them. {real}"
        )
    return (
        f"**What BLEU says here.** {source}\n\n"
        "**What the fall with length carries over.** In Bahdanau et al. (2015, Figure 2, WMT'14 English→French) "
        "the encoder-decoder without attention (RNNenc) loses BLEU as sentences grow longer, while the attention model "
        "(RNNsearch) holds up to 50 words and more. The cause carries over to real corpora: without attention the "
        "whole English sentence must pass through one fixed-size vector, and the longer the sentence, the more it "
        "must hold. The sizes do not: here the English sentences run to at most "
        f"{facts.longest_english} words over {facts.english_types:,} word types, so the length where the "
        "no-attention model's curve starts to fall, how fast it falls and how much attention gains belong to "
        "these pairs and these small models, not to a real corpus."
    )


# --- Long sentences: BLEU over a range of lengths -------------------------------------------------


# BLEU over a range of English lengths, one definition everywhere (lib/data/bleu.py): corpus BLEU pooled
# over every sentence of the range, with a 95 % percentile bootstrap interval (1,000 resamples, seed 0).
SHORT_WORDS = (1, 10)
LONG_WORDS = (21, 30)
# The shipped models' long held-out set (lib/data/grammar.py, long_held_out_pairs), decoded once by
# scripts/evaluate_shipped.py; an older evaluation.json has neither key.
LONG_HELD_OUT = "long_held_out"
LONG_HELD_OUT_EXAMPLES = "long_held_out_examples"
LONG_HELD_OUT_COUNT = 200
HELD_OUT_SET = "held_out"


@st.cache_data(max_entries=64, show_spinner=False)
def range_bleu(model: str, examples: pd.DataFrame, min_words: int, max_words: int) -> dict:
    """Pooled BLEU of one model's outputs (columns English, Reference, Greedy output) over the sentences
    of `min_words` to `max_words` English words, with its bootstrap interval; cached by the model's
    label and its outputs, so the 1,000 resamples run once per model and range."""
    return bleu_over_lengths(
        list(examples["English"]), list(examples["Greedy output"]), list(examples["Reference"]), min_words, max_words
    )


def long_held_out_results(translator) -> dict:
    """A shipped model's greedy outputs on the long held-out sentences, and the time decoding them takes
    (median of 3 batched decodings after a first one): added to its evaluation.json by
    scripts/evaluate_shipped.py, never measured during a session's press."""
    import time

    pairs = long_held_out_pairs(default_corpus(), LONG_HELD_OUT_COUNT, *LONG_WORDS)
    evaluation = evaluate_translator(translator, pairs)
    encoded = encode_pairs(pairs, translator.source_vocabulary, translator.target_vocabulary)
    timings = []
    for _ in range(4):
        started = time.perf_counter()
        greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
        timings.append(time.perf_counter() - started)
    digest = hashlib.sha256("\n".join(f"{english}\t{french}" for english, french in pairs).encode("utf-8")).hexdigest()
    return {
        LONG_HELD_OUT: {
            "sentences": len(pairs),
            "min_words": LONG_WORDS[0],
            "max_words": LONG_WORDS[1],
            "seed": LONG_HELD_OUT_SEED,
            "pairs_sha256": digest,
            "decoding_seconds": float(np.median(timings[1:])),
        },
        LONG_HELD_OUT_EXAMPLES: pd.DataFrame(
            {"English": evaluation.sources, "Reference": evaluation.references, "Greedy output": evaluation.hypotheses}
        ),
    }


LENGTH_RANGE_COLUMNS = [
    "model",
    "sentence_set",
    "min_words",
    "max_words",
    "sentences",
    "bleu",
    "low",
    "high",
    "decoding_seconds",
]


def length_range_frame(shipped: list[ShippedModel]) -> pd.DataFrame:
    """Each shipped model's pooled BLEU with its interval on short sentences (1-10 words, of the 500
    held out) and on long ones (21-30 words: the long held-out set when its evaluation has it, else
    those of the 500 held out). Columns: model, sentence_set (HELD_OUT_SET or LONG_HELD_OUT), min_words,
    max_words, sentences, bleu, low, high, decoding_seconds (of the long set; nan otherwise)."""
    rows = []
    for model in shipped:
        evaluation = model.evaluation()
        long_examples = evaluation.get(LONG_HELD_OUT_EXAMPLES)
        for low, high in (SHORT_WORDS, LONG_WORDS):
            if (low, high) == LONG_WORDS and long_examples is not None and len(long_examples):
                examples, sentence_set = pd.DataFrame(long_examples), LONG_HELD_OUT
                seconds = float(evaluation.get(LONG_HELD_OUT, {}).get("decoding_seconds", float("nan")))
            else:
                examples, sentence_set, seconds = pd.DataFrame(evaluation["examples"]), HELD_OUT_SET, float("nan")
            rows.append(
                {
                    "model": model.label,
                    "sentence_set": sentence_set,
                    "min_words": low,
                    "max_words": high,
                    **range_bleu(model.label, examples, low, high),
                    "decoding_seconds": seconds,
                }
            )
    return pd.DataFrame(rows, columns=LENGTH_RANGE_COLUMNS)
