"""Translator: an encoder-decoder that writes French until </s>, teacher forcing and its train/test gap."""

import pandas as pd
import streamlit as st

from lib.charts import line_chart
from lib.diagrams import professor_forcing_dot, seq2seq_dot
from lib.seq2seq import CELLS, MAX_INPUT_WORDS, prepare_source
from lib.presets import PRESETS
from lib.training import live_training
from lib.translator_page import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    EXAMPLE_SENTENCE,
    GRAMMAR_KEY,
    MAX_PARAMETERS,
    SCRATCH_DEFAULT_EPOCHS,
    SCRATCH_DEFAULT_TRAIN,
    ScratchSettings,
    bleu_by_length_frame,
    bleu_table,
    candidates_at,
    choose_corpus,
    decoded_so_far,
    held_out_lengths,
    mismatch_reading,
    mismatch_table,
    parameter_table,
    pretrained_evaluation,
    pretrained_figures,
    pretrained_translator,
    sample_pairs,
    sampling_frame,
    step_table,
    train_from_scratch,
    trained_runs,
    training_pairs_slider,
    translate,
    vocabulary_frames,
)
from lib.url_settings import URL, SettingsLink

PAGE_KEY = "translator"
PAGE_PATH = "translator"

st.title("Translator")
link = SettingsLink(PAGE_KEY, PAGE_PATH, PRESETS[PAGE_KEY])
st.markdown(
    "> *A kind of \"Encoder-Decoder\" architecture. Trick in the decoder RNN: reinject the output at time t "
    "into the input at time t+1; when the symbol </s> is generated, stop. The Seq2seq is trained end-to-end. "
    "Teacher forcing: use the gold output at every timestep in the decoder. But this creates a mismatch "
    "between training and testing.*  — the notes"
)
st.graphviz_chart(seq2seq_dot(["the", "cat", "sleeps"], ["le", "chat", "dort"]))
st.caption(
    "The encoder's final state starts the decoder and, as the context c, is read again at every decoder step "
    "(Cho et al., 2014): that one vector is the only road from the English sentence to the French one. The dashed "
    "arrows are decoding: each word written is read back as the next input, until the decoder writes </s>. In "
    "training, teacher forcing feeds the *gold* French word there instead."
)

# --- 1. The corpus ------------------------------------------------------------------------------------
st.header("1 · The corpus")
choice = choose_corpus("corpus_choice", "pairs_upload")
corpus_key, corpus, corpus_id = choice.key, choice.corpus, choice.corpus_id
source_vocabulary, target_vocabulary = choice.vocabularies

st.dataframe(sample_pairs(corpus), hide_index=True, width="stretch")
st.caption(
    f"{len(corpus.train):,} training pairs and {len(corpus.test):,} held-out pairs; no held-out English sentence "
    "appears in training. " + (
        "The grammar has gender and number agreement, adjectives after the noun and ne … pas."
        if corpus_key == GRAMMAR_KEY else "Your pairs, split at random (seeded)."
    )
)
lengths_column, vocabulary_column = st.columns([3, 2], gap="large")
lengths_column.altair_chart(
    line_chart(held_out_lengths(corpus.test), "words", "sentences", "language",
               x_title="Held-out sentence length (words)", y_title="Held-out sentences"),
    width="stretch",
)
with vocabulary_column:
    with st.expander(f"English vocabulary: {len(source_vocabulary):,} words"):
        st.dataframe(vocabulary_frames(corpus_id, corpus)[0], hide_index=True, height=300)
    with st.expander(f"French vocabulary: {len(target_vocabulary):,} words"):
        st.dataframe(vocabulary_frames(corpus_id, corpus)[1], hide_index=True, height=300)
    st.caption("Word-level tokens: ids 0-3 are <pad> (padding), <s> (start of the French sentence), </s> (end) "
               "and <unk> (a word the vocabulary does not hold).")

# --- 2. Translate -------------------------------------------------------------------------------------
st.header("2 · Translate")
runs = trained_runs(PAGE_KEY, corpus_id, corpus)
translators = {"pretrained (shipped)": None}
translators.update({run.display_label: run for run in runs if run.model is not None})
# Not bound to the URL: the other models are this session's own runs, which a link cannot carry.
model_name = st.selectbox("Model", list(translators), help="The shipped model, or one you trained in section 3.")
translator = pretrained_translator() if translators[model_name] is None else translators[model_name].model
text = st.text_input("An English sentence", EXAMPLE_SENTENCE, max_chars=400, key="sentence", bind=URL)
prepared = prepare_source(text, translator.source_vocabulary)
if not prepared.usable:
    st.info(prepared.message, icon=":material/edit:")
else:
    if prepared.message:
        st.warning(prepared.message, icon=":material/warning:")
    beam_width = st.slider("Beam width", 1, 10, 4, help="1 is greedy decoding.", key="beam", bind=URL)
    trace, beam = translate(translator, prepared.ids, beam_width)
    greedy_column, beam_column = st.columns(2, gap="large")
    for column, title, output in ((greedy_column, "Greedy decoding", trace.text),
                                  (beam_column, f"Beam search, width {beam_width}", beam.text)):
        with column.container(border=True):
            st.caption(title)
            st.markdown(f"#### {output or '(nothing: </s> first)'}")
    agree = "agree" if trace.token_ids == beam.token_ids else "differ"
    st.markdown(
        f"Greedy and beam search **{agree}**. Log-probability of the whole output (with </s>): greedy "
        f"{trace.log_probability:.2f}, beam {beam.log_probability:.2f}"
        + ("" if trace.stopped_at_end else f". Greedy decoding hit the length cap ({len(trace.steps) - 1} words) before </s>")
        + "."
    )
    st.subheader("Greedy decoding, step by step")
    step_number = st.slider("Step", 1, len(trace.steps), 1, key="step", bind=URL) if len(trace.steps) > 1 else 1
    step_column, table_column = st.columns([1, 2], gap="medium")
    with step_column:
        st.markdown(f"Decoder input so far: `{decoded_so_far(trace, step_number)}`")
        st.dataframe(candidates_at(trace, step_number), hide_index=True, width="stretch", column_config={
            "Probability": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        })
        chosen = trace.steps[step_number - 1].chosen
        st.caption(f"Step {step_number} feeds **{chosen}** back as the next input" if chosen != "</s>"
                   else f"Step {step_number} writes </s>: decoding stops.")
    with table_column:
        st.dataframe(step_table(trace), hide_index=True, width="stretch", height=min(400, 38 + 35 * len(trace.steps)),
                     column_config={"Its probability": st.column_config.NumberColumn(format="percent")})
    with st.expander(f"Beam search's finished candidates (width {beam_width})"):
        st.dataframe(beam.candidates, hide_index=True, width="stretch", column_config={
            "log_probability": st.column_config.NumberColumn(format="%.3f"),
            "score": st.column_config.NumberColumn("score (log-probability per word)", format="%.3f"),
        })
st.caption(f"Sentences longer than {MAX_INPUT_WORDS} words are cut; decoding stops at </s> or after 2 × (English words) + 5 words.")

# --- 3. Train from scratch ----------------------------------------------------------------------------
st.header("3 · Train from scratch, and measure the train/test mismatch")
st.markdown(
    "Training uses **teacher forcing**: at every step the decoder reads the gold French word, never its own "
    "guess. At test time it reads its own guesses, so one early mistake can derail the rest. With **scheduled "
    "sampling**, each decoder input is replaced by the model's own guess with probability p during training "
    "(two passes per batch: one to guess, one to learn), so the model practises recovering from its mistakes."
)
controls = st.columns(7)
cell = controls[0].selectbox("Cell", CELLS, key="cell", bind=URL)
units = controls[1].select_slider("Units", [64, 128, 256, 512], value=256, key="units", bind=URL)
embedding_size = controls[2].select_slider("Embedding", [16, 32, 64, 128], value=64, key="embedding", bind=URL)
layers = controls[3].slider("Layers", 1, 3, 1, key="layers", bind=URL)
train_sentences = training_pairs_slider(controls[4], corpus, SCRATCH_DEFAULT_TRAIN)
epochs = controls[5].slider("Epochs", 1, 30, SCRATCH_DEFAULT_EPOCHS, key="epochs", bind=URL)
sampling = controls[6].slider("Scheduled sampling p", 0.0, 0.5, 0.0, step=0.05, key="sampling", bind=URL,
                              help="Probability of feeding the model its own guess instead of the gold word in training.")
context_every_step = st.toggle(
    "Context at every decoder step", value=True, key="context_every_step", bind=URL,
    help="On: the encoder's final state starts the decoder and is also read at every step and by the softmax "
         "(Cho et al., 2014). Off: it only starts the decoder, which must carry the sentence in its own state.",
)
settings = ScratchSettings(cell, units, embedding_size, layers, epochs, int(train_sentences), sampling,
                           context_every_step)

parameters = parameter_table(settings, (source_vocabulary, target_vocabulary))
total = int(parameters["Parameters"].sum())
st.dataframe(
    pd.concat([parameters, pd.DataFrame([{"Layer": "total", "Weights": int(parameters["Weights"].sum()),
                                          "Biases": int(parameters["Biases"].sum()), "Parameters": total,
                                          "How it is counted": "sum of the layers"}])], ignore_index=True),
    hide_index=True,
    column_config={name: st.column_config.NumberColumn(format="localized") for name in ("Weights", "Biases", "Parameters")},
)
too_big = total > MAX_PARAMETERS
if too_big:
    st.warning(f"{total:,} parameters is more than the {MAX_PARAMETERS:,} this shared app builds: choose fewer units or layers.",
               icon=":material/memory:")

figures = pretrained_figures() if corpus_key == GRAMMAR_KEY else None
references = [
    {"run": "pretrained (shipped), held out", "metric": "token_accuracy", "value": figures["held_out"]["teacher_forced_accuracy"]},
    {"run": "pretrained (shipped), held out", "metric": "bleu", "value": figures["held_out"]["bleu"]},
] if figures else None
trained_now = live_training(
    PAGE_KEY,
    ["loss", "token_accuracy", "bleu"],
    lambda area: train_from_scratch(PAGE_KEY, corpus_id, corpus, settings, area, references),
    train_label="Train from scratch",
    disabled=too_big,
    references=references,
)
if trained_now:
    st.rerun()  # Once more from the top, so the text box in section 2 offers the new model at once.
st.caption(
    f"Training batches group {DEFAULT_BATCH_SIZE} sentences of the same length (only the shorter side of each "
    f"pair is padded), so short sentences cost little; Adam's step size starts at {DEFAULT_LEARNING_RATE} and decays along "
    "a cosine over the planned epochs. Dashed: held-out token accuracy with teacher forcing, and held-out BLEU of "
    "greedy decoding, measured at each epoch's end on the same held-out sentences."
)

runs = trained_runs(PAGE_KEY, corpus_id, corpus)
pretrained = pretrained_evaluation() if corpus_key == GRAMMAR_KEY else None
mismatch = mismatch_table(runs, pretrained)
if not mismatch.empty:
    st.subheader("The mismatch, measured on the same held-out sentences")
    st.dataframe(mismatch, hide_index=True, width="stretch", column_config={
        "Teacher-forced token accuracy": st.column_config.NumberColumn(format="percent"),
        "Greedy token accuracy": st.column_config.NumberColumn(format="percent"),
        "Gap (points)": st.column_config.NumberColumn(format="%.1f"),
        "BLEU": st.column_config.NumberColumn(format="%.1f"),
        "Exact matches": st.column_config.NumberColumn(format="percent"),
        "Scheduled sampling p": st.column_config.NumberColumn(format="%.2f"),
    })
    st.markdown(mismatch_reading(mismatch))
    by_p = sampling_frame(runs)
    if by_p["p"].nunique() > 1:
        st.altair_chart(line_chart(by_p, "p", "accuracy", "measured", x_title="Scheduled sampling p",
                                   y_title="Held-out token accuracy"), width="stretch")
    else:
        st.caption("Train again with another p (same other settings) to chart both accuracies against p.")
if not runs:
    st.info("Press **Train from scratch** to train your own model; it then appears in the translator's model list.",
            icon=":material/play_arrow:")

with st.expander("Professor forcing, the notes' other remedy (explained, not trained here)"):
    st.graphviz_chart(professor_forcing_dot())
    st.markdown(
        "Professor forcing (Lamb et al., 2016) runs the decoder twice on each sentence: once teacher-forced and "
        "once free, feeding back its own samples. A discriminator learns to tell the two runs' hidden states apart, "
        "and the decoder is trained, besides predicting the next word, to fool it: its behaviour when left to "
        "itself is pulled towards its behaviour in training, which is exactly the mismatch above."
    )

# --- 4. BLEU ------------------------------------------------------------------------------------------
st.header("4 · BLEU on the held-out sentences")
scores = bleu_table(runs, pretrained)
if scores.empty:
    st.info("Train a model in section 3 to measure it on your pairs' held-out sentences.", icon=":material/play_arrow:")
else:
    st.dataframe(scores, hide_index=True, width="stretch", column_config={
        "BLEU": st.column_config.NumberColumn(format="%.1f"),
        "Exact matches": st.column_config.NumberColumn(format="percent"),
    })
    by_length = bleu_by_length_frame(runs, pretrained)
    st.altair_chart(line_chart(by_length, "min_words", "bleu", "model",
                               x_title="English sentence length (words, from)", y_title="Corpus BLEU (greedy)"),
                    width="stretch")
    st.caption(
        f"Corpus BLEU (0-100, 4-grams, as sacrebleu computes it) of greedy decoding on the {len(corpus.test):,} "
        "held-out sentences, then on the held-out sentences grouped by English length. Long sentences must pass "
        "through the one final state of the encoder: the attention page removes that bottleneck."
    )

link.finish()
