"""The Transformer page under AppTest: the key-value memory and one head's walkthrough compute what
they say, the shipped Transformer translates with every head's map, silencing heads changes BLEU
without touching the shared model, positions are shown to matter, bad input gives messages, and
short trainings with and without the causal mask chart, replay and explain the mask."""

from __future__ import annotations

import re

import numpy as np

from tests.test_page_attention import charts, output, widget
from tests.test_pages import open_page

PAGE = "app_pages/transformer.py"
RUNS = "training_runs::transformer"


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_page_translates_and_draws_every_head():
    app = open_page(PAGE)
    assert output(app, "Greedy decoding") == "le petit chat ne voit pas les maisons vertes"
    grids = [frame for frame in charts(app) if {"layer", "head", "weight"} <= set(frame.columns)
             and frame["head"].nunique() > 1]
    assert len(grids) == 3  # Encoder self-, decoder self- and cross-attention (the enlarged map is one head).
    for grid in grids:
        assert set(grid["head"]) == {"head 1", "head 2", "head 3", "head 4"} and set(grid["layer"]) == {"layer 1", "layer 2"}
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
    reading = next(m.value for m in app.markdown if "without** its position encoding" in m.value)
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
    assert any("could read the very word it had to predict" in m.value for m in app.markdown)
    # Side by side, the two runs' decoder self-attention: a triangle with the mask, not without it.
    maps = [frame for frame in charts(app) if {"english", "french", "weight"} <= set(frame.columns)
            and "<s>" in " ".join(frame["english"]) and "layer" not in frame.columns]
    upper = [frame[frame["english_position"] > frame["french_position"]]["weight"].sum() for frame in maps[-2:]]
    assert upper[0] == 0 and upper[1] > 0.5
    assert len(masked.snapshots) >= 10 and any(s.label == "Moment of training (epochs)" for s in app.select_slider)
    table = next(f.value for f in app.dataframe if "ms per sentence" in f.value.columns)
    assert sum(model.startswith("Transformer: Transformer 1×4") for model in table["Model"]) == 2


def test_cost_against_length_is_measured_for_both_encoders():
    from lib.page_glue.transformer_page import cost_reading, encoder_costs

    costs = encoder_costs(model_size=32, lengths=(10, 40), repeats=1)
    assert set(costs["model"]) == {
        "Transformer encoder (self-attention), forward pass", "Transformer encoder (self-attention), training step",
        "GRU encoder (recurrence), forward pass", "GRU encoder (recurrence), training step"}
    assert sorted(costs["length"].unique()) == [10, 40] and (costs["milliseconds"] > 0).all()
    reading = cost_reading(costs)
    assert "Transformer encoder" in reading and "GRU encoder" in reading and "length^" in reading


def test_the_measure_button_charts_cost_against_length():
    app = open_page(PAGE)
    next(b for b in app.button if b.label == "Measure (about 30 s)").click().run()
    assert not app.exception
    costs = next(frame for frame in charts(app) if "milliseconds" in frame.columns)
    assert costs["model"].nunique() == 4 and costs["length"].max() >= 300
    assert any("time ∝ length^" in m.value for m in app.markdown)
