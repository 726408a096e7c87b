"""Transformer: queries, keys and values, every head of every layer, why positions and the causal mask
exist, a Transformer trained live, and the three translators compared on the same sentences."""

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from lib.engine.charts import attention_heatmap, line_chart, show
from lib.engine.training import live_training
from lib.models.attention import attention_numpy
from lib.models.transformer import attention_layer_names
from lib.page_glue.attention_page import attention_frame
from lib.page_glue.export import family_downloads, transformer_archives
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.settings.transformer import SETTINGS
from lib.page_glue.transformer_page import (
    COMPARED_PAGES,
    COST_HEADS,
    COST_LAYERS,
    COST_MODEL_SIZE,
    KNOCKOUT_SENTENCES,
    PAGE_KEY,
    PRETRAINED,
    ROW_CAPTION,
    SCRATCH_DEFAULT_TRAIN,
    SHIPPED,
    SNAPSHOTS_PER_EPOCH,
    TransformerSettings,
    cost_reading,
    encoder_costs,
    flop_breakdown,
    grid_specifications,
    head_frames_of,
    head_view,
    map_titles,
    mask_pair,
    mask_reading,
    mask_view,
    parameter_table,
    permutation_check,
    permutation_text,
    position_view,
    silenced_bleu,
    silenced_translator,
    walkthrough,
)
from lib.page_glue.translator_family import (
    MAX_PARAMETERS,
    SHIPPED_TRANSFORMER,
    choose_corpus,
    choose_model,
    choose_sentence,
    family_comparison,
    greedy_and_beam_columns,
    parameter_expander,
    press_settings,
    replay_snapshots,
    train_from_scratch,
    trained_runs,
    training_pairs_slider,
    translate,
)

st.title("Transformer")
link = SETTINGS.link()
st.markdown(
    "> *Attention: query-key-values. The bank may contain pairs of vectors (key, value); the query q is compared to "
    "every key, and the corresponding value is returned: the basis of key-value memory networks. Multi-head "
    "attention. Self-attention: Q = K = V = the words X. The Transformer: no recurrence, used in all recent "
    "models.*  — the notes"
)
choice = choose_corpus("transformer_corpus_choice", "transformer_pairs_upload")
corpus, corpus_id = choice.corpus, choice.corpus_id
translator = choose_model(
    PAGE_KEY,
    corpus_id,
    corpus,
    PRETRAINED,
    SHIPPED_TRANSFORMER.translator,
    "The shipped Transformer, or one you trained in section 4.",
)
is_shipped = translator is SHIPPED_TRANSFORMER.translator()
sentence = choose_sentence(corpus, translator.source_vocabulary)
# Without a sentence only what reads one waits for it; every other section stays.
prepared = sentence[1] if sentence is not None else None
english = prepared.words if prepared is not None else []
WAITING = "Type an English sentence above to see this part."


def in_rows(specifications: list[dict], per_row: int) -> None:
    """Charts drawn at their own size, `per_row` side by side."""
    for start in range(0, len(specifications), per_row):
        for column, chart in zip(st.columns(per_row), specifications[start : start + per_row]):
            show(column, chart, width="content")


# --- 1. Query, key, value ------------------------------------------------------------------------------
st.header("1 · Query, key, value: a soft dictionary")
st.markdown(
    "A memory of (key, value) pairs. The query is compared to every key (a dot product), the scores go "
    "through a softmax, and the memory returns the values mixed by those weights. Edit anything."
)
memory_column, query_column = st.columns([3, 2], gap="large")
memory = memory_column.data_editor(
    pd.DataFrame(
        {
            "item": ["cat", "dog", "car", "house"],
            "key x": [1.0, 0.8, -1.0, -0.6],
            "key y": [0.2, 0.5, 0.1, -1.0],
            "value (kg)": [4.0, 20.0, 1200.0, 90000.0],
        }
    ),
    hide_index=True,
    key="memory",
    num_rows="fixed",
    column_config={
        c: st.column_config.NumberColumn(min_value=-1e6, max_value=1e6) for c in ("key x", "key y", "value (kg)")
    },
)
query = np.array(
    [
        SETTINGS.widget("query_x", query_column),
        SETTINGS.widget("query_y", query_column),
    ]
)
sharpness = SETTINGS.widget("lookup_scale", query_column)
keys = memory[["key x", "key y"]].astype(float).fillna(0.0).to_numpy()
values = memory[["value (kg)"]].astype(float).fillna(0.0).to_numpy()
scores, weights, returned = attention_numpy(query, keys, sharpness, values=values)
memory_column.dataframe(
    pd.DataFrame({"item": memory["item"], "score q·k × scale": scores, "α": weights}),
    hide_index=True,
    column_config={"α": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)},
)
query_column.metric("Returned value: Σ α · value", f"{returned[0]:,.1f} kg")
best = memory["item"].iloc[int(np.argmax(scores))]
query_column.caption(
    f"The key with the largest dot product q·k (not the nearest one: a longer key in the same "
    f"direction scores more) is **{best}**'s. At scale {sharpness:g} the memory returns "
    + ("almost exactly its value: a hard lookup." if weights.max() > 0.99 else "a blend of the values.")
)

st.subheader("The real thing: one head of the trained model")
layer_names = attention_layer_names(translator.settings["layers"])
layer_column, head_column = st.columns(2)
layer_name = SETTINGS.widget("walk_layer", layer_column, options=layer_names)
head = SETTINGS.widget("walk_head", head_column, max_value=translator.settings["heads"]) - 1
# What needs a sentence sits in one container per section: with a sentence or without, every later
# setting keeps its place in the page's tree (a moved setting can lose its link: lib/app/url_settings.py).
with st.container():
    if prepared is None:
        st.caption(WAITING)
    else:
        walk = walkthrough(translator, prepared.ids, layer_name, head)
        queries_words, keys_words = walk["query_words"], walk["key_words"]
        st.markdown(
            f"X has one row per word ({len(queries_words)} × {walk['X'].shape[1]}). This head projects it to "
            f"d_k = {walk['key_dim']}: Q = X·W_Q, K = X·W_K, V = X·W_V"
            + (
                " (K and V from the encoder's output)."
                if "cross" in layer_name
                else " (self-attention: all three from X)."
            )
        )
        in_rows([walk["charts"][name] for name in ("Q", "K", "V")], walk["matrices_per_row"])
        in_rows(
            [walk["charts"][name] for name in ("scores", "scaled_scores", "masked_scores", "weights")],
            walk["scores_per_row"],
        )
        in_rows([walk["charts"]["output"]], 1)
        st.caption(
            "Then W_O mixes the heads' outputs into the layer's output. The weights "
            f"computed here by hand match the Keras layer's own to {walk['largest_difference']:.1e}."
            + (
                " The decoder's self-attention mask is a triangle: a French word sees only the words before it."
                if layer_name.startswith("decoder") and "self" in layer_name
                else ""
            )
            + (f" {ROW_CAPTION}" if layer_name.startswith("decoder") else "")
        )

# --- 2. Heads and layers -------------------------------------------------------------------------------
st.header("2 · Heads and layers: what each one looks at")
with st.container():
    if prepared is None:
        st.caption(WAITING)
    else:
        trace, beam = translate(translator, prepared.ids, beam_width=4)
        greedy_and_beam_columns(trace, beam, 4)
        grids = head_frames_of(translator, prepared.ids, english)
        for title, grid in grid_specifications(translator, prepared.ids, english).items():
            st.markdown(f"**{title}** (rows: layers; columns: heads; hover for the words)")
            show(st, grid, width="content")
        st.caption(
            f"In each small map a row is a query and a column a key. In the decoder's maps: {ROW_CAPTION[0].lower()}"
            f"{ROW_CAPTION[1:]}"
        )
        enlarge_column, map_column = st.columns([2, 5], gap="large")
        kind = SETTINGS.widget("grid_kind", enlarge_column, options=list(grids))
        layer_label = SETTINGS.widget("grid_layer", enlarge_column, options=sorted(grids[kind]["layer"].unique()))
        head_label = SETTINGS.widget("grid_head", enlarge_column, options=sorted(grids[kind]["head"].unique()))
        chosen = grids[kind][(grids[kind]["layer"] == layer_label) & (grids[kind]["head"] == head_label)]
        x_title, y_title = map_titles(kind)
        show(
            map_column,
            attention_heatmap(chosen, title=f"{kind}, {layer_label}, {head_label}", x_title=x_title, y_title=y_title),
            width="content",
        )
        if kind.startswith("decoder"):
            map_column.caption(ROW_CAPTION)

st.subheader("Silence heads")
head_options = [
    f"{name.replace('_attention', '').replace('_', ' ')} · head {h + 1}"
    for name in layer_names
    for h in range(translator.settings["heads"])
]
option_heads = {
    label: (name, h)
    for label, (name, h) in zip(
        head_options, [(name, h) for name in layer_names for h in range(translator.settings["heads"])]
    )
}
silenced_labels = SETTINGS.widget("silenced_heads", options=head_options)
silenced = tuple(sorted(option_heads[label] for label in silenced_labels))
knocked = silenced_translator(translator, silenced, is_shipped)
before_column, after_column = st.columns(2, gap="large")
bleu_all = silenced_bleu(translator, (), is_shipped, corpus)
bleu_now = silenced_bleu(translator, silenced, is_shipped, corpus)
before_column.metric(f"BLEU, every head (first {KNOCKOUT_SENTENCES} held-out)", f"{bleu_all:.1f}")
after_column.metric(f"BLEU, {len(silenced)} head(s) silenced", f"{bleu_now:.1f}", f"{bleu_now - bleu_all:+.1f}")
with st.container():
    if prepared is not None:
        knocked_text = translate(knocked if silenced else translator, prepared.ids, beam_width=1).greedy.text
        st.markdown(f"Greedy translation with those heads silenced: **{knocked_text or '(nothing)'}**")
st.caption(
    "A silenced head's rows of the output projection W_O are zeroed in a copy of the model; the model every "
    "participant uses is never changed."
)

# --- 3. Positions ----------------------------------------------------------------------------------------
st.header("3 · Positions: why a model with no recurrence needs them")
positions_shown = position_view(translator)
st.markdown(positions_shown["text"])
if positions_shown["charts"] is not None:
    heatmap, curves = positions_shown["charts"]
    position_column, curve_column = st.columns([3, 2], gap="medium")
    show(position_column, heatmap, width="content")
    show(curve_column, curves, width="stretch")
with st.container():
    if prepared is None:
        st.caption(WAITING)
    else:
        st.markdown(permutation_text(english, permutation_check(translator, prepared.ids), positions_shown["kind"]))

# --- 4. Train ---------------------------------------------------------------------------------------------
st.header("4 · Train from scratch: settings, positions and the causal mask")
row = st.columns(5)
layers = SETTINGS.widget("layers", row[0])
heads = SETTINGS.widget("heads", row[1])
model_size = SETTINGS.widget("width", row[2])
feed_forward_size = SETTINGS.widget("feed_forward", row[3])
dropout = SETTINGS.widget("dropout", row[4])
row = st.columns(5)
positions = SETTINGS.widget("positions", row[0])
train_sentences = training_pairs_slider(row[1], corpus, SCRATCH_DEFAULT_TRAIN)
epochs = SETTINGS.widget("epochs", row[2])
longest = SETTINGS.widget("longest", row[3])
causal_mask = SETTINGS.widget("causal_mask", row[4])
settings = TransformerSettings(
    layers,
    heads,
    model_size,
    feed_forward_size,
    dropout,
    positions,
    causal_mask,
    epochs,
    int(train_sentences),
    None if longest == "any" else int(longest),
)
total = parameter_expander(parameter_table(settings, choice.vocabularies))
too_big = total > MAX_PARAMETERS or model_size % heads != 0
if too_big:
    st.warning(
        f"{total:,} parameters is more than the {MAX_PARAMETERS:,} this shared app builds."
        if total > MAX_PARAMETERS
        else "The model width must divide into the heads.",
        icon=":material/memory:",
    )
view_column, view_head_column, seed_column = st.columns(3)
watchable = attention_layer_names(layers)
watched = SETTINGS.widget(
    "live_map", view_column, options=watchable, index=watchable.index(f"decoder_{layers}_cross_attention")
)
watched_head = SETTINGS.widget("live_head", view_head_column, max_value=heads) - 1
settings = replace(
    settings, watched_layer=watched, watched_head=watched_head, seed=SETTINGS.widget("seed", seed_column)
)
live_view = head_view(corpus, watched, watched_head)
st.markdown(
    f"The live map follows one held-out pair: *{live_view.english}* → *{live_view.french}*."
    + (f" {ROW_CAPTION}" if watched.startswith("decoder") else "")
)
prediction_box(PAGE_KEY)
trained_now = live_training(
    PAGE_KEY,
    ["loss", "token_accuracy", "bleu"],
    lambda area: train_from_scratch(
        PAGE_KEY,
        corpus_id,
        corpus,
        settings,
        area,
        snapshot=live_view.snapshot,
        draw_snapshot=live_view.draw_snapshot,
        snapshots_per_epoch=SNAPSHOTS_PER_EPOCH,
    ),
    train_label="Train from scratch",
    disabled=too_big,
    share=press_settings(settings, corpus_id),
)
if trained_now:
    st.rerun()
family_downloads(PAGE_KEY, corpus_id, corpus, transformer_archives, SHIPPED_TRANSFORMER)
runs = trained_runs(PAGE_KEY, corpus_id, corpus)


def draw_head(run, taken: dict) -> None:
    """One snapshot of a run's live head map, replayed with the words of the head it watched."""
    run_layer, run_head = run.settings["watched_layer"], run.settings["watched_head"]
    replayed = head_view(corpus, run_layer, run_head)
    x_title, y_title = map_titles(run_layer.replace("_", " "))
    show(
        st,
        attention_heatmap(
            attention_frame(np.asarray(taken["value"], dtype=np.float32), replayed.keys, replayed.queries),
            title=f"{run_layer.replace('_', ' ')}, head {run_head + 1}, epoch {taken['epoch']:.2f}",
            x_title=x_title,
            y_title=y_title,
        ),
        width="content",
    )
    if run_layer.startswith("decoder"):
        st.caption(ROW_CAPTION)


replay_snapshots(PAGE_KEY, corpus_id, "Replay the live map", draw_head)
prediction_result(PAGE_KEY)
reading = mask_reading(runs)
if reading:
    st.markdown(reading)
pair = mask_pair(runs, with_models=True)
if pair is not None:
    x_title, y_title = map_titles("decoder self-attention")
    for column, run in zip(st.columns(2, gap="large"), pair):
        frame, translation = mask_view(run, corpus)
        show(
            column,
            attention_heatmap(
                frame,
                title=("with" if run.settings["causal_mask"] else "WITHOUT")
                + " the causal mask: decoder layer 1 self-attention, head 1",
                cell=20,
                x_title=x_title,
                y_title=y_title,
            ),
            width="content",
        )
        column.markdown(f"Its greedy translation of the pair's English: **{translation or '(nothing)'}**")
    st.caption(ROW_CAPTION)
if not reading:
    st.caption("Train once with the causal mask and once without it (same other settings) to see why it exists.")

# --- 5. Three translators ----------------------------------------------------------------------------------
st.header("5 · No recurrence: the three translators compared")
if family_comparison(SHIPPED, COMPARED_PAGES, corpus_id, corpus):
    st.caption(
        "Same held-out sentences for every model: the three shipped ones, and this session's runs on the "
        "Translator, Attention and Transformer pages."
    )
choice.say_what_bleu_means()
st.subheader("Cost against length, measured on this machine")
st.markdown(
    "Self-attention compares every word with every word: its scores and their weighted sum grow with the "
    "square of the length, but all positions are computed at once. Each layer also projects every word to "
    "its query, key, value and output, and passes it through the feed-forward network: work that grows "
    "only with the length, and that dominates until the sentence is several times as long as d is wide. "
    "A recurrent encoder does work in proportion to the length, one step after another."
)
breakdown = flop_breakdown()
st.dataframe(
    breakdown,
    hide_index=True,
    width="stretch",
    column_config={
        "Attention's share": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        **{name: st.column_config.NumberColumn(format="%.1f") for name in breakdown.columns if name.endswith("(M)")},
    },
)
st.caption(
    f"Millions of operations for one sentence through a {COST_LAYERS}-layer encoder of d = {COST_MODEL_SIZE}, "
    f"d_ff = {2 * COST_MODEL_SIZE}, {COST_HEADS} heads, counted from the matrix sizes "
    "(`lib.models.transformer.encoder_flops`)."
)
if st.button("Measure (about 20 s)", icon=":material/timer:"):
    st.session_state["encoder_costs"] = encoder_costs()
if "encoder_costs" in st.session_state:
    costs, left_out = st.session_state["encoder_costs"]
    show(
        st,
        line_chart(
            costs,
            "length",
            "milliseconds",
            "model",
            x_title="Sentence length (tokens, one sentence)",
            y_title="Milliseconds",
            log_x=True,
            log_y=True,
        ),
        width="stretch",
    )
    st.markdown(cost_reading(costs, left_out))

link.finish()
