"""The Translator page under AppTest: it opens on the pretrained model and translates, bad input
gives a message and no exception, a bad upload keeps the corpus, and a short training charts and
measures the teacher-forcing gap. Also the page's glue helpers and the length-bucketed batches."""

from __future__ import annotations

import numpy as np

from lib.data.corpus import PAD_ID, Vocabulary, encode_pairs
from lib.data.grammar import make_corpus
from lib.engine.diagrams import professor_forcing_dot, seq2seq_dot
from lib.models.seq2seq import BUCKET_WORDS, bucketed_batches, bucketed_dataset
from tests.page_support import chart_data, open_page, output

PAGE = "app_pages/translator.py"
RUNS = "training_runs::translator"


def text_box(app):
    return next(t for t in app.text_input if t.label == "An English sentence")


def slider(app, label: str):
    return next(s for s in app.slider if s.label == label)


def select_slider(app, label: str):
    return next(s for s in app.select_slider if s.label == label)


def test_page_opens_on_the_pretrained_model_and_translates():
    app = open_page(PAGE)
    assert output(app, "Greedy decoding") == "le petit chat ne voit pas les maisons vertes"
    assert output(app, "Beam search, width 4") == "le petit chat ne voit pas les maisons vertes"
    steps = next(f.value for f in app.dataframe if "Fed back" in f.value.columns and "#1" in f.value.columns)
    assert [cell.split()[0] for cell in steps["Fed back"]][:3] == ["le", "petit", "chat"]
    assert steps["Fed back"].iloc[-1].startswith("</s>")
    assert {"#1", "#2", "#3", "#4", "#5"} <= set(steps.columns)
    candidates = next(f.value for f in app.dataframe if "Candidate" in f.value.columns)
    assert len(candidates) == 5 and candidates["Fed back"].iloc[0] and candidates["Probability"].is_monotonic_decreasing
    # The held-out length distribution, and the pretrained model's BLEU by length.
    lengths = next(
        d for d in map(chart_data, app.get("vega_lite_chart")) if "sentences" in d.columns and "language" in d.columns
    )
    assert lengths.groupby("language")["sentences"].sum().to_dict() == {"English": 500, "French": 500}
    bleu = next(d for d in map(chart_data, app.get("vega_lite_chart")) if "bleu" in d.columns)
    assert set(bleu["model"]) == {"pretrained (shipped)"} and bleu["bleu"].between(0, 100).all()
    scores = next(
        f.value
        for f in app.dataframe
        if "BLEU" in f.value.columns
        and "Exact matches" in f.value.columns
        and "Greedy token accuracy" not in f.value.columns
    )
    assert 50 < scores["BLEU"].iloc[0] <= 100
    gap = next(f.value for f in app.dataframe if "Greedy token accuracy" in f.value.columns)
    row = gap.iloc[0]
    assert row["Teacher-forced token accuracy"] > row["Greedy token accuracy"]


def test_stepping_and_beam_width_change_what_is_shown():
    app = open_page(PAGE)
    slider(app, "Step").set_value(3).run()
    assert not app.exception
    assert any("<s> le petit" in m.value for m in app.markdown)
    slider(app, "Beam width").set_value(1).run()
    assert output(app, "Beam search, width 1") == output(app, "Greedy decoding")
    assert any("Greedy and beam search **agree**" in m.value for m in app.markdown)


def test_the_context_toggle_changes_the_model_the_page_counts():
    app = open_page(PAGE)

    def counts():
        """Parameters by layer, the layer's name without what it reads: "decoder GRU 1 (reads …)"."""
        table = next(f.value for f in app.dataframe if "How it is counted" in f.value.columns)
        return table.assign(Layer=table["Layer"].str.split(" (", regex=False).str[0]).set_index("Layer")["Parameters"]

    with_context = counts()
    next(t for t in app.toggle if t.label == "Context at every decoder step").set_value(False).run()
    assert not app.exception
    without = counts()
    # The first decoder layer no longer reads the 256-unit context, nor does the softmax.
    assert with_context["decoder GRU 1"] - without["decoder GRU 1"] == 3 * 256 * 256
    assert with_context["softmax over French words"] - without["softmax over French words"] == 256 * 271
    assert without["total"] < with_context["total"]
    layer_names = next(f.value for f in app.dataframe if "How it is counted" in f.value.columns)["Layer"].tolist()
    assert "decoder GRU 1" in layer_names  # Without the context, the name no longer says it reads one.


def test_unknown_empty_and_long_input_give_messages_not_exceptions():
    app = open_page(PAGE)
    text_box(app).set_value("the small zebra sleeps").run()
    assert not app.exception
    assert any("“zebra”" in w.value and "<unk>" in w.value for w in app.warning)
    assert output(app, "Greedy decoding")
    text_box(app).set_value("   ").run()
    assert not app.exception
    assert any("Type an English sentence" in i.value for i in app.info)
    text_box(app).set_value(" ".join(["the cat sleeps and"] * 15)).run()
    assert not app.exception
    assert any("only the first 40 are translated" in w.value for w in app.warning)
    text_box(app).set_value("!!! ??? 123 <s> </s> ' \" ").run()
    assert not app.exception


def test_a_bad_upload_keeps_the_corpus_and_a_good_one_is_used():
    app = open_page(PAGE)
    app.get("file_uploader")[0].upload(
        "broken.tsv", b"no tab on this line\nnor here\n", "text/tab-separated-values"
    ).run()
    assert not app.exception
    assert any("“broken.tsv” cannot be used" in e.value and "keeps the corpus" in e.value for e in app.error)
    assert app.radio(key="corpus_choice").value == "grammar"
    good = "\n".join(f"the cat number {i} sleeps\tle chat numéro {i} dort\tCC-BY" for i in range(60)).encode()
    app.get("file_uploader")[0].upload("pairs.tsv", good, "text/tab-separated-values").run()
    assert not app.exception
    assert app.radio(key="corpus_choice").value == "upload"
    assert not app.error
    assert any("English vocabulary" in e.label for e in app.expander)
    # A model trained on the uploaded pairs (its own, smaller vocabularies) is measured and translates.
    select_slider(app, "Units").set_value(64).run()
    slider(app, "Epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception
    gap = next(f.value for f in app.dataframe if "Greedy token accuracy" in f.value.columns)
    assert len(gap) == 1 and gap["Model"].iloc[0].endswith("· your pairs")
    model = next(s for s in app.selectbox if s.label == "Model")
    model.set_value(model.options[1]).run()
    text_box(app).set_value("the cat number 7 sleeps").run()
    assert not app.exception
    assert output(app, "Greedy decoding")
    # The box reads with the uploaded pairs' vocabulary: "number" and "7" are not in the grammar's.
    assert not any("not in the English vocabulary" in w.value for w in app.warning)


def test_a_short_training_charts_and_measures_the_gap():
    app = open_page(PAGE)
    select_slider(app, "Units").set_value(64).run()
    select_slider(app, "Training pairs").set_value(3000).run()
    slider(app, "Epochs").set_value(2).run()
    assert slider(app, "Scheduled sampling p").disabled  # Only scheduled sampling reads p.
    app.button_group(key="training").set_value("scheduled sampling").run()
    assert not slider(app, "Scheduled sampling p").disabled
    slider(app, "Scheduled sampling p").set_value(0.3).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception
    runs = app.session_state[RUNS]
    assert len(runs) == 1 and runs[0].status == "finished" and runs[0].epochs_completed == 2
    results = runs[0].results
    assert 0 <= results["greedy_accuracy"] <= 1 and 0 <= results["teacher_forced_accuracy"] <= 1
    assert results["sampling_probability"] == 0.3 and results["training"] == "scheduled sampling"
    training = next(
        d for d in map(chart_data, app.get("vega_lite_chart")) if "split" in d.columns and "metric" in d.columns
    )
    drawn = set(zip(training["metric"], training["split"]))
    assert {("loss", "train"), ("token_accuracy", "validation"), ("bleu", "validation"), ("bleu", "reference")} <= drawn
    gap = next(f.value for f in app.dataframe if "Greedy token accuracy" in f.value.columns)
    assert len(gap) == 2 and gap["Training"].tolist() == ["teacher forcing", "scheduled sampling p=0.30"]
    # The trained model is offered in the text box, and translates without an exception.
    model = next(s for s in app.selectbox if s.label == "Model")
    assert len(model.options) == 2
    model.set_value(model.options[1]).run()
    assert not app.exception
    assert output(app, "Greedy decoding")
    bleu = next(d for d in map(chart_data, app.get("vega_lite_chart")) if "bleu" in d.columns and "model" in d.columns)
    assert len(set(bleu["model"])) == 2


def test_a_short_professor_forcing_training_charts_the_discriminator_and_joins_the_table():
    app = open_page(PAGE)
    select_slider(app, "Units").set_value(64).run()
    select_slider(app, "Training pairs").set_value(3000).run()
    slider(app, "Epochs").set_value(1).run()
    assert "professor forcing" in app.button_group(key="training").options
    assert select_slider(app, "Professor forcing weight").disabled
    app.button_group(key="training").set_value("professor forcing").run()
    select_slider(app, "Professor forcing weight").set_value(0.3).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception
    runs = app.session_state[RUNS]
    assert len(runs) == 1 and runs[0].status == "finished"
    assert runs[0].results["training"] == "professor forcing" and runs[0].results["adversarial_weight"] == 0.3
    assert runs[0].results["sampling_probability"] == 0.0
    training = next(
        d for d in map(chart_data, app.get("vega_lite_chart")) if "split" in d.columns and "metric" in d.columns
    )
    discriminator = training[training["metric"] == "discriminator_accuracy"]
    assert len(discriminator) and discriminator["value"].between(0, 1).all()
    gap = next(
        f.value for f in app.dataframe if "Greedy token accuracy" in f.value.columns and "Model" in f.value.columns
    )
    assert gap["Training"].tolist() == ["teacher forcing", "professor forcing w=0.3"]
    assert gap["Status"].tolist() == ["shipped", "finished"]
    assert any("professor forcing w=0.3**" in m.value and "a gap of" in m.value for m in app.markdown)
    points = next(d for d in map(chart_data, app.get("vega_lite_chart")) if "source" in d.columns)
    assert "professor forcing w=0.3" in set(points.loc[points["source"] == "this session", "training"])


# --- Helpers ----------------------------------------------------------------------------------------


def test_bucketed_batches_cover_every_sentence_once_with_little_padding():
    corpus = make_corpus(600, 10, seed=3)
    source = Vocabulary.from_sentences(e for e, _ in corpus.train)
    target = Vocabulary.from_sentences(f for _, f in corpus.train)
    encoded = encode_pairs(corpus.train, source, target)
    batches = bucketed_batches(encoded, batch_size=32, seed=1)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(encoded)))
    assert [b.tolist() for b in batches] == [b.tolist() for b in bucketed_batches(encoded, batch_size=32, seed=1)]
    dataset = bucketed_dataset(encoded, batch_size=32, seed=1)
    assert dataset.batch_sizes == [len(b) for b in batches] and len(dataset) == len(batches)
    lengths = set()
    for index in range(len(dataset)):
        (english, french_in), french_out = dataset[index]
        assert english.shape[1] == french_in.shape[1] == french_out.shape[1]
        # Padded no further than the batch's longest side (rounded up to the bucket size).
        longest = max((english != PAD_ID).sum(axis=1).max(), (french_out != PAD_ID).sum(axis=1).max())
        assert english.shape[1] == -(-longest // BUCKET_WORDS) * BUCKET_WORDS
        lengths.add(english.shape[1])
        rows = batches[index]
        # Nothing cut: every real word of the batch is still there.
        assert (english != PAD_ID).sum() == (encoded.encoder_input[rows] != PAD_ID).sum()
        assert (french_out != PAD_ID).sum() == (encoded.decoder_target[rows] != PAD_ID).sum()
    # Far less padding than one length for all: the padded positions are mostly real words.
    real = (encoded.encoder_input != PAD_ID).sum() + (encoded.decoder_target != PAD_ID).sum()
    padded = sum(2 * len(rows) * dataset[index][1].shape[1] for index, rows in enumerate(batches))
    assert real / padded > 0.7 and len(lengths) > 1


def test_diagrams_are_dot_text():
    picture = seq2seq_dot(["the", "cat"], ["le", "chat"])
    assert picture.startswith("digraph") and "fed back" in picture and "final state" in picture
    assert "‹/s›" in picture
    professor = professor_forcing_dot()
    assert "discriminator" in professor and "teacher-forced run" in professor and "free run" in professor


def test_the_first_two_batches_tell_keras_that_lengths_and_sizes_vary():
    from lib.models.seq2seq import _shape_revealing_order

    # Keras fixes every dimension on which the first two batches agree.
    order = _shape_revealing_order([0, 1, 2, 3], [1, 1, 2, 2], [128, 5, 128, 128])
    first, second = order[:2]
    assert [1, 1, 2, 2][first] != [1, 1, 2, 2][second] and [128, 5, 128, 128][first] != [128, 5, 128, 128][second]
    assert sorted(order) == [0, 1, 2, 3]
    assert _shape_revealing_order([2, 0, 1], [1, 1, 1], [64, 64, 64]) == [2, 0, 1]


def test_uneven_buckets_train_through_keras_without_a_shape_error():
    corpus = make_corpus(300, 10, seed=5)
    source = Vocabulary.from_sentences(e for e, _ in corpus.train)
    target = Vocabulary.from_sentences(f for _, f in corpus.train)
    encoded = encode_pairs(corpus.train, source, target)
    from lib.models import seq2seq

    model = seq2seq.build_seq2seq(len(source), len(target), units=16, embedding_size=8)
    trainer = seq2seq.compile_seq2seq(model)
    history = trainer.fit(bucketed_dataset(encoded, batch_size=16, seed=2), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_each_epoch_deals_new_batches_of_the_same_sizes_and_lengths():
    corpus = make_corpus(500, 10, seed=4)
    source = Vocabulary.from_sentences(e for e, _ in corpus.train)
    target = Vocabulary.from_sentences(f for _, f in corpus.train)
    dataset = bucketed_dataset(encode_pairs(corpus.train, source, target), batch_size=32, seed=0)
    before = [(b.copy(), dataset[i][1].shape) for i, b in enumerate(dataset.batches)]
    sizes = list(dataset.batch_sizes)
    dataset.on_epoch_end()
    after = [(b, dataset[i][1].shape) for i, b in enumerate(dataset.batches)]
    assert [len(b) for b, _ in after] == sizes == dataset.batch_sizes
    assert [shape for _, shape in after] == [shape for _, shape in before]
    assert sorted(np.concatenate([b for b, _ in after]).tolist()) == list(range(len(corpus.train)))
    assert any(not np.array_equal(b0, b1) for (b0, _), (b1, _) in zip(before, after))


def test_the_shipped_measurement_is_summarised_and_read_from_its_numbers():
    import pandas as pd

    from lib.page_glue.translator_page import exposure_bias_reading, exposure_bias_summary

    def rows(training, gaps, bleus, seconds):
        return [
            {
                "training": training,
                "seed": seed,
                "teacher_forced_accuracy": 0.95,
                "greedy_accuracy": 0.95 - gap / 100,
                "gap_points": gap,
                "bleu": bleu,
                "seconds": seconds,
            }
            for seed, (gap, bleu) in enumerate(zip(gaps, bleus))
        ]

    frame = pd.DataFrame(
        rows("teacher forcing", [10.0, 12.0], [80.0, 78.0], 100.0)
        + rows("scheduled sampling", [11.0, 13.0], [79.0, 77.0], 150.0)
        + rows("professor forcing", [5.0, 6.0], [85.0, 86.0], 300.0)
    )
    summary = exposure_bias_summary(frame).set_index("Training")
    assert summary.loc["professor forcing", "Press ÷ teacher forcing"] == 3.0
    assert summary.loc["teacher forcing", "Gap (points)"] == 11.0 and summary.loc["teacher forcing", "Seeds"] == 2
    reading = exposure_bias_reading(exposure_bias_summary(frame))
    assert "**scheduled sampling**: gap 12.0 points against teacher forcing's 11.0, 1.0 points wider" in reading
    assert "within what the seeds alone move" in reading
    assert "**professor forcing**: gap 5.5 points" in reading and "narrower (no seed of one overlaps" in reading
    one_seed = exposure_bias_reading(exposure_bias_summary(frame[frame["seed"] == 0]))
    assert "one seed each" in one_seed
