"""The Attention page under AppTest: it opens on the shipped attention model and translates with an
alignment heatmap, the notes' formula is computed on the model's vectors, an intervention changes
the translation, bad input gives messages and no exception, and a short training charts the loss,
the alignment accuracy and the heatmap's snapshots, then compares with the Translator's model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.engine.charts import SAVE_KEY_PREFIX
from tests.page_support import charts, moved, open_page, output, setting_places, widget

PAGE = "app_pages/attention.py"
RUNS = "training_runs::attention"
EXAMPLE = "the small cat does not see the green houses"


def heatmaps(app):
    return [frame for frame in charts(app) if {"english", "french", "weight"} <= set(frame.columns)]


def bars(app, column: str):
    return next(frame for frame in charts(app) if column in frame.columns and "word" in frame.columns)


def test_page_translates_at_once_with_an_alignment_heatmap():
    app = open_page(PAGE)
    assert output(app, "Greedy decoding") == "le petit chat ne voit pas les maisons vertes"
    assert output(app, "Beam search, width 4") == "le petit chat ne voit pas les maisons vertes"
    heatmap = heatmaps(app)[0]
    rows = heatmap.groupby("french")["weight"].sum()
    assert np.allclose(rows, 1.0, atol=1e-3) and len(rows) == 10  # 9 French words and </s>
    # Where each word looks: its largest α falls on the English word it translates.
    looks_at = heatmap.loc[heatmap.groupby("french")["weight"].idxmax()].set_index("french")["english"]
    assert looks_at["3 chat"] == "3 cat" and looks_at["2 petit"] == "2 small" and looks_at["8 maisons"] == "9 houses"
    assert looks_at["4 ne"] in ("4 does", "5 not")  # The negation: the model reads "does" for ne.


def test_the_formula_runs_on_the_models_vectors_and_the_scale_flattens_it():
    app = open_page(PAGE)
    alpha = bars(app, "alpha")
    assert abs(alpha["alpha"].sum() - 1) < 1e-6 and len(alpha) == 9
    assert alpha.loc[alpha["alpha"].idxmax(), "word"] == "3 cat"  # Step 3 writes "chat".
    assert any("writes **chat**" in m.value for m in app.markdown)
    widget(app, "select_slider", "Scale on the scores (temperature⁻¹)").set_value(0.01).run()
    assert not app.exception
    flat = bars(app, "alpha")["alpha"]
    assert flat.max() - flat.min() < bars(app, "alpha").shape[0] and flat.max() < 0.5  # Far from one-hot.
    widget(app, "slider", "Decoder step").set_value(8).run()
    assert any("writes **maisons**" in m.value for m in app.markdown)
    # The hand example: four 2-D vectors and q = (2, 1); at scale 1 the summary is Σ α z.
    widget(app, "select_slider", "Scale on the scores (temperature⁻¹)").set_value(1.0).run()
    hand = next(f.value for f in app.dataframe if "αᵢ" in f.value.columns)
    scores = np.array([2.0, 1.0, -2.0, 1.5])
    expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    assert np.allclose(hand["αᵢ"], expected)
    summary = expected @ np.array([[1, 0], [0, 1], [-1, 0], [0.5, 0.5]])
    assert any(f"({summary[0]:.4f}, {summary[1]:.4f})" in m.value for m in app.markdown)


def test_making_one_step_attend_elsewhere_changes_the_translation():
    app = open_page(PAGE)
    widget(app, "slider", "At step").set_value(3).run()
    widget(app, "selectbox", "Attend only to").set_value("9 houses").run()
    assert not app.exception
    changed = output(app, "Greedy decoding with step 3 attending to “9 houses”")
    assert changed.split()[:2] == ["le", "petit"] and changed.split()[2] != "chat"
    widget(app, "selectbox", "Attend only to").set_value("3 cat").run()
    assert (
        output(app, "Greedy decoding with step 3 attending to “3 cat”")
        == "le petit chat ne voit pas les maisons vertes"
    )
    assert any("unchanged" in c.value for c in app.caption)


def test_unknown_empty_and_long_input_give_messages_not_exceptions():
    app = open_page(PAGE)
    widget(app, "selectbox", "English sentence").set_value("Type your own…").run()
    box = widget(app, "text_input", "Your sentence")
    box.set_value("the small zebra sleeps").run()
    assert not app.exception
    assert any("“zebra”" in w.value for w in app.warning)
    assert output(app, "Greedy decoding")
    widget(app, "text_input", "Your sentence").set_value("   ").run()
    assert not app.exception
    assert any("Type an English sentence" in i.value for i in app.info)
    widget(app, "text_input", "Your sentence").set_value(" ".join(["the cat sleeps and"] * 15)).run()
    assert not app.exception
    assert any("only the first 40 are translated" in w.value for w in app.warning)
    assert len(heatmaps(app)[0]["english"].unique()) == 40
    widget(app, "text_input", "Your sentence").set_value("!!! ??? 123 <s> </s> ' \" ").run()
    assert not app.exception


def test_the_comparison_shows_long_sentences_holding_up_with_attention():
    app = open_page(PAGE)
    table = next(f.value for f in app.dataframe if "Alignment accuracy" in f.value.columns)
    shipped = table.set_index("Model")
    assert (
        shipped.loc["pretrained attention (shipped)", "BLEU"]
        > shipped.loc["pretrained seq2seq, no attention (shipped)", "BLEU"]
    )
    assert 0.5 < shipped.loc["pretrained attention (shipped)", "Alignment accuracy"] <= 1
    by_length = next(frame for frame in charts(app) if "bleu" in frame.columns and "model" in frame.columns)
    long = by_length[by_length["min_words"] >= 21].groupby("model")["bleu"].mean()
    assert long["pretrained attention (shipped)"] - long["pretrained seq2seq, no attention (shipped)"] >= 20
    reading = next(m.value for m in app.markdown if "long held-out sentences" in m.value)
    assert "200 long held-out sentences of 21-30 English words" in reading and "corpus BLEU pooled over" in reading


def test_a_short_training_charts_alignment_and_keeps_heatmap_snapshots():
    app = open_page(PAGE)
    widget(app, "selectbox", "Score").set_value("general").run()  # Not the shipped model's dot: section 1 follows.
    widget(app, "select_slider", "Units").set_value(64).run()
    widget(app, "select_slider", "Training pairs").set_value(3000).run()
    widget(app, "slider", "Epochs").set_value(2).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception
    runs = app.session_state[RUNS]
    assert len(runs) == 1 and runs[0].status == "finished" and runs[0].epochs_completed == 2
    snapshots = runs[0].snapshots
    assert snapshots[0]["epoch"] == 0 and snapshots[-1]["epoch"] == 2.0 and len(snapshots) >= 10
    first, last = (np.asarray(s["value"], dtype=np.float32) for s in (snapshots[0], snapshots[-1]))
    assert first.shape == last.shape and np.allclose(last.sum(axis=1), 1, atol=1e-2)
    assert last.max(axis=1).mean() > first.max(axis=1).mean()  # Training sharpens the attention.
    training = next(d for d in charts(app) if "split" in d.columns and "metric" in d.columns)
    drawn = set(zip(training["metric"], training["split"]))
    assert {("loss", "train"), ("bleu", "validation"), ("alignment_accuracy", "validation")} <= drawn
    # The replay slider shows the last snapshot by default, with the gold alignment outlined.
    assert any(s.label == "Moment of training (epochs)" for s in app.select_slider)
    assert any(frame["gold"].any() for frame in heatmaps(app))
    # The replayed map saves as SVG and PNG from its own menu, named by the run and its moment of training.
    saves = [
        button.proto.id.split(SAVE_KEY_PREFIX)[1]
        for button in app.get("download_button")
        if SAVE_KEY_PREFIX in button.proto.id
    ]
    assert {save.rsplit("::", 1)[1] for save in saves if save.startswith("attention-") and "-epoch-2::" in save} == {
        "svg",
        "png",
    }, "\n".join(saves)
    table = next(f.value for f in app.dataframe if "Alignment accuracy" in f.value.columns)
    assert any(model.startswith("Attention: attention (general) · GRU 64") for model in table["Model"])
    # The comparison says which rows shipped and how the session's run ended, as every page's run table does.
    status = dict(zip(table["Model"], table["Status"]))
    assert status["pretrained attention (shipped)"] == "shipped"
    assert [value for model, value in status.items() if model.startswith("Attention: ")] == ["finished"]
    model = widget(app, "selectbox", "Model")
    model.set_value(model.options[1]).run()
    assert not app.exception and output(app, "Greedy decoding")
    # Section 1 now computes the trained model's own general score, and its bars are section 2's row.
    assert any("This model's score is the **general q·W·zᵢ" in m.value for m in app.markdown)
    text = output(app, "Greedy decoding")
    written = ([] if text.startswith("(nothing") else text.split()) + ["</s>"]
    step = min(3, len(written))
    widget(app, "slider", "Decoder step").set_value(step).run()
    assert np.allclose(
        bars(app, "alpha")["alpha"].to_numpy(), heatmap_row(app, f"{step} {written[step - 1]}"), atol=1e-3
    )


def test_recency_against_content_is_measured_on_both_shipped_models():
    app = open_page(PAGE)
    next(t for t in app.toggle if t.key == "measure_influence").set_value(True).run()
    assert not app.exception
    frames = [frame for frame in charts(app) if "share" in frame.columns]
    by_offset = next(frame for frame in frames if "offset" in frame.columns)
    by_distance = next(frame for frame in frames if "read_after" in frame.columns)
    for model, rows in by_offset.groupby("model"):
        # Both models draw most of a word's evidence from its aligned English word.
        assert rows.loc[rows["share"].idxmax(), "offset"] == 0, model
    shares = by_distance.pivot_table(index="read_after", columns="model", values="share")
    recent, old = shares.loc[0:4].mean(), shares.loc[15:29].mean()
    # Without attention the aligned word's share fades with what was read since; with it, it holds.
    translator, attention = "pretrained seq2seq, no attention (shipped)", "pretrained attention (shipped)"
    assert recent[translator] - old[translator] > recent[attention] - old[attention]
    assert any("read that word in its last 5 steps" in m.value for m in app.markdown)


def test_a_held_out_sentence_translated_exactly_shows_its_gold_alignment():
    app = open_page(PAGE)
    assert not any(frame["gold"].any() for frame in heatmaps(app))  # The example is not a held-out pair.
    sentence = widget(app, "selectbox", "English sentence")
    sentence.set_value(sentence.options[1]).run()
    assert not app.exception
    heatmap = heatmaps(app)[0]
    assert heatmap["gold"].any()
    assert any("gold alignment is outlined" in c.value for c in app.caption)


# --------------------------------------------------------------------------------------------------
# Teaching fidelity (issue 25): every label says what the numbers are
# --------------------------------------------------------------------------------------------------


def heatmap_row(app, label: str) -> np.ndarray:
    heatmap = heatmaps(app)[0]
    return heatmap[heatmap["french"] == label].sort_values("english_position")["weight"].to_numpy()


def test_the_formulas_bars_are_the_heatmaps_row_and_the_page_names_the_score():
    app = open_page(PAGE)
    assert any("This model's score is the **dot product q·zᵢ" in m.value for m in app.markdown)
    for step, label in ((3, "3 chat"), (6, "6 pas")):
        widget(app, "slider", "Decoder step").set_value(step).run()
        assert np.allclose(bars(app, "alpha")["alpha"].to_numpy(), heatmap_row(app, label), atol=1e-3)
    assert any("differ from row 6 (pas) of the map in section 2" in c.value for c in app.caption)


def test_the_picture_draws_q_and_labels_only_the_words():
    app = open_page(PAGE)
    picture = next(frame for frame in charts(app) if "kind" in frame.columns and "label" in frame.columns)
    kinds = picture.set_index("kind")
    assert {"q (decoder state)", "z = Σ αᵢ zᵢ"} <= set(picture["kind"])
    words = picture[picture["kind"] == "zᵢ (encoder states)"]["label"].tolist()
    assert words == EXAMPLE.split()
    # q and z carry no text of their own (their colour in the legend names them): no label over a word's.
    assert (kinds.loc[["q (decoder state)", "z = Σ αᵢ zᵢ"], "label"] == "").all()


def test_every_attention_map_labels_its_rows_by_the_word_being_written():
    app = open_page(PAGE)
    written = output(app, "Greedy decoding").split() + ["</s>"]
    heatmap = heatmaps(app)[0]
    rows = heatmap.sort_values("french_position")["french"].drop_duplicates().tolist()
    assert rows == [f"{number} {word}" for number, word in enumerate(written, start=1)]
    convention = "Row: the French word being written; columns: the English words read."
    assert sum(convention in c.value for c in app.caption) >= 2  # Section 2's map and the live training map.


def test_an_empty_sentence_keeps_every_section_that_does_not_need_one():
    app = open_page(PAGE)
    headers = [h.value for h in app.header]
    subheaders = [h.value for h in app.subheader]
    widget(app, "selectbox", "English sentence").set_value("Type your own…").run()
    typed = setting_places(app)
    widget(app, "text_input", "Your sentence").set_value("").run()
    assert not app.exception
    empty = setting_places(app)
    assert {"scale", "score", "units", "epochs"} <= empty.keys() and "step" not in empty
    assert moved(typed, empty) == {}  # Every setting still drawn keeps its place (and so its link).
    assert [h.value for h in app.header] == headers and len(headers) == 4
    later = [h for h in subheaders if not h.startswith("Intervene")]  # The intervention needs a sentence.
    assert later and set(later) <= {h.value for h in app.subheader}
    assert sum("Type an English sentence in the box above" in i.value for i in app.info) == 2
    assert any(b.label == "Train from scratch" for b in app.button)
    assert any("Alignment accuracy" in f.value.columns for f in app.dataframe)  # Section 4's table.
    assert any(e.label == "Share these settings" for e in app.expander)  # link.finish() ran.
    assert all("3 chat" not in set(frame["french"]) for frame in heatmaps(app))  # No translation drawn.


def test_the_live_bleu_chart_says_how_many_sentences_it_decodes():
    from lib.models.decoding import LIVE_BLEU_SENTENCES

    app = open_page(PAGE)
    assert any(
        f"decodes {LIVE_BLEU_SENTENCES} held-out sentences" in c.value and "decodes all 500" in c.value
        for c in app.caption
    )
    assert any("The same 500 held-out sentences for every model" in c.value for c in app.caption)


def test_section_1_computes_each_scores_own_alpha_on_small_models():
    """The page's `formula_on_model` on a dot, a general and an additive model (small, untrained, their
    weights spread so that α is far from uniform): its α is the model's own at every greedy step."""
    from lib.data.corpus import START_ID, Vocabulary
    from lib.data.grammar import make_corpus
    from lib.models import attention, decoding
    from lib.page_glue.attention_page import QUERY_KIND, formula_on_model, vectors_frame

    built = make_corpus(200, 20, seed=4)
    english = Vocabulary.from_sentences(e for e, _ in built.train)
    french = Vocabulary.from_sentences(f for _, f in built.train)
    generator = np.random.default_rng(7)
    for score in attention.SCORES:
        model = attention.build_attention_seq2seq(
            len(english), len(french), score=score, units=16, embedding_size=8, seed=2
        )
        model.set_weights([w + generator.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
        translator = attention.AttentionTranslator(model, english, french)
        ids = english.encode(built.test[0][0])
        trace = decoding.greedy_decode(translator, ids, max_length=8)
        previous = [START_ID]
        for step in trace.steps:
            formula = formula_on_model(translator, ids, previous, 1.0)
            assert formula["score"] == score
            np.testing.assert_allclose(formula["weights"], step.extras["attention"][: len(ids)], atol=1e-5)
            previous.append(french.index[step.chosen])
        picture = vectors_frame(formula, built.test[0][0].split())
        q = picture[picture["kind"] == QUERY_KIND]
        assert len(q) == 1 and np.allclose(q[["x", "y"]].to_numpy()[0], formula["query_2d"])


# --- The long-sentence comparison: one BLEU definition, its interval and its sentences -----------------------


def _ranges(long_set: str, attention_low: float) -> pd.DataFrame:
    from lib.page_glue.attention_page import PRETRAINED, PRETRAINED_TRANSLATOR
    from lib.page_glue.translator_family import LENGTH_RANGE_COLUMNS

    rows = [
        (PRETRAINED_TRANSLATOR, "held_out", 1, 10, 371, 99.1, 98.7, 99.5, float("nan")),
        (PRETRAINED, "held_out", 1, 10, 371, 99.9, 99.8, 100.0, float("nan")),
        (PRETRAINED_TRANSLATOR, long_set, 21, 30, 187, 43.2, 39.4, 47.8, 1.7),
        (PRETRAINED, long_set, 21, 30, 187, 97.6, attention_low, 98.9, 2.3),
    ]
    return pd.DataFrame(rows, columns=LENGTH_RANGE_COLUMNS)


def test_the_long_sentence_reading_states_the_numbers_it_is_given():
    from lib.page_glue.attention_page import long_sentence_reading

    reading = long_sentence_reading(_ranges("long_held_out", 96.1))
    for figure in (
        "43.2 (95 % interval 39.4-47.8)",
        "97.6 (95 % interval 96.1-98.9)",
        "+54.4 BLEU",
        "187 long held-out sentences of 21-30 English words",
        "99.1 (95 % interval 98.7-99.5)",
        "the 371 sentences of 1-10 English words among the 500 held out",
        "1.7 s and 2.3 s",
        "do not overlap",
        "corpus BLEU pooled over all the sentences of its length range",
        "1,000 bootstrap",
    ):
        assert figure in reading, figure
    # Intervals that overlap are said to, and without the long set the figures name the 500 held out.
    older = long_sentence_reading(_ranges("held_out", 45.0))
    assert "the two intervals overlap" in older and "long held-out" not in older
    assert "the 187 sentences of 21-30 English words among the 500 held out" in older
    assert long_sentence_reading(_ranges("held_out", 45.0).iloc[:0]) == ""


def test_the_comparison_uses_the_long_set_when_an_evaluation_has_it_and_the_held_out_ones_otherwise():
    from types import SimpleNamespace

    from lib.page_glue.translator_family import LONG_HELD_OUT, LONG_HELD_OUT_EXAMPLES, length_range_frame

    def examples(lengths, wrong_every: int) -> list[dict]:
        rows = []
        for index, length in enumerate(lengths):
            reference = " ".join(f"w{index}x{k}" for k in range(length))
            output = reference if index % wrong_every else " ".join(reference.split()[: length // 2])
            rows.append({"English": " ".join(["a"] * length), "Reference": reference, "Greedy output": output})
        return rows

    older = {"examples": pd.DataFrame(examples([5] * 30 + [24] * 8, wrong_every=3))}
    newer = {
        **older,
        LONG_HELD_OUT_EXAMPLES: examples([22] * 60, wrong_every=4),
        LONG_HELD_OUT: {"sentences": 60, "decoding_seconds": 0.8},
    }
    # Stand-ins for `ShippedModel`s: the frame reads a model's label and its evaluation.
    frame = length_range_frame(
        [
            SimpleNamespace(label="older", evaluation=lambda: older),
            SimpleNamespace(label="newer", evaluation=lambda: newer),
        ]
    )
    long = frame[frame["min_words"] == 21].set_index("model")
    assert long.loc["older", "sentence_set"] == "held_out" and long.loc["older", "sentences"] == 8
    assert long.loc["newer", "sentence_set"] == "long_held_out" and long.loc["newer", "sentences"] == 60
    assert long.loc["newer", "decoding_seconds"] == 0.8
    assert (frame["low"] <= frame["bleu"]).all() and (frame["bleu"] <= frame["high"]).all()
    assert (frame[frame["min_words"] == 1]["sentences"] == 30).all()


def test_the_shipped_evaluations_hold_the_long_held_out_outputs():
    from lib.app.shipped_evaluations import load_evaluation
    from lib.data.grammar import long_held_out_pairs
    from lib.page_glue.translator_family import LONG_HELD_OUT, LONG_HELD_OUT_EXAMPLES, default_corpus
    from scripts.evaluate_shipped import SHIPPED

    corpus = default_corpus()
    pairs = long_held_out_pairs(corpus)
    training = {english for english, _ in corpus.train}
    assert not training & {english for english, _ in pairs}
    for directory, model_file, _ in SHIPPED:
        evaluation = load_evaluation(directory, model_file, corpus)
        assert evaluation is not None and LONG_HELD_OUT in evaluation, directory
        assert [row["English"] for row in evaluation[LONG_HELD_OUT_EXAMPLES]] == [english for english, _ in pairs]
        assert evaluation[LONG_HELD_OUT]["sentences"] == 200 and evaluation[LONG_HELD_OUT]["decoding_seconds"] > 0
