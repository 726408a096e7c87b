"""Train the encoder-decoder of RNN Playground's "Translator" page again, with plain Keras.

The sentence pairs are the run's own (train_pairs.tsv: English, a tab, French; held_out_pairs.tsv: the
pairs the page measured it on), read with the run's vocabularies (english_vocabulary.json and
french_vocabulary.json: <pad>, <s>, </s>, <unk>, then the words by falling frequency; a word not in them
reads as <unk>). The model is the page's seq2seq: an encoder GRU or LSTM reads the English words last to
first, its final state starts a decoder that writes French, and (when set) the encoder's final output, the
context, is handed to every decoder step and to the softmax. Same layers, same seeded initialisers.
The training is the page's too: teacher forcing (the decoder reads the gold previous word), Adam clipped at
norm 5 with a cosine step size, a cross-entropy that ignores <pad>, on batches of sentences of one length in
the same seeded order.

    pip install -r requirements.txt
    python train.py              # the run's epochs
    python train.py --epochs 1   # a short check (the run's first epoch)

Open it in Jupyter (jupytext) or VS Code to run it cell by cell: each `# %%` line starts a cell.
"""

# %%
import argparse
import json
import re
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import ops

# %% The run's settings (filled in by the app when it exported the run)
# --- settings
CELL = "GRU"  # "GRU" or "LSTM"
UNITS = 256
EMBEDDING_SIZE = 64
LAYERS = 1
CONTEXT_EVERY_STEP = True
REVERSE_SOURCE = True
EPOCHS = 2
BATCH_SIZE = 64
LEARNING_RATE = 0.006  # Adam's peak step size, decayed along a cosine to 5 % of it
SAMPLING_PROBABILITY = 0.0  # scheduled sampling's p (0: teacher forcing only)
SEED = 0
# --- end of settings

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=EPOCHS, help="how many epochs to train (default: the run's)")
arguments, _ = parser.parse_known_args()  # a notebook's kernel passes arguments of its own
folder = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
PAD_ID, START_ID, END_ID, UNKNOWN_ID = range(4)

# %% The sentence pairs and the vocabularies
TOKEN = re.compile(r"[^\W\d_]+'|\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower case, punctuation split off, an elided article kept with its apostrophe: "j'aime" → ["j'", "aime"]."""
    text = " ".join(text.replace("\u2019", "'").replace("\u00a0", " ").lower().split())
    return TOKEN.findall(text)


def read_pairs(name: str) -> list[tuple[str, str]]:
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line]


def read_vocabulary(name: str, sentences: list[str]) -> dict[str, int]:
    """The run's vocabulary (its JSON file); without the file, the same kind of table built from `sentences`:
    <pad>, <s>, </s>, <unk>, then every word by falling frequency (ties in alphabetical order)."""
    if (folder / name).exists():
        words = json.loads((folder / name).read_text(encoding="utf-8"))["words"]
    else:
        counts = Counter(word for sentence in sentences for word in tokenize(sentence))
        specials = ["<pad>", "<s>", "</s>", "<unk>"]
        words = specials + sorted((w for w in counts if w not in specials), key=lambda w: (-counts[w], w))
    return {word: index for index, word in enumerate(words)}


def pad(rows: list[list[int]]) -> np.ndarray:
    array = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int32)
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array


def encode(pairs, english_ids: dict[str, int], french_ids: dict[str, int]):
    """The three padded arrays of teacher forcing: English ids, <s> + French ids, and French ids + </s>."""
    sources = [[english_ids.get(word, UNKNOWN_ID) for word in tokenize(english)] for english, _ in pairs]
    targets = [[french_ids.get(word, UNKNOWN_ID) for word in tokenize(french)] for _, french in pairs]
    return pad(sources), pad([[START_ID, *t] for t in targets]), pad([[*t, END_ID] for t in targets])


train_pairs, held_out_pairs = read_pairs("train_pairs.tsv"), read_pairs("held_out_pairs.tsv")
english_ids = read_vocabulary("english_vocabulary.json", [english for english, _ in train_pairs])
french_ids = read_vocabulary("french_vocabulary.json", [french for _, french in train_pairs])
train = encode(train_pairs, english_ids, french_ids)
held_out = encode(held_out_pairs, english_ids, french_ids)
print(f"{len(train_pairs)} training and {len(held_out_pairs)} held-out pairs")
print(f"{len(english_ids)} English and {len(french_ids)} French words")


# %% Batches of sentences of one length, in one seeded order
def bucketed_batches(source, target, batch_size: int, seed: int) -> list[np.ndarray]:
    """Row indices of each batch: sentences grouped by their longer side, shuffled (seeded), then cut.

    Keras fixes every dimension on which a dataset's first two batches agree, so two batches that
    differ in length and in size are put first.
    """
    generator = np.random.default_rng(seed)
    lengths = np.maximum((source != PAD_ID).sum(axis=1), (target != PAD_ID).sum(axis=1))
    batches, batch_lengths = [], []
    for length in np.unique(lengths):
        rows = generator.permutation(np.flatnonzero(lengths == length))
        for start in range(0, len(rows), batch_size):
            batches.append(rows[start : start + batch_size])
            batch_lengths.append(int(length))
    order = list(generator.permutation(len(batches)))
    sizes = [len(rows) for rows in batches]
    lengths_vary, sizes_vary = len(set(batch_lengths)) > 1, len(set(sizes)) > 1
    if lengths_vary or sizes_vary:

        def differ(a, b):
            return (not lengths_vary or batch_lengths[a] != batch_lengths[b]) and (
                not sizes_vary or sizes[a] != sizes[b]
            )

        for first in order:
            second = next((b for b in order if differ(first, b)), None)
            if second is not None:
                order = [first, second, *[index for index in order if index not in (first, second)]]
                break
    return [batches[index] for index in order]


def cut(array: np.ndarray, length: int) -> np.ndarray:
    if array.shape[1] >= length:
        return np.ascontiguousarray(array[:, :length])
    return np.pad(array, ((0, 0), (0, length - array.shape[1])))


class BucketedPairs(keras.utils.PyDataset):
    """Teacher-forcing batches, each padded only to its own length; between epochs each length's
    sentences are dealt afresh into that length's batches (seeded), so no two epochs see the same batches."""

    def __init__(self, source, target_in, target, batches, seed):
        super().__init__()
        self.source, self.target_in, self.target = source, target_in, target
        self.batches = batches
        self.generator = np.random.default_rng(seed)

    def __len__(self):
        return len(self.batches)

    def length(self, rows):
        return max(
            int((self.source[rows] != PAD_ID).sum(axis=1).max()), int((self.target[rows] != PAD_ID).sum(axis=1).max())
        )

    def on_epoch_end(self):
        lengths = [self.length(rows) for rows in self.batches]
        for length in set(lengths):
            places = [index for index, value in enumerate(lengths) if value == length]
            rows = self.generator.permutation(np.concatenate([self.batches[index] for index in places]))
            start = 0
            for index in places:
                size = len(self.batches[index])
                self.batches[index] = rows[start : start + size]
                start += size

    def __getitem__(self, index):
        rows = self.batches[index]
        length = self.length(rows)
        return (cut(self.source[rows], length), cut(self.target_in[rows], length)), cut(self.target[rows], length)


batches = BucketedPairs(*train, bucketed_batches(train[0], train[2], BATCH_SIZE, SEED), SEED + 1)


# %% The model: two small layers of the app's own, then Keras layers with the page's seeds
@keras.saving.register_keras_serializable(package="rnn_playground")
class ReverseTokens(keras.layers.Layer):
    """Reverse each row of token ids along time (the padding at the end comes first, where the mask skips it)."""

    def call(self, ids):
        return ops.flip(ids, axis=1)


@keras.saving.register_keras_serializable(package="rnn_playground")
class RepeatAlongTime(keras.layers.Layer):
    """[vector (batch, units), sequence (batch, time, …)] → the vector at every time step of the sequence."""

    def call(self, inputs):
        vector, sequence = inputs
        shape = (ops.shape(sequence)[0], ops.shape(sequence)[1], ops.shape(vector)[-1])
        return ops.broadcast_to(ops.expand_dims(vector, 1), shape)

    def compute_output_shape(self, input_shapes):
        vector_shape, sequence_shape = input_shapes
        return (vector_shape[0], sequence_shape[1], vector_shape[-1])


def recurrent(name: str, seed: int):
    layer_class = keras.layers.GRU if CELL == "GRU" else keras.layers.LSTM
    return layer_class(
        UNITS,
        return_sequences=True,
        return_state=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
        name=name,
    )


def with_context(sequence, context, name: str):
    """Each time step of `sequence` followed by the same context vector."""
    return keras.layers.Concatenate(name=name)([sequence, RepeatAlongTime(name=f"{name}_repeat")([context, sequence])])


source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
read = ReverseTokens(name="reverse_english")(source) if REVERSE_SOURCE else source
x = keras.layers.Embedding(
    len(english_ids),
    EMBEDDING_SIZE,
    mask_zero=True,
    embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=SEED),
    name="english_embedding",
)(read)
encoder_states = []
for layer in range(LAYERS):
    x, *states = recurrent(f"encoder_{layer + 1}", SEED + 10 * (layer + 1))(x)
    encoder_states.append(states)
y = keras.layers.Embedding(
    len(french_ids),
    EMBEDDING_SIZE,
    embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=SEED + 1),
    name="french_embedding",
)(target_in)
context = encoder_states[-1][0]  # the last encoder layer's output after the last real word
if CONTEXT_EVERY_STEP:
    y = with_context(y, context, "word_and_context")
for layer in range(LAYERS):
    y, *_ = recurrent(f"decoder_{layer + 1}", SEED + 100 + 10 * (layer + 1))(y, initial_state=encoder_states[layer])
if CONTEXT_EVERY_STEP:
    y = with_context(y, context, "state_and_context")
probabilities = keras.layers.Dense(
    len(french_ids),
    activation="softmax",
    kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 2),
    name="next_word",
)(y)
model = keras.Model([source, target_in], probabilities, name=f"seq2seq_{CELL.lower()}")
model.summary()


# %% Loss and metric: <pad> counts for nothing
def masked_crossentropy(y_true, y_pred):
    mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
    losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    return ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1.0)


class TokenAccuracy(keras.metrics.Metric):
    """Share of real target words predicted right (argmax), over the epoch's batches."""

    def __init__(self, name="token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.not_equal(y_true, PAD_ID)
        hits = ops.logical_and(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), mask)
        self.correct.assign_add(ops.sum(ops.cast(hits, "float32")))
        self.total.assign_add(ops.sum(ops.cast(mask, "float32")))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)


class Trainer(keras.Model):
    """What `fit` trains: the model, teacher-forced; with scheduled sampling (p > 0), each batch takes a
    first pass on the gold words (no gradient), then each decoder input after <s> becomes the model's own
    guess with probability p, and the second pass, on those mixed inputs, is the one trained."""

    def __init__(self, seq2seq, sampling_probability, seed, **kwargs):
        super().__init__(**kwargs)
        self.seq2seq = seq2seq
        self.sampling_probability = float(sampling_probability)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        source, target_in = inputs
        if training and self.sampling_probability > 0:
            first_pass = ops.stop_gradient(self.seq2seq([source, target_in], training=False))
            guesses = ops.cast(ops.argmax(first_pass, axis=-1), target_in.dtype)
            shifted = ops.concatenate([target_in[:, :1], guesses[:, :-1]], axis=1)
            coin = keras.random.uniform(ops.shape(target_in), seed=self.seed_generator)
            positions = ops.arange(ops.shape(target_in)[1])[None, :]
            replace = ops.logical_and(coin < self.sampling_probability, positions > 0)
            target_in = ops.where(ops.logical_and(replace, ops.not_equal(target_in, PAD_ID)), shifted, target_in)
        return self.seq2seq([source, target_in], training=training)


# The step size decays over the run's planned epochs, so that `--epochs 1` trains the run's first epoch.
planned_steps = max(1, max(EPOCHS, arguments.epochs) * len(batches))
trainer = Trainer(model, SAMPLING_PROBABILITY, SEED, name=f"{model.name}_trainer")
trainer.compile(
    optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=planned_steps, alpha=0.05), clipnorm=5.0
    ),
    loss=masked_crossentropy,
    metrics=[TokenAccuracy()],
)

# %% Train, and keep the curves and the model beside the run's own
# shuffle=False: Keras would otherwise shuffle the dataset's batches, which come in their seeded order.
history = trainer.fit(
    batches,
    validation_data=((held_out[0], held_out[1]), held_out[2]),
    epochs=arguments.epochs,
    shuffle=False,
    verbose=2,
)
rerun = pd.DataFrame(history.history)
rerun.insert(0, "epoch", range(1, len(rerun) + 1))
rerun.to_csv(folder / "rerun_history.csv", index=False)
model.save(folder / "rerun_model.keras")
print(rerun.round(4).to_string(index=False))

# %% Greedy translations of a few held-out sentences
french_words = {index: word for word, index in french_ids.items()}
for row in range(min(5, len(held_out_pairs))):
    source_ids = held_out[0][row : row + 1]
    written = [START_ID]
    for _ in range(2 * int((source_ids != PAD_ID).sum()) + 5):
        next_id = int(model.predict([source_ids, np.array([written], dtype=np.int32)], verbose=0)[0, -1].argmax())
        if next_id == END_ID:
            break
        written.append(next_id)
    print(held_out_pairs[row][0], "→", " ".join(french_words[index] for index in written[1:]))
