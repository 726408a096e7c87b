"""Attention: the notes' q·z softmax on a real model's vectors, where the decoder looks while it
translates, an alignment forming live as a model trains, and why attention helps long sentences."""

import numpy as np
import pandas as pd
import streamlit as st

from lib.data.corpus import END, START_ID, tokenize
from lib.engine.charts import attention_heatmap, bar_chart, line_chart, show, vectors_chart
from lib.engine.training import live_training
from lib.models.attention import SCORE_FORMULAS, SCORE_NAMES, attention_numpy
from lib.models.decoding import LIVE_BLEU_SENTENCES, MAX_INPUT_WORDS
from lib.page_glue.attention_page import (
    COLUMNS_TITLE,
    COMPARED_PAGES,
    PAGE_KEY,
    PRETRAINED,
    ROWS_CAPTION,
    ROWS_TITLE,
    SCRATCH_DEFAULT_TRAIN,
    SHIPPED,
    SNAPSHOTS_PER_EPOCH,
    AttentionSettings,
    alignment_callbacks,
    attention_frame,
    fixed_sentence_view,
    formula_on_model,
    held_out_alignment,
    influence_frames,
    influence_reading,
    intervene,
    long_sentence_ranges,
    long_sentence_reading,
    parameter_table,
    shipped_alignment_reading,
    vectors_frame,
)
from lib.page_glue.export import attention_archives, family_downloads
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.settings.attention import SETTINGS
from lib.page_glue.translator_family import (
    GRAMMAR_KEY,
    MAX_PARAMETERS,
    SHIPPED_ATTENTION,
    candidates_at,
    choose_corpus,
    choose_model,
    choose_sentence,
    decoded_so_far,
    family_comparison,
    greedy_and_beam_columns,
    parameter_expander,
    press_settings,
    replay_snapshots,
    train_from_scratch,
    training_pairs_slider,
    translate,
)

st.title("Attention")
link = SETTINGS.link()
st.markdown(
    "> *Issue in RNN: the hidden vector gives more importance to the most recent timestep; we may prefer "
    "content- vs. recency-based importance. Compute q·zᵢ between the query q and every zᵢ of a bank of vectors, "
    "normalise with a softmax αᵢ = softmax(q·zᵢ), and compute a new summary z = Σᵢ αᵢ zᵢ. In a seq2seq, q is the "
    "current decoder hidden state, the zᵢ are the encoder hidden states, and z is used to compute the next decoder "
    "step.*  — the notes"
)
st.caption(
    "The model here (Luong et al., 2015): a bidirectional GRU encoder gives one state zᵢ per English word; the "
    "decoder GRU's state at each step is the query q; the summary z and q together choose the French word, which is "
    "fed back as the next step's input. The Translator's bottleneck, one vector for the whole sentence, is gone."
)

choice = choose_corpus("attention_corpus_choice", "attention_pairs_upload")
corpus, corpus_id = choice.corpus, choice.corpus_id

translator = choose_model(
    PAGE_KEY,
    corpus_id,
    corpus,
    PRETRAINED,
    SHIPPED_ATTENTION.translator,
    "The shipped attention model, or one you trained in section 3.",
)
NEEDS_SENTENCE = "Type an English sentence in the box above: this part runs on its translation."


def formula_section(step_column, scale: float, translator, prepared, trace) -> int:
    """Section 1 on the sentence: the model's own score, softmax and summary at one decoder step."""
    english_words = prepared.words
    step_number = SETTINGS.widget("step", step_column, max_value=len(trace.steps), value=min(3, len(trace.steps)))
    previous = [
        START_ID,
        *translator.target_vocabulary.encode([step.chosen for step in trace.steps[: step_number - 1]]),
    ]
    formula = formula_on_model(translator, prepared.ids, previous, scale)
    score_formula = SCORE_FORMULAS[formula["score"]]
    writes = trace.steps[step_number - 1].chosen
    st.markdown(
        f"This model's score is the **{SCORE_NAMES[formula['score']]}**. The bars compute score = "
        f"{score_formula}"
        + (
            " from the model's vectors"
            if formula["score"] == "dot"
            else " from the model's vectors and its learned weights"
        )
        + f", then α = softmax(score) and z = Σᵢ αᵢ zᵢ. Step {step_number}: the decoder has read "
        f"`{decoded_so_far(trace, step_number)}` and writes **{writes}**."
    )
    bars = pd.DataFrame(
        {
            "word": [f"{i + 1} {w}" for i, w in enumerate(english_words)],
            "score": formula["scores"],
            "alpha": formula["weights"],
            "top": formula["weights"] == formula["weights"].max(),
        }
    )
    score_column, alpha_column, picture_column = st.columns(3, gap="medium")
    show(
        score_column,
        bar_chart(
            bars, "word", "score", x_title="English word i", y_title=f"{scale:g} × {score_formula}", highlight="top"
        ),
        width="stretch",
    )
    show(
        alpha_column,
        bar_chart(
            bars,
            "word",
            "alpha",
            x_title="English word i",
            y_title="αᵢ = softmax(scores)",
            highlight="top",
            domain=(0, 1),
        ),
        width="stretch",
    )
    show(picture_column, vectors_chart(vectors_frame(formula, english_words)), width="stretch")
    own = trace.steps[step_number - 1].extras["attention"][: len(english_words)]
    agreement = (
        f"At scale 1 these α are the model's own: they differ from row {step_number} ({writes}) of the map in "
        f"section 2 by at most {np.abs(formula['weights'] - own).max():.1e}. "
        if scale == 1
        else ""
    )
    highest = (
        "the zᵢ with the largest dot product with q, not to the one nearest to q"
        if formula["score"] == "dot"
        else "the zᵢ that the learned weights favour, not to the one nearest to q"
    )
    sizes = (
        "Dot products of long vectors are large, so the softmax can be sharp at scale 1; the Transformer divides "
        "its scores by √d_k (the keys' length) for this reason. "
        if formula["score"] != "additive"
        else ""
    )
    st.caption(
        f"q and every zᵢ have {len(formula['query'])} numbers; the bars are exact. The picture projects q, the zᵢ and z "
        "on the two main directions of the zᵢ (size: αᵢ; q and z are named by their colour): z lands at the α-weighted "
        f"mean of the zᵢ points, but q's distance to a zᵢ there is not their score, {score_formula}: the highest "
        f"score goes to {highest}. {agreement}"
        f"The α sum to {formula['weights'].sum():.3f}; the largest is {formula['weights'].max():.3f} at scale {scale:g}; "
        f"‖z‖ = {np.linalg.norm(formula['summary']):.2f}. {sizes}Scale 0.01 flattens the softmax towards "
        f"1/n = {1 / len(english_words):.3f}."
    )
    return step_number


def translation_section(step_number: int, translator, corpus, text: str, prepared, trace, beam) -> None:
    """Section 2 on the sentence: greedy and beam translations, the attention map, the intervention."""
    english_words = prepared.words
    greedy_and_beam_columns(trace, beam, 4)
    french_words = [step.chosen for step in trace.steps]  # Row t: the word step t writes.
    weights = np.stack([step.extras["attention"][: len(english_words)] for step in trace.steps])
    map_column, step_column = st.columns([3, 2], gap="large")
    gold = held_out_alignment(corpus, text, trace.text)
    show(
        map_column,
        attention_heatmap(
            attention_frame(weights, english_words, french_words, gold),
            title="Attention of greedy decoding (rows sum to 1)",
            x_title=COLUMNS_TITLE,
            y_title=ROWS_TITLE,
        ),
        width="content",
    )
    map_column.caption(
        ROWS_CAPTION
        + (
            " A held-out sentence translated exactly as its reference: the grammar's gold alignment is outlined."
            if gold is not None
            else ""
        )
    )
    with step_column:
        st.markdown(f"Step **{step_number}** (the slider of section 1) reads `{decoded_so_far(trace, step_number)}`:")
        st.dataframe(
            candidates_at(trace, step_number),
            hide_index=True,
            width="stretch",
            column_config={
                "Probability": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)
            },
        )
    st.subheader("Intervene: make one step look elsewhere")
    at_column, where_column, result_column = st.columns([1, 1, 2], gap="medium")
    at_step = SETTINGS.widget("intervene_step", at_column, max_value=len(trace.steps), value=min(2, len(trace.steps)))
    targets = {f"{i + 1} {w}": i for i, w in enumerate(english_words)} | {"uniform over the sentence": None}
    target_name = SETTINGS.widget("attend_to", where_column, options=list(targets), index=len(english_words) - 1)
    changed = intervene(translator, prepared.ids, at_step, targets[target_name])
    with result_column.container(border=True):
        st.caption(f"Greedy decoding with step {at_step} attending to “{target_name}”")
        st.markdown(f"#### {changed.text or '(nothing: </s> first)'}")
    same = changed.token_ids == trace.token_ids
    st.caption(
        (
            "The translation is unchanged: that step's word did not depend on where it looked."
            if same
            else f"Step {at_step} now writes **{changed.steps[at_step - 1].chosen}** instead of "
            f"**{trace.steps[at_step - 1].chosen}**, and every later word follows from it: the summary z decides "
            "the word."
        )
        + f" Sentences longer than {MAX_INPUT_WORDS} words are cut."
    )


sentence = choose_sentence(corpus, translator.source_vocabulary)
if sentence is not None:
    text, prepared = sentence
    trace, beam = translate(translator, prepared.ids, beam_width=4)

# --- 1. The formula ---------------------------------------------------------------------------------
st.header("1 · The notes' formula, on the model's own vectors")
step_column, scale_column = st.columns(2)
scale = SETTINGS.widget("scale", scale_column)
# What needs a sentence sits in one container, so every later setting keeps its place whether or not there
# is a sentence (see `show_sentence_note` on why a moved setting matters).
with st.container():
    if sentence is None:
        step_number = None
        st.info(NEEDS_SENTENCE, icon=":material/edit:")
    else:
        step_number = formula_section(step_column, scale, translator, prepared, trace)
with st.expander("Compute one attention step by hand", expanded=False):
    st.markdown(
        "Four 2-D vectors zᵢ and a query q; edit any number. The app runs the notes' three lines, with "
        "their dot-product score q·zᵢ, at the scale chosen above."
    )
    hand = st.data_editor(
        pd.DataFrame(
            {"vector": ["z1", "z2", "z3", "z4", "q"], "x": [1.0, 0.0, -1.0, 0.5, 2.0], "y": [0.0, 1.0, 0.0, 0.5, 1.0]}
        ),
        disabled=["vector"],
        hide_index=True,
        key="hand_example",
        column_config={
            "x": st.column_config.NumberColumn(min_value=-100.0, max_value=100.0),
            "y": st.column_config.NumberColumn(min_value=-100.0, max_value=100.0),
        },
    )
    values = hand[["x", "y"]].astype(float).fillna(0.0).to_numpy()
    hand_scores, hand_weights, hand_summary = attention_numpy(values[4], values[:4], scale)
    st.dataframe(
        pd.DataFrame({"zᵢ": ["z1", "z2", "z3", "z4"], f"{scale:g} × q·zᵢ": hand_scores, "αᵢ": hand_weights}),
        hide_index=True,
        column_config={"αᵢ": st.column_config.NumberColumn(format="%.4f")},
    )
    st.markdown(f"z = Σ αᵢ zᵢ = ({hand_summary[0]:.4f}, {hand_summary[1]:.4f}), at scale {scale:g}.")

# --- 2. Translate -----------------------------------------------------------------------------------
st.header("2 · Translate, and see where it looks")
with st.container():
    if sentence is None:
        st.info(NEEDS_SENTENCE, icon=":material/edit:")
    else:
        translation_section(step_number, translator, corpus, text, prepared, trace, beam)

# --- 3. Train ------------------------------------------------------------------------------------------
st.header("3 · Train from scratch, and watch the alignment form")
controls = st.columns(6)
score = SETTINGS.widget("score", controls[0])
units = SETTINGS.widget("units", controls[1])
embedding_size = SETTINGS.widget("embedding", controls[2])
train_sentences = training_pairs_slider(controls[3], corpus, SCRATCH_DEFAULT_TRAIN)
epochs = SETTINGS.widget("epochs", controls[4])
seed = SETTINGS.widget("seed", controls[5])
st.caption(f"Score: {SCORE_NAMES[score]}.")
settings = AttentionSettings(score, units, embedding_size, epochs, int(train_sentences), seed=seed)
total = parameter_expander(parameter_table(settings, choice.vocabularies))
too_big = total > MAX_PARAMETERS
if too_big:
    st.warning(
        f"{total:,} parameters is more than the {MAX_PARAMETERS:,} this shared app builds.", icon=":material/memory:"
    )
live_view = fixed_sentence_view(corpus)
english, french, alignment = live_view.english, live_view.french, live_view.alignment
st.markdown(
    f"The heatmap follows one held-out pair: *{english}* → *{french}*"
    + (" (gold alignment outlined)." if alignment is not None else ".")
)
st.caption(
    f"{ROWS_CAPTION} The model reads the reference French words (teacher forcing), so the rows are those "
    f"words and </s>. The live chart's “BLEU (held-out, greedy)” decodes {min(LIVE_BLEU_SENTENCES, len(corpus.test))} "
    f"held-out sentences at each epoch's end, a sample for speed; the table of section 4 decodes all "
    f"{len(corpus.test)}."
)
metrics = ["loss", "token_accuracy", "bleu"] + (["alignment_accuracy"] if corpus.test_alignments is not None else [])
prediction_box(PAGE_KEY)
trained_now = live_training(
    PAGE_KEY,
    metrics,
    lambda area: train_from_scratch(
        PAGE_KEY,
        corpus_id,
        corpus,
        settings,
        area,
        extra_metrics=tuple(metrics[3:]),
        metric_callbacks=alignment_callbacks(corpus),
        snapshot=live_view.snapshot,
        draw_snapshot=live_view.draw_snapshot,
        snapshots_per_epoch=SNAPSHOTS_PER_EPOCH,
    ),
    train_label="Train from scratch",
    disabled=too_big,
    share=press_settings(settings, corpus_id),
)
if trained_now:
    st.rerun()  # Once more from the top, so the model list offers the new model at once.
family_downloads(PAGE_KEY, corpus_id, corpus, attention_archives, SHIPPED_ATTENTION)


def draw_alignment(run, taken: dict) -> None:
    """One snapshot of a run's live heatmap, replayed."""
    frame = attention_frame(
        np.asarray(taken["value"], dtype=np.float32), tokenize(english), [*tokenize(french), END], alignment
    )
    show(
        st,
        attention_heatmap(
            frame,
            title=f"{run.display_label}: epoch {taken['epoch']:.2f}",
            x_title=COLUMNS_TITLE,
            y_title=ROWS_TITLE,
        ),
        width="content",
    )
    st.caption(ROWS_CAPTION)


replay_snapshots(PAGE_KEY, corpus_id, "Replay the alignment forming", draw_alignment)
st.caption(
    "Alignment accuracy: the share of held-out French words (teacher-forced) whose largest α falls on the English "
    "word the grammar says it translates (ne and pas → not, articles → their determiner; words without one, such as "
    "the des of a bare plural, are not counted). No other teaching tool can show it: a real corpus has no gold alignments. "
    + (shipped_alignment_reading(SHIPPED_ATTENTION.evaluation()) if corpus_id == GRAMMAR_KEY else "")
)

# --- 4. Why it helps ----------------------------------------------------------------------------------
st.header("4 · Why it helps: long sentences")
if not family_comparison(SHIPPED, COMPARED_PAGES, corpus_id, corpus):
    st.info("Train a model on this page or on the Translator page to compare it here.", icon=":material/play_arrow:")
else:
    st.markdown(long_sentence_reading(long_sentence_ranges(corpus_id)))
    st.caption(
        f"The same {len(corpus.test)} held-out sentences for every model: the shipped ones, and the runs of this "
        "session on the Translator page and on this one (Bahdanau et al., 2014, Fig. 2, measured the same way)."
    )
prediction_result(PAGE_KEY)
choice.say_what_bleu_means()
st.subheader("Recency against content")
st.markdown(
    "The notes: an RNN's hidden vector gives more importance to the most recent timestep, and attention lets "
    "importance follow content instead. Measured here by occlusion: each English word in turn is replaced by <unk>, "
    "and the fall in the log-probability of every gold French word (teacher-forced) is shared out over the English "
    "words. Left: where that evidence sits, relative to the word the grammar aligns the French word to. Right: the "
    "aligned word's share, by how many words the encoder read after it (the Translator reads English backwards, so "
    "for it the first English words are the most recent; for the attention model, the count from the end)."
)
if corpus.test_alignments is None:
    st.info(
        "Only the grammar knows which English word each French word translates: choose it above.",
        icon=":material/info:",
    )
elif st.toggle("Measure (about 20 s the first time on this server, and per new run)", key="measure_influence"):
    by_offset, by_distance = influence_frames(corpus_id, corpus)
    offset_column, distance_column = st.columns(2, gap="large")
    show(
        offset_column,
        line_chart(
            by_offset,
            "offset",
            "share",
            "model",
            x_title="English position − aligned position",
            y_title="Share of the evidence",
        ),
        width="stretch",
    )
    show(
        distance_column,
        line_chart(
            by_distance,
            "read_after",
            "share",
            "model",
            x_title="Words the encoder read after the aligned word",
            y_title="Share on the aligned word",
        ),
        width="stretch",
    )
    st.markdown(influence_reading(by_distance))
if corpus_id == GRAMMAR_KEY:
    figures = SHIPPED_ATTENTION.figures()
    st.caption(
        f"The shipped attention model: `{figures['command']}` on {figures['date']}, {figures['epochs']} epochs "
        f"in {figures['training_seconds']:.0f} s ({figures['machine']})."
    )

link.finish()
