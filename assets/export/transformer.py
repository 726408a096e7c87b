"""Train the Transformer of RNN Playground's "Transformer" page again, with plain Keras.

The sentence pairs are the run's own (train_pairs.tsv: English, a tab, French, those the run kept if it trained on short sentences only; held_out_pairs.tsv: the
pairs the page measured it on), read with the run's vocabularies (english_vocabulary.json and
french_vocabulary.json: <pad>, <s>, </s>, <unk>, then the words by falling frequency; a word not in them
reads as <unk>). The model is the page's (Vaswani et al., 2017, with the layer norm before each block):
word embeddings scaled by √d plus positions (none, sinusoidal or a learned table), encoder layers of
self-attention and a ReLU network, decoder layers of self-attention under a causal mask (each French word
reads only the words before it), cross-attention to the encoder's output and a ReLU network, then the
softmax over French words. Same layers, same seeded initialisers and dropout.
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
import math
import re
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import ops

# %% The run's settings (filled in by the app when it exported the run)
# --- settings
LAYERS = 2
HEADS = 4
MODEL_SIZE = 128  # d
FEED_FORWARD_SIZE = 256
DROPOUT = 0.1
POSITIONS = "sinusoidal"  # "none", "sinusoidal" or "learned"
MAX_POSITIONS = 128  # rows of a learned position table
CAUSAL_MASK = True
EPOCHS = 3
BATCH_SIZE = 64
LEARNING_RATE = 0.002  # Adam's peak step size, decayed along a cosine to 5 % of it
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


# %% The model: three small layers of the app's own (the attention mask and the two kinds of positions)
@keras.saving.register_keras_serializable(package="rnn_playground")
class AttentionMask(keras.layers.Layer):
    """[query ids (batch, T), key ids (batch, S)] → (batch, T, S) booleans: True where query t may attend to
    key s: a real word (not <pad>) and, with `causal`, no later than the query (s ≤ t)."""

    def __init__(self, causal=False, **kwargs):
        super().__init__(**kwargs)
        self.causal = bool(causal)

    def call(self, inputs):
        query_ids, key_ids = inputs
        query_length, key_length = ops.shape(query_ids)[1], ops.shape(key_ids)[1]
        real_keys = ops.expand_dims(ops.not_equal(key_ids, PAD_ID), 1)
        allowed = ops.broadcast_to(real_keys, (ops.shape(query_ids)[0], query_length, key_length))
        if self.causal:
            earlier = ops.expand_dims(ops.arange(key_length), 0) <= ops.expand_dims(ops.arange(query_length), 1)
            allowed = ops.logical_and(allowed, ops.expand_dims(earlier, 0))
        return allowed

    def compute_output_shape(self, input_shapes):
        query_shape, key_shape = input_shapes
        return (query_shape[0], query_shape[1], key_shape[1])

    def get_config(self):
        return {**super().get_config(), "causal": self.causal}


def inverse_wavelengths(size: int) -> np.ndarray:
    """1 / 10000^(2i/d) for every column: columns 2i and 2i + 1 share a frequency."""
    return 1.0 / np.power(10000.0, (np.arange(size) // 2 * 2) / size)


@keras.saving.register_keras_serializable(package="rnn_playground")
class SinusoidalPositions(keras.layers.Layer):
    """Embeddings (batch, L, d) + the paper's encoding: sin(pos / 10000^(2i/d)) in even columns, cos in odd."""

    def call(self, embeddings):
        size = embeddings.shape[-1]
        positions = ops.cast(ops.arange(ops.shape(embeddings)[1]), "float32")
        angles = (
            ops.expand_dims(positions, 1) * ops.convert_to_tensor(inverse_wavelengths(size).astype(np.float32))[None, :]
        )
        even = ops.convert_to_tensor(np.arange(size) % 2 == 0)
        encoding = ops.where(even[None, :], ops.sin(angles), ops.cos(angles))
        return embeddings + ops.cast(encoding, embeddings.dtype)[None]


@keras.saving.register_keras_serializable(package="rnn_playground")
class LearnedPositions(keras.layers.Layer):
    """Embeddings (batch, L, d) + row p of a learned table (drawn from [−1, 1]) at each position p."""

    def __init__(self, max_positions=128, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_positions = int(max_positions)
        self.seed = seed

    def build(self, input_shape):
        self.table = self.add_weight(
            shape=(self.max_positions, int(input_shape[-1])),
            initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=self.seed),
            name="table",
        )

    def call(self, embeddings):
        positions = ops.minimum(ops.arange(ops.shape(embeddings)[1]), self.max_positions - 1)
        return embeddings + ops.cast(ops.take(self.table, positions, axis=0), embeddings.dtype)[None]

    def get_config(self):
        return {**super().get_config(), "max_positions": self.max_positions, "seed": self.seed}


# %% The Transformer's blocks: pre-layer-norm residual blocks, every weight and dropout seeded
EPSILON = 1e-6  # the paper's layer normalization epsilon, not Keras's 1e-3


def embedded(ids, language: str, vocabulary_size: int, seed: int):
    """Word embeddings scaled by √d, plus positions, then dropout."""
    x = keras.layers.Embedding(
        vocabulary_size,
        MODEL_SIZE,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=MODEL_SIZE**-0.5, seed=seed),
        name=f"{language}_embedding",
    )(ids)
    x = keras.layers.Rescaling(math.sqrt(MODEL_SIZE), name=f"{language}_embedding_scale")(x)
    if POSITIONS == "sinusoidal":
        x = SinusoidalPositions(name=f"{language}_positions")(x)
    elif POSITIONS == "learned":
        x = LearnedPositions(MAX_POSITIONS, seed=seed + 1, name=f"{language}_positions")(x)
    return keras.layers.Dropout(DROPOUT, seed=seed + 2, name=f"{language}_embedding_dropout")(x)


def attention_block(x, memory, mask, name: str, seed: int):
    """x + Dropout(MultiHeadAttention(LayerNorm(x), memory, mask)); memory None: self-attention."""
    normalized = keras.layers.LayerNormalization(epsilon=EPSILON, name=f"{name}_norm")(x)
    keys = normalized if memory is None else memory
    attention = keras.layers.MultiHeadAttention(
        num_heads=HEADS, key_dim=MODEL_SIZE // HEADS, dropout=DROPOUT, seed=seed, name=name
    )
    output = attention(query=normalized, value=keys, key=keys, attention_mask=mask)
    output = keras.layers.Dropout(DROPOUT, seed=seed + 1, name=f"{name}_dropout")(output)
    return keras.layers.Add(name=f"{name}_residual")([x, output])


def feed_forward_block(x, name: str, seed: int):
    """x + Dropout(W₂ ReLU(W₁ LayerNorm(x) + b₁) + b₂), at each position alike."""
    normalized = keras.layers.LayerNormalization(epsilon=EPSILON, name=f"{name}_norm")(x)
    hidden = keras.layers.Dense(
        FEED_FORWARD_SIZE,
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name=f"{name}_hidden",
    )(normalized)
    output = keras.layers.Dense(
        MODEL_SIZE, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1), name=f"{name}_output"
    )(hidden)
    output = keras.layers.Dropout(DROPOUT, seed=seed + 2, name=f"{name}_dropout")(output)
    return keras.layers.Add(name=f"{name}_residual")([x, output])


source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
# The encoder: each English word attends to every English word.
english_mask = AttentionMask(causal=False, name="english_self_attention_mask")([source, source])
x = embedded(source, "english", len(english_ids), SEED)
for number in range(1, LAYERS + 1):
    x = attention_block(x, None, english_mask, f"encoder_{number}_self_attention", SEED + 100 * number)
    x = feed_forward_block(x, f"encoder_{number}_feed_forward", SEED + 100 * number + 10)
encoder_output = keras.layers.LayerNormalization(epsilon=EPSILON, name="encoder_output_norm")(x)
# The decoder: each French word attends to the ones before it (the causal mask), then to the English words.
decoder_seed = SEED + 1000
french_mask = AttentionMask(causal=CAUSAL_MASK, name="french_self_attention_mask")([target_in, target_in])
cross_mask = AttentionMask(causal=False, name="cross_attention_mask")([target_in, source])
y = embedded(target_in, "french", len(french_ids), decoder_seed)
for number in range(1, LAYERS + 1):
    y = attention_block(y, None, french_mask, f"decoder_{number}_self_attention", decoder_seed + 100 * number)
    y = attention_block(
        y, encoder_output, cross_mask, f"decoder_{number}_cross_attention", decoder_seed + 100 * number + 10
    )
    y = feed_forward_block(y, f"decoder_{number}_feed_forward", decoder_seed + 100 * number + 20)
y = keras.layers.LayerNormalization(epsilon=EPSILON, name="decoder_output_norm")(y)
probabilities = keras.layers.Dense(
    len(french_ids),
    activation="softmax",
    kernel_initializer=keras.initializers.GlorotUniform(seed=decoder_seed + 2),
    name="next_word",
)(y)
model = keras.Model([source, target_in], probabilities, name="transformer")

# Keras hands each of a MultiHeadAttention's four projections a copy of one seeded initializer (the query
# and key kernels would start equal), so the page draws each kernel from its own seed instead.
attention_names = [f"encoder_{number}_self_attention" for number in range(1, LAYERS + 1)]
for number in range(1, LAYERS + 1):
    attention_names += [f"decoder_{number}_self_attention", f"decoder_{number}_cross_attention"]
for offset, name in enumerate(attention_names):
    attention = model.get_layer(name)
    projections = (attention.query_dense, attention.key_dense, attention.value_dense, attention.output_dense)
    for index, projection in enumerate(projections):
        seed = SEED + 10_000 + 10 * offset + index
        projection.kernel.assign(keras.initializers.GlorotUniform(seed=seed)(projection.kernel.shape))
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
