"""Translator: an encoder-decoder that writes French until </s>, teacher forcing and its train/test gap."""

import streamlit as st

from lib.engine.charts import line_chart, points_chart, show
from lib.engine.diagrams import professor_forcing_dot, seq2seq_dot
from lib.engine.training import live_training
from lib.models.decoding import MAX_INPUT_WORDS, prepare_source
from lib.models.seq2seq import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE
from lib.page_glue.export import family_downloads, translator_archives
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.settings.translator import SETTINGS
from lib.page_glue.translator_family import (
    GRAMMAR_KEY,
    MAX_PARAMETERS,
    RUN_LABEL_COLUMNS,
    SHIPPED_SEQ2SEQ,
    bleu_by_length_chart,
    candidates_at,
    choose_corpus,
    choose_model,
    decoded_so_far,
    greedy_and_beam_columns,
    parameter_dataframe,
    press_settings,
    show_sentence_note,
    train_from_scratch,
    trained_runs,
    training_pairs_slider,
    translate,
)
from lib.page_glue.translator_page import (
    PROFESSOR_FORCING,
    SCHEDULED_SAMPLING,
    SCRATCH_DEFAULT_EPOCHS,
    SCRATCH_DEFAULT_TRAIN,
    ScratchSettings,
    bleu_by_length_frame,
    bleu_table,
    exposure_bias_reading,
    exposure_bias_summary,
    exposure_bias_table,
    held_out_lengths,
    mismatch_reading,
    mismatch_table,
    parameter_table,
    sample_pairs,
    step_table,
    training_frame,
    vocabulary_frames,
)

PAGE_KEY = "translator"

st.title("Translator")
link = SETTINGS.link()
st.markdown(
    '> *A kind of "Encoder-Decoder" architecture. Trick in the decoder RNN: reinject the output at time t '
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
    "appears in training. "
    + (
        "The grammar has gender and number agreement, adjectives after the noun and ne … pas."
        if corpus_key == GRAMMAR_KEY
        else "Your pairs, split at random (seeded)."
    )
)
lengths_column, vocabulary_column = st.columns([3, 2], gap="large")
show(
    lengths_column,
    line_chart(
        held_out_lengths(corpus.test),
        "words",
        "sentences",
        "language",
        x_title="Held-out sentence length (words)",
        y_title="Held-out sentences",
    ),
    width="stretch",
)
with vocabulary_column:
    with st.expander(f"English vocabulary: {len(source_vocabulary):,} words"):
        st.dataframe(vocabulary_frames(corpus_id, corpus).english, hide_index=True, height=300)
    with st.expander(f"French vocabulary: {len(target_vocabulary):,} words"):
        st.dataframe(vocabulary_frames(corpus_id, corpus).french, hide_index=True, height=300)
    st.caption(
        "Word-level tokens: ids 0-3 are <pad> (padding), <s> (start of the French sentence), </s> (end) "
        "and <unk> (a word the vocabulary does not hold)."
    )

# --- 2. Translate -------------------------------------------------------------------------------------
st.header("2 · Translate")
runs = trained_runs(PAGE_KEY, corpus_id, corpus)
translator = choose_model(
    PAGE_KEY,
    corpus_id,
    corpus,
    "pretrained (shipped)",
    SHIPPED_SEQ2SEQ.translator,
    "The shipped model, or one you trained in section 3.",
)
text = SETTINGS.widget("sentence")
prepared = prepare_source(text, translator.source_vocabulary)
# What the sentence shows (a hint, or a warning and a translation) is drawn in one container of its own,
# its note in a slot at the top: see `show_sentence_note`.
with st.container():
    show_sentence_note(prepared, st.container())
    if prepared.usable:
        beam_width = SETTINGS.widget("beam")
        trace, beam = translate(translator, prepared.ids, beam_width)
        greedy_and_beam_columns(trace, beam, beam_width)
        agree = "agree" if trace.token_ids == beam.token_ids else "differ"
        st.markdown(
            f"Greedy and beam search **{agree}**. Log-probability of the whole output (with </s>): greedy "
            f"{trace.log_probability:.2f}, beam {beam.log_probability:.2f}"
            + (
                ""
                if trace.stopped_at_end
                else f". Greedy decoding hit the length cap ({len(trace.steps) - 1} words) before </s>"
            )
            + "."
        )
        st.subheader("Greedy decoding, step by step")
        step_number = SETTINGS.widget("step", max_value=len(trace.steps)) if len(trace.steps) > 1 else 1
        step_column, table_column = st.columns([1, 2], gap="medium")
        with step_column:
            st.markdown(f"Decoder input so far: `{decoded_so_far(trace, step_number)}`")
            st.dataframe(
                candidates_at(trace, step_number),
                hide_index=True,
                width="stretch",
                column_config={
                    "Probability": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
                },
            )
            chosen = trace.steps[step_number - 1].chosen
            st.caption(
                f"Step {step_number} feeds **{chosen}** back as the next input"
                if chosen != "</s>"
                else f"Step {step_number} writes </s>: decoding stops."
            )
        with table_column:
            st.dataframe(
                step_table(trace),
                hide_index=True,
                width="stretch",
                height=min(400, 38 + 35 * len(trace.steps)),
                column_config={"Its probability": st.column_config.NumberColumn(format="percent")},
            )
        with st.expander(f"Beam search's finished candidates (width {beam_width})"):
            st.dataframe(
                beam.candidates,
                hide_index=True,
                width="stretch",
                column_config={
                    "log_probability": st.column_config.NumberColumn(format="%.3f"),
                    "score": st.column_config.NumberColumn("score (log-probability per word)", format="%.3f"),
                },
            )
st.caption(
    f"Sentences longer than {MAX_INPUT_WORDS} words are cut; decoding stops at </s> or after 2 × (English words) + 5 words."
)

# --- 3. Train from scratch ----------------------------------------------------------------------------
st.header("3 · Train from scratch, and measure the train/test mismatch")
st.markdown(
    "Training uses **teacher forcing**: at every step the decoder reads the gold French word, never its own "
    "guess. At test time it reads its own guesses, so one early mistake can derail the rest. The notes name two "
    "remedies, and both train here. With **scheduled sampling**, each decoder input is replaced by the model's own "
    "guess with probability p during training (two passes per batch: one to guess, one to learn), so the model "
    "practises recovering from its mistakes. With **professor forcing** (Lamb et al., 2016), each batch runs the "
    "decoder twice, teacher-forced and on its own outputs; a small discriminator learns to tell the two runs' "
    "hidden states apart, and the decoder is also trained to fool it (the diagram below)."
)
controls = st.columns(6)
cell = SETTINGS.widget("cell", controls[0])
units = SETTINGS.widget("units", controls[1])
embedding_size = SETTINGS.widget("embedding", controls[2])
layers = SETTINGS.widget("layers", controls[3])
train_sentences = training_pairs_slider(controls[4], corpus, SCRATCH_DEFAULT_TRAIN)
epochs = SETTINGS.widget("epochs", controls[5])
# The choice has a row of its own: in a third of the row its three options overflowed at 1,400 px
# and "professor forcing" could be neither read nor clicked without scrolling the control.
training = SETTINGS.widget("training")
training_controls = st.columns(2, gap="large")
sampling = SETTINGS.widget("sampling", training_controls[0], disabled=training != SCHEDULED_SAMPLING)
adversarial_weight = SETTINGS.widget("adversarial_weight", training_controls[1], disabled=training != PROFESSOR_FORCING)
context_every_step = SETTINGS.widget("context_every_step")
seed = SETTINGS.widget("seed", st.columns(4)[0])
settings = ScratchSettings(
    cell,
    units,
    embedding_size,
    layers,
    epochs,
    int(train_sentences),
    sampling,
    context_every_step,
    training,
    adversarial_weight,
    seed,
)
if training == PROFESSOR_FORCING:
    st.caption(
        "Professor forcing runs the decoder twice per batch and trains a discriminator beside it: a press costs "
        "2 to 5 times teacher forcing's here (measured below, on a host whose load swung between 3 and 18). The chart gains the discriminator's accuracy: "
        "50 % means it cannot tell the free run from the teacher-forced one."
    )

parameters = parameter_table(settings, (source_vocabulary, target_vocabulary))
total = int(parameters["Parameters"].iloc[-1])
parameter_dataframe(parameters)
too_big = total > MAX_PARAMETERS
if too_big:
    st.warning(
        f"{total:,} parameters is more than the {MAX_PARAMETERS:,} this shared app builds: choose fewer units or layers.",
        icon=":material/memory:",
    )

figures = SHIPPED_SEQ2SEQ.figures() if corpus_key == GRAMMAR_KEY else None
references = (
    [
        {
            "run": "pretrained (shipped), held out",
            "metric": "token_accuracy",
            "value": figures["held_out"]["teacher_forced_accuracy"],
        },
        {"run": "pretrained (shipped), held out", "metric": "bleu", "value": figures["held_out"]["bleu"]},
    ]
    if figures
    else None
)
# The discriminator's accuracy gets a panel once a professor-forcing run exists or is about to.
chart_metrics = ["loss", "token_accuracy", "bleu"] + (
    ["discriminator_accuracy"]
    if training == PROFESSOR_FORCING or any(run.results.get("training") == PROFESSOR_FORCING for run in runs)
    else []
)
prediction_box(PAGE_KEY)
trained_now = live_training(
    PAGE_KEY,
    chart_metrics,
    lambda area: train_from_scratch(PAGE_KEY, corpus_id, corpus, settings, area, references),
    train_label="Train from scratch",
    disabled=too_big,
    references=references,
    share=press_settings(settings, corpus_id),
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
pretrained = SHIPPED_SEQ2SEQ.evaluation() if corpus_key == GRAMMAR_KEY else None
mismatch = mismatch_table(runs, pretrained)
shipped_runs = exposure_bias_table() if corpus_key == GRAMMAR_KEY else None
accuracy_format = st.column_config.NumberColumn(format="percent")
if not mismatch.empty:
    st.subheader("The mismatch, measured on the same held-out sentences")
    st.dataframe(
        mismatch,
        hide_index=True,
        width="stretch",
        column_config={
            **RUN_LABEL_COLUMNS,
            "Teacher-forced token accuracy": accuracy_format,
            "Greedy token accuracy": accuracy_format,
            "Gap (points)": st.column_config.NumberColumn(format="%.1f"),
            "BLEU": st.column_config.NumberColumn(format="%.1f"),
            "Exact matches": accuracy_format,
        },
    )
    st.markdown(mismatch_reading(mismatch))
    prediction_result(PAGE_KEY)
    family_downloads(PAGE_KEY, corpus_id, corpus, translator_archives, SHIPPED_SEQ2SEQ)
if shipped_runs is not None:
    first = shipped_runs.iloc[0]
    seeds = shipped_runs.groupby("training")["seed"].nunique()
    seed_words = (
        f"{seeds.min()} seeds each"
        if seeds.min() == seeds.max()
        else ", ".join(f"{training}: {count} seed{'s' if count != 1 else ''}" for training, count in seeds.items())
    )
    st.subheader("Teacher forcing and its two remedies at the same budget (measured beforehand)")
    st.dataframe(
        exposure_bias_summary(shipped_runs),
        hide_index=True,
        width="stretch",
        column_config={
            "Teacher-forced token accuracy": accuracy_format,
            "Greedy token accuracy": accuracy_format,
            "Gap (points)": st.column_config.NumberColumn(format="%.1f"),
            "BLEU": st.column_config.NumberColumn(format="%.1f"),
            "Press (s)": st.column_config.NumberColumn(format="%.0f"),
            "Press ÷ teacher forcing": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    # The measurement names the press it trained; the page's default may have changed since.
    at_default = (int(first["train_sentences"]), int(first["epochs"])) == (
        SCRATCH_DEFAULT_TRAIN,
        SCRATCH_DEFAULT_EPOCHS,
    )
    press_words = "The page's default press" if at_default else "A press other than the page's default"
    st.caption(
        f"{press_words} ({int(first['units'])} units, {int(first['train_sentences']):,} pairs, "
        f"{int(first['epochs'])} epochs) trained each way through this page's own code, means over {seed_words}; "
        f"measured on {first['date']} on {first['machine']} (load average {first['load_average']}) by "
        "scripts/exposure_bias.py (data/translator/exposure_bias.csv). Same held-out sentences as the table above."
        + (
            " One seed is one draw: seeds alone move these numbers, by how much is not measured here."
            if seeds.min() < 2
            else ""
        )
    )
    st.markdown(exposure_bias_reading(exposure_bias_summary(shipped_runs)))
by_training = training_frame(runs, shipped_runs)
if not by_training.empty:
    show(
        st,
        points_chart(
            by_training,
            "training",
            "accuracy",
            "measured",
            "source",
            x_title="Training",
            y_title="Held-out token accuracy",
        ),
        width="stretch",
    )
    st.caption(
        "One point per run: teacher-forced against greedy token accuracy on the same held-out sentences. "
        "This session's runs (those with the newest run's other settings) beside the shipped measurement's."
    )
if not runs:
    st.info(
        "Press **Train from scratch** to train your own model; it then appears in the translator's model list.",
        icon=":material/play_arrow:",
    )

with st.expander("Professor forcing, how it is trained here"):
    st.graphviz_chart(professor_forcing_dot())
    st.markdown(
        "Professor forcing (Lamb et al., 2016) runs the decoder twice on each sentence: once teacher-forced and "
        "once free, feeding back its own words. A discriminator (a bidirectional GRU of 64 units over the last "
        "decoder layer's hidden states, then a small MLP, as in the paper) learns to tell the two runs apart, and "
        "the decoder is trained, besides predicting the next word, to make its free run look teacher-forced: its "
        "behaviour when left to itself is pulled towards its behaviour in training, which is exactly the mismatch "
        "above. Two choices of this page, not the paper's: the free run feeds back the most probable word "
        "(greedy), not a sample, because the greedy decoding is what the table measures; and of the paper's two "
        "decoder terms only the one that pulls the free run towards the teacher-forced one is kept. The "
        "discriminator's update never changes the decoder and the decoder's never changes the discriminator; "
        "each has its own optimizer."
    )

# --- 4. BLEU ------------------------------------------------------------------------------------------
st.header("4 · BLEU on the held-out sentences")
scores = bleu_table(runs, pretrained)
if scores.empty:
    st.info("Train a model in section 3 to measure it on your pairs' held-out sentences.", icon=":material/play_arrow:")
else:
    st.dataframe(
        scores,
        hide_index=True,
        width="stretch",
        column_config={
            "BLEU": st.column_config.NumberColumn(format="%.1f"),
            "Exact matches": st.column_config.NumberColumn(format="percent"),
        },
    )
    show(st, bleu_by_length_chart(bleu_by_length_frame(runs, pretrained)), width="stretch")
    st.caption(
        f"Corpus BLEU (0-100, 4-grams, as sacrebleu computes it) of greedy decoding on the {len(corpus.test):,} "
        "held-out sentences, then on the held-out sentences grouped by English length. Long sentences must pass "
        "through the one final state of the encoder: the attention page removes that bottleneck."
    )
choice.say_what_bleu_means()

link.finish()
