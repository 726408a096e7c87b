"""The Translator page's own glue: its "Train from scratch" settings and ways of training (teacher
forcing, scheduled sampling, professor forcing), the corpus as its section 1 shows it, the greedy
decoding step by step, the train/test mismatch with the shipped exposure-bias measurement, and its
BLEU tables.

What the three translator pages share (the corpus, the shipped models, translating, training from
scratch, the family comparison) is in `lib.page_glue.translator_family`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from lib.data.corpus import Corpus, Vocabulary, length_distribution
from lib.engine.training import TrainingRun
from lib.models.professor_forcing import DEFAULT_ADVERSARIAL_WEIGHT
from lib.models.seq2seq import DEFAULT_SETTINGS, TRANSLATOR_DIRECTORY, build_seq2seq, seq2seq_layer_counts
from lib.page_glue.translator_family import SHIPPED_STATUS, corpus_vocabularies, layer_counts_frame

# "Train from scratch" defaults: the cheapest press that still shows the train/test mismatch
# (docs/press-cost.md, measured with benchmarks/cost_per_press.py --baseline): 12,000 pairs twice
# cost about a fifth of the CPU seconds of 48,000 pairs three times, and the greedy token accuracy
# still falls well below the teacher-forced one (a wider gap: the model is less trained). Two passes
# over 48,000 pairs had reached a higher held-out accuracy than four over 24,000 in the same time
# (data/README.md, translator/): more pairs remain a choice of the slider.
SCRATCH_DEFAULT_TRAIN = 12_000
SCRATCH_DEFAULT_EPOCHS = 2

# The page's training choices: the notes' teacher forcing and its two remedies.
TEACHER_FORCING = "teacher forcing"
SCHEDULED_SAMPLING = "scheduled sampling"
PROFESSOR_FORCING = "professor forcing"
TRAINING_CHOICES = (TEACHER_FORCING, SCHEDULED_SAMPLING, PROFESSOR_FORCING)
# The p the page suggests for scheduled sampling (its preset), and the professor-forcing weights offered.
SUGGESTED_SAMPLING = 0.25
ADVERSARIAL_WEIGHTS = (0.1, 0.3, 1.0, 3.0)


@dataclass(frozen=True)
class ScratchSettings:
    """What the page's "Train from scratch" controls set."""

    cell: str = DEFAULT_SETTINGS["cell"]
    units: int = DEFAULT_SETTINGS["units"]
    embedding_size: int = DEFAULT_SETTINGS["embedding_size"]
    layers: int = DEFAULT_SETTINGS["layers"]
    epochs: int = SCRATCH_DEFAULT_EPOCHS
    train_sentences: int = SCRATCH_DEFAULT_TRAIN
    sampling_probability: float = 0.0
    context_every_step: bool = DEFAULT_SETTINGS["context_every_step"]
    training: str = TEACHER_FORCING
    adversarial_weight: float = DEFAULT_ADVERSARIAL_WEIGHT
    seed: int = 0

    def __post_init__(self):
        # Each choice keeps only its own knob, so that runs compare on what they were trained with.
        if self.training not in TRAINING_CHOICES:
            raise ValueError(f"Unknown training {self.training!r}; expected one of {TRAINING_CHOICES}.")
        if self.training != SCHEDULED_SAMPLING:
            object.__setattr__(self, "sampling_probability", 0.0)
        if self.training != PROFESSOR_FORCING:
            object.__setattr__(self, "adversarial_weight", 0.0)

    def build(self, vocabularies: tuple[Vocabulary, Vocabulary]):
        """A fresh, seeded seq2seq with these settings for these vocabularies."""
        return build_seq2seq(len(vocabularies[0]), len(vocabularies[1]), *self.shape, seed=self.seed)

    @property
    def shape(self) -> tuple:
        """The model's shape, as `build_seq2seq` and `seq2seq_layer_counts` take it after the vocabularies."""
        return self.cell, self.units, self.embedding_size, self.layers, self.context_every_step

    @property
    def professor_forcing(self) -> bool:
        """Whether the press trains by professor forcing (`translator_family.train_from_scratch` asks)."""
        return self.training == PROFESSOR_FORCING

    @property
    def label(self) -> str:
        shape = f"{self.cell} {self.units}" + (f"×{self.layers}" if self.layers > 1 else "")
        context = "" if self.context_every_step else " · state only"
        seed = f" · seed {self.seed}" if self.seed else ""
        return (
            f"{shape}{context} · emb {self.embedding_size} · {self.train_sentences:,} pairs · "
            f"{self.epochs} epochs · {training_name(asdict(self))}{seed}"
        )


def training_name(settings: dict) -> str:
    """How a run was trained, in words: "teacher forcing", "scheduled sampling p=0.25", "professor forcing w=1"."""
    training = settings.get("training", SCHEDULED_SAMPLING if settings.get("sampling_probability") else TEACHER_FORCING)
    if training == SCHEDULED_SAMPLING:
        return f"{SCHEDULED_SAMPLING} p={settings['sampling_probability']:.2f}"
    if training == PROFESSOR_FORCING:
        return f"{PROFESSOR_FORCING} w={settings['adversarial_weight']:g}"
    return TEACHER_FORCING


def parameter_table(settings: ScratchSettings, vocabularies: tuple[Vocabulary, Vocabulary]) -> pd.DataFrame:
    return layer_counts_frame(seq2seq_layer_counts(len(vocabularies[0]), len(vocabularies[1]), *settings.shape))


# --- The corpus, as section 1 shows it ------------------------------------------------------------


class VocabularyFrames(NamedTuple):
    english: pd.DataFrame
    french: pd.DataFrame


@st.cache_data(max_entries=8, show_spinner=False)
def vocabulary_frames(corpus_id: str, _corpus: Corpus) -> VocabularyFrames:
    """Both vocabularies as tables, with how often each word occurs in the training pairs."""
    source, target = corpus_vocabularies(corpus_id, _corpus)
    return VocabularyFrames(
        source.frame(english for english, _ in _corpus.train), target.frame(french for _, french in _corpus.train)
    )


@st.cache_data(max_entries=8, show_spinner=False)
def held_out_lengths(test: list[tuple[str, str]]) -> pd.DataFrame:
    return length_distribution(test, "held-out")


def sample_pairs(corpus: Corpus, count: int = 8) -> pd.DataFrame:
    chosen = np.random.default_rng(corpus.seed).choice(
        len(corpus.train), size=min(count, len(corpus.train)), replace=False
    )
    return pd.DataFrame([corpus.train[index] for index in sorted(chosen)], columns=["English", "French"])


# --- Greedy decoding, step by step ----------------------------------------------------------------


def step_table(trace) -> pd.DataFrame:
    """One row per decoding step: the word fed back (with its probability) and the top-5 candidates."""
    rows = []
    for step in trace.steps:
        row = {"Step": step.position, "Fed back": f"{step.chosen} ({_percent(step.chosen_probability)})"}
        for rank, (word, probability) in enumerate(step.top_words, start=1):
            row[f"#{rank}"] = f"{word} {_percent(probability)}"
        rows.append(row)
    return pd.DataFrame(rows)


def _percent(probability: float) -> str:
    return f"{probability:.0%}" if probability >= 0.005 else "<1%"


# --- The train/test mismatch ----------------------------------------------------------------------


def mismatch_table(runs: list[TrainingRun], pretrained: dict | None) -> pd.DataFrame:
    """Teacher-forced against greedy token accuracy on the same held-out sentences, per model."""
    rows = []
    if pretrained is not None:
        rows.append(
            {
                "Model": "pretrained (shipped)",
                "Status": SHIPPED_STATUS,
                "Training": TEACHER_FORCING,
                **_accuracy_columns(pretrained),
            }
        )
    for run in runs:
        rows.append(
            {
                "Model": run.display_label,
                "Status": run.status_text,
                "Training": training_name(run.results),
                **_accuracy_columns(run.results),
            }
        )
    return pd.DataFrame(rows)


def _accuracy_columns(results: dict) -> dict:
    return {
        "Teacher-forced token accuracy": results["teacher_forced_accuracy"],
        "Greedy token accuracy": results["greedy_accuracy"],
        "Gap (points)": 100 * (results["teacher_forced_accuracy"] - results["greedy_accuracy"]),
        "BLEU": results["bleu"],
        "Exact matches": results["exact_match"],
    }


COMPARED_SETTINGS = ("cell", "units", "embedding_size", "layers", "context_every_step", "epochs", "train_sentences")


def training_frame(runs: list[TrainingRun], shipped: pd.DataFrame | None = None) -> pd.DataFrame:
    """Both accuracies per way of training, one point per run: this session's runs that share the
    newest run's other settings, and the shipped measurement's runs (`shipped`, the rows of
    `exposure_bias_table`), for the chart beside the table."""
    rows = []
    if runs:
        newest = runs[-1].results
        for run in runs:
            if all(run.results.get(key) == newest.get(key) for key in COMPARED_SETTINGS):
                rows += _accuracy_points(
                    training_name(run.results),
                    run.results["teacher_forced_accuracy"],
                    run.results["greedy_accuracy"],
                    "this session",
                )
    if shipped is not None and not shipped.empty:
        seeds = shipped["seed"].nunique()
        for _, row in shipped.iterrows():
            rows += _accuracy_points(
                row["training"],
                row["teacher_forced_accuracy"],
                row["greedy_accuracy"],
                f"measured, {seeds} seed{'s' if seeds != 1 else ''} each",
            )
    return pd.DataFrame(rows, columns=["training", "measured", "accuracy", "source"])


def _accuracy_points(training: str, teacher_forced: float, greedy: float, source: str) -> list[dict]:
    return [
        {"training": training, "measured": "teacher-forced", "accuracy": teacher_forced, "source": source},
        {"training": training, "measured": "greedy decoding", "accuracy": greedy, "source": source},
    ]


def mismatch_reading(table: pd.DataFrame) -> str:
    """What the table shows, written from its numbers."""
    if table.empty:
        return ""
    parts = []
    for _, row in table.iterrows():
        parts.append(
            f"**{row['Model']}**: {row['Teacher-forced token accuracy']:.1%} teacher-forced against "
            f"{row['Greedy token accuracy']:.1%} greedy, a gap of {row['Gap (points)']:.1f} points"
        )
    text = "; ".join(parts) + "."
    trained = table[table["Model"] != "pretrained (shipped)"]
    plain = trained[trained["Training"] == TEACHER_FORCING]
    if plain.empty:
        return text
    plain_gap = plain["Gap (points)"].iloc[-1]
    for remedy in (SCHEDULED_SAMPLING, PROFESSOR_FORCING):
        remedied = trained[trained["Training"].str.startswith(remedy)]
        if remedied.empty:
            continue
        best = remedied.loc[remedied["Gap (points)"].idxmin()]
        verb = "narrower" if best["Gap (points)"] < plain_gap else "not narrower"
        text += (
            f" With {best['Training']} the gap is {verb} than with teacher forcing alone "
            f"({best['Gap (points)']:.1f} against {plain_gap:.1f} points)."
        )
    text += (
        " Compare runs with the same other settings, since training longer also moves both numbers, and "
        "one run per choice is one seed: the shipped measurement below says how much seeds alone move them "
        "(change the Seed setting to draw another run of your own)."
    )
    return text


# --- The exposure-bias measurement shipped with the app (scripts/exposure_bias.py) ----------------


EXPOSURE_BIAS_FILE = TRANSLATOR_DIRECTORY / "exposure_bias.csv"


@st.cache_data(show_spinner=False)
def exposure_bias_table() -> pd.DataFrame | None:
    """The shipped runs of scripts/exposure_bias.py (one row per way of training and seed), or None."""
    if not EXPOSURE_BIAS_FILE.exists():
        return None
    frame = pd.read_csv(EXPOSURE_BIAS_FILE)
    return frame if not frame.empty else None


def exposure_bias_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per way of training: seeds, mean accuracies, mean gap with its range over the seeds, BLEU,
    and the press's seconds against teacher forcing's (the same machine, the same measurement)."""
    rows = []
    baseline_seconds = frame.loc[frame["training"] == TEACHER_FORCING, "seconds"].mean()
    for training, group in frame.groupby("training", sort=False):
        rows.append(
            {
                "Training": training,
                "Seeds": int(group["seed"].nunique()),
                "Teacher-forced token accuracy": group["teacher_forced_accuracy"].mean(),
                "Greedy token accuracy": group["greedy_accuracy"].mean(),
                "Gap (points)": group["gap_points"].mean(),
                "Gap, lowest to highest seed": f"{group['gap_points'].min():.1f} to {group['gap_points'].max():.1f}",
                "BLEU": group["bleu"].mean(),
                "BLEU, lowest to highest seed": f"{group['bleu'].min():.1f} to {group['bleu'].max():.1f}",
                "Press (s)": group["seconds"].mean(),
                "Press ÷ teacher forcing": group["seconds"].mean() / baseline_seconds
                if baseline_seconds
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def exposure_bias_reading(summary: pd.DataFrame) -> str:
    """What the shipped measurement shows, written from its numbers: each remedy's gap and BLEU
    against teacher forcing's, said to be within the seeds' spread when the ranges overlap."""
    plain = summary[summary["Training"] == TEACHER_FORCING]
    if plain.empty:
        return ""
    plain = plain.iloc[0]
    low, high = (float(x) for x in plain["Gap, lowest to highest seed"].split(" to "))
    sentences = []
    for _, row in summary[summary["Training"] != TEACHER_FORCING].iterrows():
        row_low, row_high = (float(x) for x in row["Gap, lowest to highest seed"].split(" to "))
        difference = row["Gap (points)"] - plain["Gap (points)"]
        if row["Seeds"] < 2 or plain["Seeds"] < 2:
            spread = " (one seed each: no spread measured, so read it as one draw)"
        elif row_high < low or row_low > high:
            spread = " (no seed of one overlaps a seed of the other)"
        else:
            spread = " (within what the seeds alone move: their ranges overlap)"
        direction = "narrower" if difference < 0 else "wider" if difference > 0 else "the same"
        bleu = row["BLEU"] - plain["BLEU"]
        sentences.append(
            f"**{row['Training']}**: gap {row['Gap (points)']:.1f} points against teacher forcing's "
            f"{plain['Gap (points)']:.1f}, {abs(difference):.1f} points {direction}{spread}; BLEU {row['BLEU']:.1f} "
            f"against {plain['BLEU']:.1f} ({bleu:+.1f}); the press took {row['Press ÷ teacher forcing']:.1f} times "
            "as long."
        )
    return " ".join(sentences)


# --- BLEU -----------------------------------------------------------------------------------------


def bleu_table(runs: list[TrainingRun], pretrained: dict | None) -> pd.DataFrame:
    rows = []
    if pretrained is not None:
        rows.append(
            {"Model": "pretrained (shipped)", "BLEU": pretrained["bleu"], "Exact matches": pretrained["exact_match"]}
        )
    for run in runs:
        rows.append(
            {"Model": run.display_label, "BLEU": run.results["bleu"], "Exact matches": run.results["exact_match"]}
        )
    return pd.DataFrame(rows)


def bleu_by_length_frame(runs: list[TrainingRun], pretrained: dict | None) -> pd.DataFrame:
    frames = ([pretrained["by_length"]] if pretrained is not None else []) + [run.results["by_length"] for run in runs]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=["model", "lengths", "min_words", "max_words", "sentences", "bleu", "exact_match"])
    return pd.concat(frames, ignore_index=True)
