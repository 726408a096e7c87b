"""The Transformer page under AppTest: the key-value memory and one head's walkthrough compute what
they say, the shipped Transformer translates with every head's map, silencing heads changes BLEU
without touching the shared model, positions are shown to matter, bad input gives messages, and
short trainings with and without the causal mask chart, replay and explain the mask."""

from __future__ import annotations

import re
from dataclasses import asdict

import numpy as np
import pandas as pd

from lib.engine.training import TrainingRun
from lib.models.transformer import changing_order
from lib.page_glue.transformer_page import (
    TransformerSettings,
    mask_pair,
    mask_reading,
    permutation_check,
    permutation_text,
    position_view,
)
from tests.page_support import charts, metric, open_page, output, widget
from tests.transformer_support import tiny_translator

PAGE = "app_pages/transformer.py"
RUNS = "training_runs::transformer"


def test_page_translates_and_draws_every_head():
    app = open_page(PAGE)
    assert output(app, "Greedy decoding") == "le petit chat ne voit pas les maisons vertes"
    grids = [
        frame
        for frame in charts(app)
        if {"layer", "head", "weight"} <= set(frame.columns) and frame["head"].nunique() > 1
    ]
    assert len(grids) == 3  # Encoder self-, decoder self- and cross-attention (the enlarged map is one head).
    for grid in grids:
        assert set(grid["head"]) == {"head 1", "head 2", "head 3", "head 4"} and set(grid["layer"]) == {
            "layer 1",
            "layer 2",
        }
        sums = grid.groupby(["layer", "head", "french"])["weight"].sum()
        assert np.allclose(sums, 1.0, atol=1e-3)
    decoder_self = next(g for g in grids if "<s>" in " ".join(g["english"]))
    above_diagonal = decoder_self[decoder_self["english_position"] > decoder_self["french_position"]]
    assert (above_diagonal["weight"] == 0).all()  # The causal mask: no French word reads a later one.


def test_the_key_value_memory_becomes_a_hard_lookup_when_sharp():
    app = open_page(PAGE)
    soft = float(metric(app, "Returned value: Σ α · value").split()[0].replace(",", ""))
    widget(app, "select_slider", "Scale on the scores").set_value(100.0).run()
    sharp = float(metric(app, "Returned value: Σ α · value").split()[0].replace(",", ""))
    assert sharp == 4.0 and soft > sharp  # The cat's value, alone, once the softmax is one-hot.
    assert any("hard lookup" in c.value for c in app.caption)


def test_one_head_by_hand_matches_the_keras_layer_and_shows_the_mask():
    app = open_page(PAGE)
    caption = next(c.value for c in app.caption if "match the Keras layer's own" in c.value)
    assert float(re.search(r"own to (\d\.\de[-+]\d+)", caption).group(1)) < 1e-4
    widget(app, "selectbox", "Attention layer").set_value("decoder_1_self_attention").run()
    assert not app.exception
    masked = next(frame for frame in charts(app) if "masked" in frame.columns and frame["masked"].any())
    assert masked["masked"].sum() > 0
    assert masked["shown"].notna().all()  # A masked cell is drawn (grey), not dropped from the chart.
    assert any("a triangle" in c.value for c in app.caption)


def test_silencing_heads_changes_bleu_but_not_the_shared_model():
    app = open_page(PAGE)
    everything = metric(app, "BLEU, every head (first 100 held-out)")
    pills = app.get("button_group")[0]
    heads = [1, 2, 3, 4]
    # Silencing one layer's self-attention heads costs little (the residual stream carries the words
    # on); silencing every cross-attention head cuts the decoder off from the English sentence.
    pills.set_value([f"decoder {layer} cross · head {head}" for layer in (1, 2) for head in heads]).run()
    assert not app.exception
    silenced = float(metric(app, "BLEU, 8 head(s) silenced"))
    assert silenced < float(everything) - 30
    # The shared model still translates as before.
    assert output(app, "Greedy decoding") == "le petit chat ne voit pas les maisons vertes"


def test_positions_matter_and_bad_input_gives_messages():
    app = open_page(PAGE)
    assert any("adds the sinusoidal encoding" in m.value for m in app.markdown)  # The shipped model's own.
    reading = next(m.value for m in app.markdown if "without** its sinusoidal position encoding" in m.value)
    shuffled = re.search(r"Shuffled: \*([^*]+)\*", reading).group(1)
    example = "the small cat does not see the green houses"
    assert shuffled != example and sorted(shuffled.split()) == sorted(example.split())
    without, with_positions = re.findall(r"largest difference (\d\.\de[-+]\d+|\d+\.\d\d)", reading)
    assert float(without) < 1e-3 and float(with_positions) > 0.1
    widget(app, "selectbox", "English sentence").set_value("Type your own…").run()
    for text in ("the small zebra sleeps", "   ", " ".join(["the cat sleeps and"] * 15), "!!! ??? <s> </s>"):
        widget(app, "text_input", "Your sentence").set_value(text).run()
        assert not app.exception, text
    assert any("Type an English sentence" in i.value for i in app.info) or app.warning


def test_short_trainings_with_and_without_the_causal_mask_explain_it():
    app = open_page(PAGE)
    widget(app, "slider", "Layers").set_value(1).run()
    widget(app, "select_slider", "Model width d").set_value(64).run()
    widget(app, "select_slider", "Training pairs").set_value(3000).run()
    widget(app, "slider", "Epochs").set_value(2).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception
    next(t for t in app.toggle if t.label == "Causal mask").set_value(False).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception
    runs = app.session_state[RUNS]
    assert [run.status for run in runs] == ["finished", "finished"]
    masked, unmasked = runs
    # Without the mask the decoder reads the answer in training: lower loss, worse translations.
    assert unmasked.final("loss", "train") < masked.final("loss", "train")
    assert unmasked.results["bleu"] < masked.results["bleu"]
    reading = next(m.value for m in app.markdown if m.value.startswith("With the causal mask:"))

    # Read from the figures: the reading follows the two runs' measured gaps.
    def gap(run):
        return run.results["teacher_forced_accuracy"] - run.results["greedy_accuracy"]

    assert ("could read the very word it had to predict" in reading) == (gap(unmasked) - gap(masked) >= 0.05)
    assert f"BLEU {masked.results['bleu']:.1f}" in reading and f"BLEU {unmasked.results['bleu']:.1f}" in reading
    # Side by side, the two runs' decoder self-attention: a triangle with the mask, not without it.
    maps = [
        frame
        for frame in charts(app)
        if {"english", "french", "weight"} <= set(frame.columns)
        and "<s>" in " ".join(frame["english"])
        and "layer" not in frame.columns
    ]
    upper = [frame[frame["english_position"] > frame["french_position"]]["weight"].sum() for frame in maps[-2:]]
    assert upper[0] == 0 and upper[1] > 0.5
    # Rows are the words written: the reference and </s>; columns the words read: <s> and the reference.
    assert maps[-1].sort_values("french_position")["french"].iloc[-1].endswith("</s>")
    assert not any(label.endswith("<s>") for label in maps[-1]["french"])
    assert len(masked.snapshots) >= 10 and any(s.label == "Moment of training (epochs)" for s in app.select_slider)
    table = next(f.value for f in app.dataframe if "ms per sentence" in f.value.columns)
    assert sum(model.startswith("Transformer: Transformer 1×4") for model in table["Model"]) == 2


def test_cost_against_length_is_measured_for_both_encoders():
    from lib.page_glue.transformer_page import encoder_costs

    costs, left_out = encoder_costs(model_size=32, lengths=(10, 40), repeats=1, budget_seconds=None)
    assert set(costs["model"]) == {
        "Transformer encoder (self-attention), forward pass",
        "Transformer encoder (self-attention), training step",
        "GRU encoder (recurrence), forward pass",
        "GRU encoder (recurrence), training step",
    }
    assert sorted(costs["length"].unique()) == [10, 40] and (costs["milliseconds"] > 0).all() and left_out == []
    # A budget already spent by the first length leaves out the longer ones, and says which.
    costs, left_out = encoder_costs(model_size=32, lengths=(10, 40, 160), repeats=1, budget_seconds=0.0)
    assert sorted(costs["length"].unique()) == [10] and left_out == [40, 160]


def fabricated_costs(exponent: float, lengths=(16, 64, 256, 512, 1024, 2048)) -> pd.DataFrame:
    """Forward and training times growing as length^exponent for the Transformer, linearly for the GRU."""
    rows = []
    for length in lengths:
        for what in ("forward pass", "training step"):
            rows.append(
                {
                    "model": f"Transformer encoder (self-attention), {what}",
                    "length": length,
                    "milliseconds": 2.0 * (length / 16) ** exponent,
                }
            )
            rows.append({"model": f"GRU encoder (recurrence), {what}", "length": length, "milliseconds": 0.1 * length})
    return pd.DataFrame(rows)


def test_the_cost_reading_fits_where_attention_dominates():
    from lib.page_glue.transformer_page import cost_reading, flop_breakdown

    breakdown = flop_breakdown()
    share = dict(zip(breakdown["Length"], breakdown["Attention's share"]))
    assert share[16] < 0.05 and 0.45 < share[512] < 0.55 and share[2048] > 0.75  # Half at L = 4d = 512.
    quadratic = cost_reading(fabricated_costs(2.0))
    assert "about 493 words" in quadratic and "From 512 to 2,048 words" in quadratic
    assert "length^2.00: the square of the length shows" in quadratic and "GRU's grows as length^1.00" in quadratic
    linear = cost_reading(fabricated_costs(1.0))
    assert "length^1.00: no faster than the length" in linear
    short = cost_reading(fabricated_costs(2.0, lengths=(16, 64, 256)), left_out=[512, 1024, 2048])
    assert "did not reach 493 words" in short and "512, 1,024, 2,048 words" in short


def test_the_measure_button_charts_cost_against_length():
    app = open_page(PAGE)
    next(b for b in app.button if b.label == "Measure (about 20 s)").click().run()
    assert not app.exception
    costs = next(frame for frame in charts(app) if "milliseconds" in frame.columns)
    assert costs["model"].nunique() == 4
    measured = sorted(costs["length"].unique())
    reading = next(m.value for m in app.markdown if "attention does half of the encoder's operations" in m.value)
    # Either the measure reached the lengths where attention dominates and fitted them, or it says what it left out.
    assert ("where attention dominates, it grows as length^" in reading) == (measured[-1] >= 1024)
    assert ("Left out" in reading) == (measured[-1] < 2048)


HEADERS = [
    "1 · Query, key, value: a soft dictionary",
    "2 · Heads and layers: what each one looks at",
    "3 · Positions: why a model with no recurrence needs them",
    "4 · Train from scratch: settings, positions and the causal mask",
    "5 · No recurrence: the three translators compared",
]


def test_an_empty_sentence_keeps_every_section():
    app = open_page(PAGE)
    widget(app, "selectbox", "English sentence").set_value("Type your own…").run()
    widget(app, "text_input", "Your sentence").set_value("").run()
    assert not app.exception
    assert [h.value for h in app.header] == HEADERS
    assert "Cost against length, measured on this machine" in [s.value for s in app.subheader]
    assert any("Type an English sentence" in i.value for i in app.info)  # The prompt, once, at the box.
    assert sum("Type an English sentence above to see this part." == c.value for c in app.caption) == 3
    assert any(b.label == "Train from scratch" for b in app.button)
    assert any(m.label.startswith("BLEU, every head") for m in app.metric)  # Silencing heads needs no sentence.
    assert any(e.label == "Share these settings" for e in app.expander)  # link.finish() ran.
    assert any("adds the sinusoidal encoding" in m.value for m in app.markdown)


def test_decoder_rows_are_the_words_being_written():
    app = open_page(PAGE)
    written = ["le", "petit", "chat", "ne", "voit", "pas", "les", "maisons", "vertes", "</s>"]
    grids = [
        frame
        for frame in charts(app)
        if {"layer", "head", "weight"} <= set(frame.columns) and frame["head"].nunique() > 1
    ]
    decoder_self = next(g for g in grids if "1 <s>" in set(g["english"]))
    rows = list(decoder_self.sort_values("french_position")["french"].drop_duplicates())
    assert rows == [f"{i + 1} {word}" for i, word in enumerate(written)]  # Row 1 writes "le", the last </s>.
    columns = list(decoder_self.sort_values("english_position")["english"].drop_duplicates())
    assert columns == [f"{i + 1} {word}" for i, word in enumerate(["<s>", *written[:-1]])]
    assert any("row: the french word being written" in c.value.lower() for c in app.caption)
    # The enlarged map of decoder cross-attention and the walkthrough of a decoder layer say the same.
    widget(app, "selectbox", "Enlarge").set_value("decoder cross-attention (decoder → encoder)").run()
    enlarged = next(
        frame
        for frame in charts(app)
        if {"english", "french", "weight", "head"} <= set(frame.columns) and frame["head"].nunique() == 1
    )
    assert enlarged["english"].iloc[0] == "1 the"  # Cross-attention: columns are the English words.
    assert enlarged.sort_values("french_position")["french"].iloc[0] == "1 le"
    widget(app, "selectbox", "Attention layer").set_value("decoder_1_cross_attention").run()
    q_rows = next(frame for frame in charts(app) if "row" in frame.columns and len(frame) == 10 * 32)
    assert q_rows["row"].iloc[0] == "1 le" and "10 </s>" in set(q_rows["row"])


def fabricated_run(
    causal_mask: bool, teacher_forced: float, greedy: float, bleu: float, loss: float, **settings
) -> TrainingRun:
    run = TrainingRun(
        label="run",
        settings={**asdict(TransformerSettings(causal_mask=causal_mask)), "corpus": "grammar", **settings},
        metrics=["loss"],
        epochs_planned=2,
        batches_per_epoch=10,
        status="finished",
        epoch_rows=[{"metric": "loss", "split": "train", "value": loss, "epoch": 2}],
        batches_completed=20,
    )
    run.results = {
        "teacher_forced_accuracy": teacher_forced,
        "greedy_accuracy": greedy,
        "bleu": bleu,
        "causal_mask": causal_mask,
    }
    return run


def test_the_causal_mask_reading_follows_the_measured_figures():
    masked = fabricated_run(True, 0.95, 0.93, 80.0, 0.20)
    peeking = fabricated_run(False, 0.99, 0.40, 12.0, 0.05)
    assert mask_pair([masked, peeking]) == (masked, peeking)
    reading = mask_reading([masked, peeking])
    assert "overstates what the model does on its own by 59.0 points" in reading
    assert "could read the very word it had to predict" in reading and "loses 68.0 BLEU" in reading
    assert "Neither run translates yet" not in reading
    untrained = mask_reading([fabricated_run(True, 0.21, 0.04, 0.4, 3.5), fabricated_run(False, 0.27, 0.04, 0.3, 3.4)])
    assert "Neither run translates yet (BLEU under 10)" in untrained
    # A small gap is read as small, not as decoding falling apart.
    close = fabricated_run(False, 0.96, 0.93, 78.5, 0.18)
    reading = mask_reading([masked, close])
    assert "did not show in these runs" in reading and "within 5 points (-1.5 without the mask)" in reading
    assert "could read the very word" not in reading and "loses" not in reading
    # Runs that differ in more than the mask are not paired: the newest unmasked run had other settings.
    wider = fabricated_run(False, 0.99, 0.40, 12.0, 0.05, model_size=256, watched_head=2)
    assert mask_pair([masked, wider]) is None
    reading = mask_reading([masked, wider])
    assert "differ in other settings too" in reading and "model size" in reading and "watched" not in reading
    # With an older matching pair in the session, that pair is read.
    assert mask_pair([masked, peeking, wider]) == (masked, peeking)


def test_positions_section_shows_the_models_own_encoding(small_corpus):
    words = ["the", "cat", "sees", "a", "dog", "and", "the", "cat"]
    ids = [5, 9, 14, 22, 31, 8, 5, 9]
    bag = tiny_translator(small_corpus, positions="none")
    view = position_view(bag)
    assert view["charts"] is None and "**without** a position encoding" in view["text"]
    check = permutation_check(bag, ids)
    assert [ids[i] for i in check["order"]] != ids and check["model"] < 1e-5 and "without" not in check
    text = permutation_text(words, check, "none")
    assert "This model's encoder returns the original sentence's vectors, permuted" in text and "exact" in text
    assert "sinusoidal" not in text and "With** its" not in text

    learned = tiny_translator(small_corpus, positions="learned", max_positions=40)
    view = position_view(learned)
    assert "learned its own position table: 40 rows of d = 16" in view["text"]
    heatmap = pd.DataFrame(next(iter(view["charts"][0]["datasets"].values())))
    table = np.asarray(learned.model.get_layer("english_positions").table)
    shown = heatmap.set_index(["row", "column"])["value"]
    assert abs(shown[("position 3", "5")] - table[3, 5]) < 1e-6 and len(heatmap) == 40 * 16
    check = permutation_check(learned, ids)
    assert check["without"] < 1e-5 and check["model"] > 0.1
    assert "**without** its learned position encoding" in permutation_text(words, check, "learned")


def test_a_shuffle_always_changes_the_sentence():
    for ids in ([5, 9], [5, 9, 5], [7, 7, 7, 9], list(range(4, 12))):
        for seed in range(30):
            order = changing_order(ids, seed=seed)
            assert sorted(order) == list(range(len(ids))) and [ids[i] for i in order] != ids
    assert changing_order([5], seed=0) is None and changing_order([6, 6, 6], seed=0) is None
    text = permutation_text(["cat"], {"order": None}, "sinusoidal")
    assert "too short to shuffle" in text


def test_the_walkthrough_matrices_are_laid_out_to_fit_the_page():
    from lib.page_glue.transformer_page import (
        CONTENT_WIDTH,
        charts_per_row,
        labels_width,
    )

    example = ["the", "small", "cat", "does", "not", "see", "the", "green", "houses"]
    words = [f"{i + 1} {word}" for i, word in enumerate(example)]
    assert charts_per_row(160, words, 3) == 3  # Q, K and V (d_k = 32 in 160 pixels) side by side.
    assert charts_per_row(14 * 9, words, 4) == 2  # Four of 9 words would not fit a row: two by two.
    assert charts_per_row(14 * 12, words, 4) == 2  # Three would fit a row: two by two instead of 3 + 1.
    assert charts_per_row(14 * 40, words, 4) == 1  # 40 words: one matrix a row.
    for cells, count in ((160, 3), (14 * 9, 4), (14 * 12, 4), (14 * 20, 4)):
        per_row = charts_per_row(cells, words, count)
        assert per_row * (cells + labels_width(words)) <= CONTENT_WIDTH


def test_a_one_head_model_to_train_keeps_the_page_and_names_its_only_head():
    """Streamlit refuses a slider whose least and most are equal: with one head chosen, the page's
    "Its head" control used to stop the page with that exception."""
    app = open_page(PAGE)
    widget(app, "select_slider", "Heads").set_value(1).run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Its head: 1 (the only one)" in [caption.value for caption in app.caption]
    assert "Its head" not in [slider.label for slider in app.slider]
