"""The Transformer of the Transformer page: an encoder-decoder built from attention alone.

The notes' Transformer (Vaswani et al., 2017) drops the recurrence of the Translator and Attention
pages. Each word is embedded (scaled by √d, d the model's width), a position encoding is added, and then:

- every encoder layer lets each English word attend to all the English words (self-attention,
  several heads at once), then passes each word through the same small ReLU network;
- every decoder layer lets each French word attend to the French words before it (a causal mask),
  then to the encoder's output (cross-attention), then through its own small network;
- a softmax over French words reads the decoder's last layer at every position.

Nothing here is recurrent, so without a position encoding the encoder cannot tell word order at all:
shuffling the English words shuffles its outputs the same way (`encoder_without_positions` builds
that encoder from a trained model's weights, to compare with the model's own `encoder_outputs`). The
positions can be "none", "sinusoidal" (the paper's, computed for any length) or "learned" (a table,
whose rows past the training lengths keep their random start).

The module holds the model (`build_transformer`, its Keras layers registered for safe-mode loading),
the parameter counts from the shared counter, the step-by-step translator behind the decoding
protocol of `lib.models.decoding` (its `extras` carry the last layer's cross-attention row), every layer's
and head's attention maps, one head's computation spelled out in NumPy (`head_walkthrough`), heads
silenced on a copy of the model (`with_heads_silenced`), and save/load.

Keras and TensorFlow are imported inside functions, so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lib.data.bleu import corpus_bleu
from lib.data.corpus import PAD_ID, START_ID, Vocabulary, encode_pairs
from lib.engine.graph_lock import GRAPH_LOCK, builds_graph
from lib.engine.params import LayerCount, count_dense_params, count_layer_norm_params, count_multi_head_attention_params
from lib.models.decoding import greedy_decode, greedy_decode_batch
from lib.models.translator_base import DATA_DIRECTORY, Translator

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

POSITIONS = ("none", "sinusoidal", "learned")
POSITION_NAMES = {
    "none": "none (the model sees a bag of words)",
    "sinusoidal": "sinusoidal (Vaswani et al., 2017: computed for any length)",
    "learned": "learned (a table of one vector per position)",
}
# Adam's step size for this model with `lib.models.seq2seq.compile_seq2seq`. The recurrent models' 0.006 is
# too large for it: the default `TransformerConfig`, 3 epochs of 4,000 pairs, batches of 64, held-out greedy BLEU
# 5.3 at 0.006, 58.8 at 0.003, 65.9 at 0.002, 52.6 at 0.001 and 15.8 at 0.0005.
DEFAULT_LEARNING_RATE = 0.002
# Rows of the learned position table: well above the longest French sentence the decoder writes
# from the text box (2 × 40 English words + 5, plus </s>).
MAX_POSITIONS = 128


@dataclass(frozen=True)
class TransformerConfig:
    """The Transformer's shape, its defaults written here once (as nanoGPT's `GPTConfig`): what
    `build_transformer` builds and `transformer_layer_counts` counts, what `transformer_settings` reads
    back off a model, and the defaults of the Transformer page's settings (which extend this class).
    The seed is not part of the shape: `build_transformer` takes it beside the config."""

    layers: int = 2
    heads: int = 4
    model_size: int = 128  # d
    feed_forward_size: int = 256  # d_ff
    dropout: float = 0.1
    positions: str = "sinusoidal"  # one of POSITIONS
    causal_mask: bool = True
    # Keyword-only, so that a subclass's own fields follow `causal_mask` in its positional arguments.
    max_positions: int = field(default=MAX_POSITIONS, kw_only=True)  # rows of a learned position table

    def shape(self) -> dict[str, Any]:
        """The config's own fields as a dict (a subclass's other fields left out)."""
        return {item.name: getattr(self, item.name) for item in fields(TransformerConfig)}


def transformer_config(config: TransformerConfig | None = None, **changes) -> TransformerConfig:
    """`config` (the defaults if None) with `changes` to its fields; a "seed" among them is ignored."""
    changes.pop("seed", None)
    return replace(config if config is not None else TransformerConfig(), **changes)


# The defaults as the keyword arguments of `build_transformer` (the shipped model's settings in
# scripts/train_translator.py): the config's fields, without the table's rows, and the seed.
DEFAULT_SETTINGS = {
    **{name: value for name, value in TransformerConfig().shape().items() if name != "max_positions"},
    "seed": 0,
}
TRANSFORMER_DIRECTORY = DATA_DIRECTORY / "transformer"
MODEL_FILE = "transformer.keras"
# The paper's layer normalization and the keras-io examples' use a small epsilon, not Keras's 1e-3.
_LAYER_NORM_EPSILON = 1e-6


# --------------------------------------------------------------------------------------------------
# Position encodings
# --------------------------------------------------------------------------------------------------


def _inverse_wavelengths(size: int) -> np.ndarray:
    """1 / 10000^(2i/d) for every column: columns 2i and 2i + 1 share a frequency."""
    pair_starts = np.arange(size) // 2 * 2
    return 1.0 / np.power(10000.0, pair_starts / size)


def sinusoidal_encoding(length: int, size: int) -> np.ndarray:
    """The paper's position encoding, (length, size): PE[pos, 2i] = sin(pos / 10000^(2i/d)) and
    PE[pos, 2i+1] = cos(pos / 10000^(2i/d)). Early columns turn fast, late ones slowly, so every
    position gets its own pattern; `SinusoidalPositions` adds the same values inside the model."""
    angles = np.arange(length)[:, None] * _inverse_wavelengths(size)[None, :]
    return np.where(np.arange(size) % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# The Keras layers of the model
# --------------------------------------------------------------------------------------------------


@functools.cache
def _keras_classes():
    """Keras layers of the Transformer, defined and registered once per process, when first needed."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class AttentionMask(keras.layers.Layer):
        """[query ids (batch, T), key ids (batch, S)] → (batch, T, S) booleans: True where query t may
        attend to key s.

        A key may be attended to only if it is a real word (id not <pad>); with `causal`, also only if
        it comes no later than the query (s ≤ t), so that a French position cannot read the words it
        must predict. The mask is computed from the ids and handed to each attention explicitly:
        Keras masks ride along with tensors, and MultiHeadAttention drops them from its output.
        """

        def __init__(self, causal: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.causal = bool(causal)

        def call(self, inputs):
            query_ids, key_ids = inputs
            query_length, key_length = ops.shape(query_ids)[1], ops.shape(key_ids)[1]
            real_keys = ops.expand_dims(ops.not_equal(key_ids, PAD_ID), 1)  # (batch, 1, S)
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

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class SinusoidalPositions(keras.layers.Layer):
        """Embeddings (batch, L, d) → embeddings + the sinusoidal encoding of positions 0 … L−1.

        The encoding is computed on the fly for the length at hand, so a sentence longer than any
        seen in training still gets positions; it has no parameter.
        """

        def call(self, embeddings):
            size = embeddings.shape[-1]
            positions = ops.cast(ops.arange(ops.shape(embeddings)[1]), "float32")
            angles = (
                ops.expand_dims(positions, 1)
                * ops.convert_to_tensor(_inverse_wavelengths(size).astype(np.float32))[None, :]
            )
            even = ops.convert_to_tensor(np.arange(size) % 2 == 0)
            encoding = ops.where(even[None, :], ops.sin(angles), ops.cos(angles))
            return embeddings + ops.cast(encoding, embeddings.dtype)[None]

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class LearnedPositions(keras.layers.Layer):
        """Embeddings (batch, L, d) → embeddings + row p of a learned table at each position p.

        The table has `max_positions` rows, drawn uniformly from [−1, 1] (the range of the sinusoid's
        values) and learned like any weight. Only rows of positions that training sentences reach
        get gradients: the rows past the longest training sentence keep their random start, which is
        why such a model fails on longer sentences. Positions past the table reuse its last row.
        """

        def __init__(self, max_positions: int = MAX_POSITIONS, seed: int | None = None, **kwargs):
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

    return AttentionMask, SinusoidalPositions, LearnedPositions


# --------------------------------------------------------------------------------------------------
# Parameter counts (from the shared counter)
# --------------------------------------------------------------------------------------------------


def transformer_layer_counts(
    source_vocabulary_size: int, target_vocabulary_size: int, config: TransformerConfig | None = None, **changes
) -> list[LayerCount]:
    """Per-layer parameter counts of `build_transformer`'s model, in the order data flows through it.

    Embeddings and the learned position table are dense layers without bias on a one-hot input (a
    table lookup computes the same product). The sinusoidal encoding, the masks, the residual
    additions and dropout have no parameters. `config` (with `changes`) is the model's shape.
    """
    config = transformer_config(config, **changes)
    layers, heads, model_size = config.layers, config.heads, config.model_size
    feed_forward_size, positions, max_positions = config.feed_forward_size, config.positions, config.max_positions
    key_dim = model_size // heads
    counts: list[LayerCount] = []

    def add(name: str, count: LayerCount) -> None:
        counts.append(LayerCount(name, count.weights, count.biases, count.formula))

    def add_positions(language: str) -> None:
        if positions == "learned":
            add(
                f"{language} learned positions (a table)", count_dense_params(max_positions, model_size, use_bias=False)
            )
        elif positions == "sinusoidal":
            counts.append(LayerCount(f"{language} sinusoidal positions", 0, 0, "computed: no parameters"))

    def add_attention(name: str) -> None:
        add(f"{name} layer norm", count_layer_norm_params(model_size))
        add(f"{name} ({heads} heads of {key_dim})", count_multi_head_attention_params(model_size, heads, key_dim))

    def add_feed_forward(name: str) -> None:
        add(f"{name} feed-forward layer norm", count_layer_norm_params(model_size))
        add(f"{name} feed-forward hidden (ReLU)", count_dense_params(model_size, feed_forward_size))
        add(f"{name} feed-forward output", count_dense_params(feed_forward_size, model_size))

    if positions not in POSITIONS:
        raise ValueError(f"Unknown positions {positions!r}; expected one of {POSITIONS}.")
    add("English embedding", count_dense_params(source_vocabulary_size, model_size, use_bias=False))
    add_positions("English")
    for layer in range(1, layers + 1):
        add_attention(f"encoder {layer} self-attention")
        add_feed_forward(f"encoder {layer}")
    add("encoder output layer norm", count_layer_norm_params(model_size))
    add("French embedding", count_dense_params(target_vocabulary_size, model_size, use_bias=False))
    add_positions("French")
    for layer in range(1, layers + 1):
        add_attention(f"decoder {layer} self-attention")
        add_attention(f"decoder {layer} cross-attention")
        add_feed_forward(f"decoder {layer}")
    add("decoder output layer norm", count_layer_norm_params(model_size))
    add("softmax over French words", count_dense_params(model_size, target_vocabulary_size))
    return counts


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------

# `layer(name, make)` returns the layer called `name`: `make(name)` builds it fresh when the model is
# built, and the model's own layer is returned when a translator rebuilds a part of the graph. The
# two graphs are then the same code, so they cannot drift apart.
LayerSource = Callable[[str, Callable[[str], Any]], Any]
# The tensors around each attention layer, by its name: its query input, its key and value input,
# its mask and its weights, for the attention maps and the walkthrough.
Taps = dict[str, dict[str, Any]]


def _embedded(ids, language: str, vocabulary_size: int, settings: dict, layer: LayerSource, seed: int):
    """Word embeddings scaled by √d, plus positions, then dropout: (batch, length, d)."""
    import keras

    _, sinusoidal_class, learned_class = _keras_classes()
    size = settings["model_size"]
    # Word vectors start with variance 1/d, so that once scaled by √d (as in the paper) they have
    # variance 1, the scale of the sinusoid's values that are added to them.
    x = layer(
        f"{language}_embedding",
        lambda name: keras.layers.Embedding(
            vocabulary_size,
            size,
            name=name,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=size**-0.5, seed=seed),
        ),
    )(ids)
    x = layer(f"{language}_embedding_scale", lambda name: keras.layers.Rescaling(math.sqrt(size), name=name))(x)
    if settings["positions"] == "sinusoidal":
        x = layer(f"{language}_positions", lambda name: sinusoidal_class(name=name))(x)
    elif settings["positions"] == "learned":
        x = layer(
            f"{language}_positions", lambda name: learned_class(settings["max_positions"], seed=seed + 1, name=name)
        )(x)
    return layer(
        f"{language}_embedding_dropout",
        lambda name: keras.layers.Dropout(settings["dropout"], seed=seed + 2, name=name),
    )(x)


def _attention_block(x, memory, mask, name: str, settings: dict, layer: LayerSource, seed: int, taps: Taps, past=None):
    """x + Dropout(MultiHeadAttention(LayerNorm(x), memory, mask)): the pre-layer-norm residual
    block. `memory` is None for self-attention (keys and values are the normalized x itself). With
    `past` (self-attention of the decoder's newest position only), the keys and values are the earlier
    positions' normalized inputs `past` followed by this one's: `taps[name]["keys"]` is then the cache
    of the next step."""
    import keras
    from keras import ops

    normalized = layer(f"{name}_norm", lambda n: keras.layers.LayerNormalization(epsilon=_LAYER_NORM_EPSILON, name=n))(
        x
    )
    keys = normalized if memory is None else memory
    if past is not None:
        keys = ops.concatenate([past, normalized], axis=1)
    attention = layer(
        name,
        lambda n: keras.layers.MultiHeadAttention(
            num_heads=settings["heads"],
            key_dim=settings["model_size"] // settings["heads"],
            dropout=settings["dropout"],
            seed=seed,
            name=n,
        ),
    )
    output, weights = attention(
        query=normalized, value=keys, key=keys, attention_mask=mask, return_attention_scores=True
    )
    taps[name] = {"query": normalized, "keys": keys, "mask": mask, "weights": weights}
    output = layer(f"{name}_dropout", lambda n: keras.layers.Dropout(settings["dropout"], seed=seed + 1, name=n))(
        output
    )
    return layer(f"{name}_residual", lambda n: keras.layers.Add(name=n))([x, output])


def _feed_forward_block(x, name: str, settings: dict, layer: LayerSource, seed: int):
    """x + Dropout(W₂ ReLU(W₁ LayerNorm(x) + b₁) + b₂), applied to each position alike."""
    import keras

    normalized = layer(f"{name}_norm", lambda n: keras.layers.LayerNormalization(epsilon=_LAYER_NORM_EPSILON, name=n))(
        x
    )
    hidden = layer(
        f"{name}_hidden",
        lambda n: keras.layers.Dense(
            settings["feed_forward_size"],
            activation="relu",
            name=n,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        ),
    )(normalized)
    output = layer(
        f"{name}_output",
        lambda n: keras.layers.Dense(
            settings["model_size"], name=n, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1)
        ),
    )(hidden)
    output = layer(f"{name}_dropout", lambda n: keras.layers.Dropout(settings["dropout"], seed=seed + 2, name=n))(
        output
    )
    return layer(f"{name}_residual", lambda n: keras.layers.Add(name=n))([x, output])


def _encoder(source, source_vocabulary_size: int, settings: dict, layer: LayerSource, taps: Taps):
    """English ids (batch, S) → the encoder's output (batch, S, d)."""
    import keras

    mask_class, _, _ = _keras_classes()
    seed = settings["seed"]
    mask = layer("english_self_attention_mask", lambda name: mask_class(causal=False, name=name))([source, source])
    x = _embedded(source, "english", source_vocabulary_size, settings, layer, seed)
    for number in range(1, settings["layers"] + 1):
        x = _attention_block(
            x, None, mask, f"encoder_{number}_self_attention", settings, layer, seed + 100 * number, taps
        )
        x = _feed_forward_block(x, f"encoder_{number}_feed_forward", settings, layer, seed + 100 * number + 10)
    # Pre-layer-norm blocks add to a residual stream that is never normalized: one last layer norm.
    return layer(
        "encoder_output_norm", lambda name: keras.layers.LayerNormalization(epsilon=_LAYER_NORM_EPSILON, name=name)
    )(x)


def _decoder(
    target_in,
    source,
    encoder_output,
    target_vocabulary_size: int,
    settings: dict,
    layer: LayerSource,
    taps: Taps,
    past: list | None = None,
):
    """<s> + French ids (batch, T), English ids and the encoder's output → next-word probabilities (batch, T, vocab).

    With `past` (one tensor per layer: the normalized inputs of its self-attention at the earlier
    positions, (batch, T − 1, d)), only the last position is computed: probabilities (batch, 1, vocab).
    With the causal mask the earlier positions' values never change as the prefix grows, so this last
    row is the one the whole pass computes (a key-value cache; `TransformerTranslator` decodes with it).
    """
    import keras

    mask_class, _, _ = _keras_classes()
    seed = settings["seed"] + 1000
    cross_mask_layer = layer("cross_attention_mask", lambda name: mask_class(causal=False, name=name))
    y = _embedded(target_in, "french", target_vocabulary_size, settings, layer, seed)
    if past is None:
        self_mask = layer(
            "french_self_attention_mask", lambda name: mask_class(causal=settings["causal_mask"], name=name)
        )([target_in, target_in])
        queries = target_in
    else:
        # The newest position may read every real word of the prefix: the last row of the causal mask.
        queries = target_in[:, -1:]
        y = y[:, -1:, :]
        self_mask = cross_mask_layer([queries, target_in])
    cross_mask = cross_mask_layer([queries, source])
    for number in range(1, settings["layers"] + 1):
        y = _attention_block(
            y,
            None,
            self_mask,
            f"decoder_{number}_self_attention",
            settings,
            layer,
            seed + 100 * number,
            taps,
            past=None if past is None else past[number - 1],
        )
        y = _attention_block(
            y,
            encoder_output,
            cross_mask,
            f"decoder_{number}_cross_attention",
            settings,
            layer,
            seed + 100 * number + 10,
            taps,
        )
        y = _feed_forward_block(y, f"decoder_{number}_feed_forward", settings, layer, seed + 100 * number + 20)
    y = layer(
        "decoder_output_norm", lambda name: keras.layers.LayerNormalization(epsilon=_LAYER_NORM_EPSILON, name=name)
    )(y)
    return layer(
        "next_word",
        lambda name: keras.layers.Dense(
            target_vocabulary_size,
            activation="softmax",
            name=name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
        ),
    )(y)


@builds_graph
def transformer_encoder(source_vocabulary_size: int, seed: int = 0, **changes) -> keras.Model:
    """A fresh encoder alone, English ids (batch, S) → (batch, S, d), of the default `TransformerConfig`
    with `changes` to its fields."""
    import keras

    settings = {**transformer_config(**changes).shape(), "seed": seed}
    source = keras.Input(shape=(None,), dtype="int32")
    return keras.Model(source, _encoder(source, source_vocabulary_size, settings, lambda name, make: make(name), {}))


def attention_layer_names(layers: int) -> list[str]:
    """The names of every attention layer, encoder first, in the order data flows through them."""
    names = [f"encoder_{number}_self_attention" for number in range(1, layers + 1)]
    for number in range(1, layers + 1):
        names += [f"decoder_{number}_self_attention", f"decoder_{number}_cross_attention"]
    return names


@builds_graph
def build_transformer(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    config: TransformerConfig | None = None,
    seed: int = 0,
    **changes,
) -> keras.Model:
    """The teacher-forcing Transformer: [English ids, <s> + French ids] → next-word probabilities.

    Layer normalization comes before each attention and feed-forward block, inside the residual
    branch (pre-layer-norm, Xiong et al., 2020), with one more at the end of each stack; the paper
    normalized after the addition (post-layer-norm). Pre-layer-norm keeps an unnormalized residual
    path from the embeddings to the output, so the gradients reach the first layers at full
    strength and training is stable without the paper's learning-rate warm-up: the page trains
    with the same Adam and loss as the recurrent models (`lib.models.seq2seq.compile_seq2seq`).

    Every attention gets its mask as an explicit input, computed from the ids (see `AttentionMask`):
    no embedding masks <pad>. The layers are named so that `TransformerTranslator` can reuse them,
    and each attention layer's name ("encoder_1_self_attention", "decoder_1_cross_attention", …)
    is the one that its weights are reported under. The shape is `config` (the defaults if None) with
    `changes` to its fields; `seed` seeds every initial weight and dropout.
    """
    import keras

    config = transformer_config(config, **changes)
    if config.positions not in POSITIONS:
        raise ValueError(f"Unknown positions {config.positions!r}; expected one of {POSITIONS}.")
    if config.model_size % config.heads:
        raise ValueError(
            f"model_size ({config.model_size}) must be a multiple of heads ({config.heads}): each head gets d/h "
            "numbers."
        )
    layers = config.layers
    settings = {**config.shape(), "seed": seed}

    def fresh(name, make):
        return make(name)

    taps: Taps = {}
    source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
    target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
    encoder_output = _encoder(source, source_vocabulary_size, settings, fresh, taps)
    probabilities = _decoder(target_in, source, encoder_output, target_vocabulary_size, settings, fresh, taps)
    model = keras.Model([source, target_in], probabilities, name="transformer")
    for offset, name in enumerate(attention_layer_names(layers)):
        _seed_attention_kernels(model.get_layer(name), seed + 10_000 + 10 * offset)
    return model


def _seed_attention_kernels(attention, seed: int) -> None:
    """Draw the query, key, value and output kernels of a MultiHeadAttention from their own seeds.

    Given a seeded initializer, Keras's MultiHeadAttention hands a copy with the same seed to each of
    its four projections, so the query and key kernels would start equal; it is built unseeded, and
    its kernels are drawn here instead (Glorot uniform, as Keras's default), each from its own seed.
    """
    import keras

    projections = (attention.query_dense, attention.key_dense, attention.value_dense, attention.output_dense)
    for offset, projection in enumerate(projections):
        projection.kernel.assign(keras.initializers.GlorotUniform(seed=seed + offset)(projection.kernel.shape))


def transformer_settings(model: keras.Model) -> dict[str, Any]:
    """The `TransformerConfig` `build_transformer` was given, read off the model's layers, as a dict."""
    names = {layer.name for layer in model.layers}
    layers = sum(1 for name in names if re.fullmatch(r"encoder_\d+_self_attention", name))
    attention = model.get_layer("encoder_1_self_attention")
    positions = "none"
    max_positions = MAX_POSITIONS
    if "english_positions" in names:
        position_layer = model.get_layer("english_positions")
        positions = "learned" if hasattr(position_layer, "max_positions") else "sinusoidal"
        max_positions = getattr(position_layer, "max_positions", MAX_POSITIONS)
    return asdict(
        TransformerConfig(
            layers=layers,
            heads=int(attention.num_heads),
            model_size=int(model.get_layer("english_embedding").output_dim),
            feed_forward_size=int(model.get_layer("encoder_1_feed_forward_hidden").units),
            dropout=float(attention.dropout),
            positions=positions,
            causal_mask=bool(model.get_layer("french_self_attention_mask").causal),
            max_positions=int(max_positions),
        )
    )


def is_transformer_model(model) -> bool:
    model = getattr(model, "seq2seq", model)
    return any(layer.name == "encoder_1_self_attention" for layer in getattr(model, "layers", []))


# --------------------------------------------------------------------------------------------------
# The translator behind the decoding protocol
# --------------------------------------------------------------------------------------------------


class TransformerTranslator(Translator):
    """A Transformer ready to decode one word at a time, sharing the training model's layers.

    Its decoding state is [encoder output (batch, S, d), English ids (batch, S), French prefix
    (batch, t)], then, when it decodes incrementally, one cache per decoder layer (the normalized
    inputs of its self-attention at the prefix's positions, (batch, t, d)); all with the batch first,
    so beam search can reorder them. Each `step` appends the previous word to the prefix and computes
    the decoder at that newest position only, its self-attention reading the earlier positions from
    the cache: with the causal mask, the earlier positions' values are the same as before, so this is
    the last row of the whole pass, at a fraction of its cost (greedy decoding of the 500 held-out
    sentences by the shipped model: 2.2 CPU s against 5.1, docs/press-cost.md). Without the causal mask every position changes as the prefix grows,
    and each step runs the decoder over the whole prefix; so it does when `incremental` is set False
    (the tests compare both). `extras["attention"]` is the newest position's cross-attention in the
    last decoder layer, averaged over its heads: (batch, S).
    """

    MODEL_FILE = MODEL_FILE
    DIRECTORY = TRANSFORMER_DIRECTORY

    @classmethod
    def register_layers(cls) -> None:
        _keras_classes()  # Registers the mask and position layers.

    @builds_graph
    def __init__(self, model: keras.Model, source_vocabulary: Vocabulary, target_vocabulary: Vocabulary):
        import keras
        import tensorflow as tf

        self.model = getattr(model, "seq2seq", model)  # A trainer holds the seq2seq model.
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.settings = transformer_settings(self.model)
        self.attention_names = attention_layer_names(self.settings["layers"])
        size = self.settings["model_size"]
        settings = {**self.settings, "seed": 0}  # The seed only matters for fresh layers; these are reused.

        def reused(name, make):
            return self.model.get_layer(name)

        source = keras.Input(shape=(None,), dtype="int32")
        target_in = keras.Input(shape=(None,), dtype="int32")
        encoder_output = keras.Input(shape=(None, size))
        encoder_taps: Taps = {}
        self.encoder_model = keras.Model(
            source, _encoder(source, len(source_vocabulary), settings, reused, encoder_taps)
        )
        decoder_taps: Taps = {}
        probabilities = _decoder(
            target_in, source, encoder_output, len(target_vocabulary), settings, reused, decoder_taps
        )
        last_cross = decoder_taps[f"decoder_{self.settings['layers']}_cross_attention"]["weights"]
        self.decoder_model = keras.Model([target_in, source, encoder_output], [probabilities, last_cross])
        # The decoder at the newest position only, its self-attention keys read from a cache.
        self.incremental = bool(self.settings["causal_mask"])
        past = [keras.Input(shape=(None, size)) for _ in range(self.settings["layers"])]
        step_taps: Taps = {}
        step_probabilities = _decoder(
            target_in, source, encoder_output, len(target_vocabulary), settings, reused, step_taps, past=past
        )
        self.step_model = keras.Model(
            [target_in, source, encoder_output, *past],
            [
                step_probabilities,
                step_taps[f"decoder_{self.settings['layers']}_cross_attention"]["weights"],
                *(step_taps[f"decoder_{number}_self_attention"]["keys"] for number in range(1, len(past) + 1)),
            ],
        )

        # The whole teacher-forced pass once more, this time keeping the tensors around every
        # attention layer: the page's maps and walkthrough read them.
        self._taps: Taps = {}
        _decoder(
            target_in,
            source,
            _encoder(source, len(source_vocabulary), settings, reused, self._taps),
            len(target_vocabulary),
            settings,
            reused,
            self._taps,
        )
        self._tap_inputs = [source, target_in]
        self.attention_model = keras.Model(
            self._tap_inputs, {name: self._taps[name]["weights"] for name in self.attention_names}
        )
        self._walkthrough_models: dict[str, keras.Model] = {}

        # Compiled graphs with unknown batch and lengths: traced once, never again per length.
        ids_spec = tf.TensorSpec((None, None), tf.int32)
        self._encode = tf.function(lambda ids: self.encoder_model(ids, training=False), input_signature=[ids_spec])
        # A step reads the word just decoded, the encoder's output, the source and the prefix; the incremental
        # step also reads the cache of each layer's earlier positions.
        step_spec = [
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None, None, size), tf.float32),
            ids_spec,
            ids_spec,
        ]
        self._step = tf.function(self._traced_step, input_signature=step_spec)
        self._incremental_step = tf.function(
            self._traced_incremental_step,
            input_signature=[*step_spec, *(tf.TensorSpec((None, None, size), tf.float32) for _ in past)],
        )
        self._teacher_forced = tf.function(
            lambda source, target: self.model([source, target], training=False), input_signature=[ids_spec, ids_spec]
        )
        self._attention = tf.function(
            lambda source, target: self.attention_model([source, target], training=False),
            input_signature=[ids_spec, ids_spec],
        )

    def _traced_step(self, previous, encoder_output, source, prefix):
        from keras import ops

        prefix = ops.concatenate([prefix, ops.expand_dims(previous, 1)], axis=1)
        probabilities, cross = self.decoder_model([prefix, source, encoder_output], training=False)
        return probabilities[:, -1, :], prefix, ops.mean(cross[:, :, -1, :], axis=1)

    def _traced_incremental_step(self, previous, encoder_output, source, prefix, *past):
        from keras import ops

        prefix = ops.concatenate([prefix, ops.expand_dims(previous, 1)], axis=1)
        probabilities, cross, *past = self.step_model([prefix, source, encoder_output, *past], training=False)
        return probabilities[:, -1, :], prefix, ops.mean(cross[:, :, -1, :], axis=1), *past

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]:
        source_ids = np.asarray(source_ids, dtype=np.int32)
        if source_ids.ndim == 1:
            source_ids = source_ids[None, :]
        encoder_output = np.asarray(self._encode(source_ids))
        state = [encoder_output, source_ids, np.zeros((len(source_ids), 0), dtype=np.int32)]
        if self.incremental:
            empty = np.zeros((len(source_ids), 0, self.settings["model_size"]), dtype=np.float32)
            state += [empty] * self.settings["layers"]
        return state

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]:
        encoder_output, source_ids, prefix, *past = state
        previous = np.asarray(previous_ids, dtype=np.int32).reshape(-1)
        if past:  # a state made by `encode` while `incremental` was set
            probabilities, prefix, attention, *past = self._incremental_step(
                previous, encoder_output, source_ids, prefix, *past
            )
        else:
            probabilities, prefix, attention = self._step(previous, encoder_output, source_ids, prefix)
        return (
            np.asarray(probabilities),
            [encoder_output, source_ids, np.asarray(prefix), *(np.asarray(cache) for cache in past)],
            {"attention": np.asarray(attention)},
        )

    def attention_maps(self, source_ids: Sequence[int], target_in: Sequence[int]) -> dict[str, np.ndarray]:
        """Every attention layer's weights for one sentence, by layer name: (heads, queries, keys).

        `target_in` is the decoder's input, <s> first. Encoder self-attention is (heads, S, S),
        decoder self-attention (heads, T, T), cross-attention (heads, T, S).
        """
        maps = self._attention(
            np.asarray([list(source_ids)], dtype=np.int32), np.asarray([list(target_in)], dtype=np.int32)
        )
        return {name: np.asarray(maps[name])[0] for name in self.attention_names}

    def attention_tensors(
        self, source_ids: Sequence[int], target_in: Sequence[int], name: str
    ) -> dict[str, np.ndarray]:
        """The tensors around attention layer `name` for one sentence: its query input (T, d), its key
        and value input (S, d), its mask (T, S) and its weights (heads, T, S)."""
        import keras

        if name not in self._walkthrough_models:
            tap = self._taps[name]
            with GRAPH_LOCK:
                self._walkthrough_models[name] = keras.Model(
                    self._tap_inputs, [tap["query"], tap["keys"], tap["mask"], tap["weights"]]
                )
        query, keys, mask, weights = self._walkthrough_models[name](
            [np.asarray([list(source_ids)], dtype=np.int32), np.asarray([list(target_in)], dtype=np.int32)],
            training=False,
        )
        return {
            "query": np.asarray(query)[0],
            "keys": np.asarray(keys)[0],
            "mask": np.asarray(mask)[0].astype(bool),
            "weights": np.asarray(weights)[0],
        }


@builds_graph
def encoder_without_positions(translator: TransformerTranslator) -> keras.Model:
    """The translator's encoder, with its trained weights, minus the position encoding: English ids →
    (batch, S, d). Self-attention and the per-word network treat every position alike, so this
    encoder sees a bag of words: shuffling the input only shuffles its output rows."""
    import keras

    settings = {**translator.settings, "seed": 0, "positions": "none"}
    source = keras.Input(shape=(None,), dtype="int32")
    return keras.Model(
        source,
        _encoder(
            source, len(translator.source_vocabulary), settings, lambda name, make: translator.model.get_layer(name), {}
        ),
    )


def encoder_outputs(translator: TransformerTranslator, source_ids) -> np.ndarray:
    """The encoder's output: (words, d) for one sentence of ids, (sentences, words, d) for a batch."""
    source_ids = np.asarray(source_ids, dtype=np.int32)
    output = translator.encode(source_ids)[0]
    return output[0] if source_ids.ndim == 1 else output


# --------------------------------------------------------------------------------------------------
# One head by hand
# --------------------------------------------------------------------------------------------------


def softmax_rows(masked_scores: np.ndarray) -> np.ndarray:
    """Softmax of each row, where −∞ is a masked key; a row masked entirely becomes all zeros, as in
    Keras 3.15 (its masked softmax zeroes the masked weights, so such a row attends to nothing and the
    head's output there is the bias alone), not a uniform row."""
    largest = masked_scores.max(axis=-1, keepdims=True)
    # Shifting by the row's largest score keeps exp() from overflowing; a fully masked row has none.
    exponentials = np.exp(masked_scores - np.where(np.isfinite(largest), largest, 0.0))
    totals = exponentials.sum(axis=-1, keepdims=True)
    return np.where(totals > 0, exponentials / np.where(totals > 0, totals, 1.0), 0.0)


def head_walkthrough(
    translator: TransformerTranslator,
    source_ids: Sequence[int],
    layer_name: str = "encoder_1_self_attention",
    head: int = 0,
    target_in: Sequence[int] | None = None,
) -> dict[str, Any]:
    """One head of one attention layer, computed step by step in NumPy for one sentence.

    X is the layer's query input (words × d): with pre-layer-norm, the layer-normalized residual
    stream. For self-attention the keys and values are computed from X too; for cross-attention
    from X_keys, the encoder's output. Then Q = X·W_Q + b_Q, K = X_keys·W_K + b_K, V = X_keys·W_V +
    b_V (each d × d_k for this head), scores = Q·Kᵀ, scaled by 1/√d_k, masked (−∞ where the mask is
    False), softmax row by row, and output = weights·V: this head's share of the layer's output
    before the output projection W_O (whose rows for this head are returned too).
    `keras_weights` is what the Keras layer itself computed for the head, to compare with `weights`.

    Decoder layers need the decoder's input `target_in` (<s> first); by default it is <s> and the
    model's own greedy translation of the sentence.
    """
    from keras import ops

    source_ids = [int(i) for i in source_ids]
    if target_in is None:
        target_in = [START_ID]
        if not layer_name.startswith("encoder_"):
            target_in = [START_ID, *greedy_decode(translator, source_ids).token_ids]
    target_in = [int(i) for i in target_in]
    attention = translator.model.get_layer(layer_name)
    if not 0 <= head < attention.num_heads:
        raise ValueError(f"{layer_name} has {attention.num_heads} heads; head {head} does not exist.")
    tensors = translator.attention_tensors(source_ids, target_in, layer_name)

    def part(projection) -> tuple[np.ndarray, np.ndarray]:
        kernel = ops.convert_to_numpy(projection.kernel).astype(np.float64)
        bias = ops.convert_to_numpy(projection.bias).astype(np.float64)
        return kernel[:, head, :], bias[head]

    x = tensors["query"].astype(np.float64)
    x_keys = tensors["keys"].astype(np.float64)
    w_q, b_q = part(attention.query_dense)
    w_k, b_k = part(attention.key_dense)
    w_v, b_v = part(attention.value_dense)
    w_o = ops.convert_to_numpy(attention.output_dense.kernel).astype(np.float64)[head]
    key_dim = w_q.shape[1]
    q, k, v = x @ w_q + b_q, x_keys @ w_k + b_k, x_keys @ w_v + b_v
    scores = q @ k.T
    scaled = scores / math.sqrt(key_dim)
    mask = tensors["mask"]
    masked = np.where(mask, scaled, -np.inf)
    weights = softmax_rows(masked)
    output = weights @ v

    def words(vocabulary: Vocabulary, ids: list[int]) -> list[str]:
        return [vocabulary.words[i] if 0 <= i < len(vocabulary) else "<unk>" for i in ids]

    english, french = words(translator.source_vocabulary, source_ids), words(translator.target_vocabulary, target_in)
    query_words = english if layer_name.startswith("encoder_") else french
    key_words = english if layer_name.startswith("encoder_") or "_cross_" in layer_name else french
    return {
        "layer": layer_name,
        "head": head,
        "key_dim": key_dim,
        "query_words": query_words,
        "key_words": key_words,
        "X": x,
        "X_keys": x_keys,
        "W_Q": w_q,
        "b_Q": b_q,
        "W_K": w_k,
        "b_K": b_k,
        "W_V": w_v,
        "b_V": b_v,
        "W_O": w_o,
        "Q": q,
        "K": k,
        "V": v,
        "scores": scores,
        "scaled_scores": scaled,
        "mask": mask,
        "masked_scores": masked,
        "weights": weights,
        "output": output,
        "output_projected": output @ w_o,
        "keras_weights": tensors["weights"][head].astype(np.float64),
    }


# --------------------------------------------------------------------------------------------------
# Silencing heads
# --------------------------------------------------------------------------------------------------


@builds_graph
def with_heads_silenced(translator: TransformerTranslator, silenced: set[tuple[str, int]]) -> TransformerTranslator:
    """A translator over a copy of the model in which each (attention layer name, head) in `silenced`
    contributes nothing: its rows of the layer's output projection are zero.

    The model itself is never touched (one model serves every session of the app): it is cloned
    (same layers, fresh weights) and its weights copied over, then the silenced heads' rows of
    the copy's W_O are zeroed. The output projection's bias, shared by all heads, is kept.
    """
    import keras

    for name, head in silenced:
        if name not in translator.attention_names:
            raise ValueError(f"No attention layer named {name!r}; expected one of {translator.attention_names}.")
        if not 0 <= head < translator.settings["heads"]:
            raise ValueError(
                f"Head {head} of {name} does not exist; the model has {translator.settings['heads']} heads."
            )
    _keras_classes()  # The clone rebuilds the custom layers from their configs.
    copy = keras.models.clone_model(translator.model)
    copy.set_weights(translator.model.get_weights())
    for name in {name for name, _ in silenced}:
        projection = copy.get_layer(name).output_dense
        kernel = keras.ops.convert_to_numpy(projection.kernel).copy()
        kernel[[head for layer_name, head in silenced if layer_name == name]] = 0.0
        projection.kernel.assign(kernel)
    return TransformerTranslator(copy, translator.source_vocabulary, translator.target_vocabulary)


def knockout_bleu(translator: TransformerTranslator, pairs: Sequence[tuple[str, str]]) -> float:
    """Greedy corpus BLEU of a translator (one with heads silenced, say) on these pairs, decoded in one batch."""
    encoded = encode_pairs(list(pairs), translator.source_vocabulary, translator.target_vocabulary)
    outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
    hypotheses = [translator.target_vocabulary.decode(tokens) for tokens in outputs]
    references = [
        translator.target_vocabulary.decode(translator.target_vocabulary.encode(french)) for _, french in pairs
    ]
    return corpus_bleu(hypotheses, references)


# --------------------------------------------------------------------------------------------------
# Shuffling the English words: what the encoder does with order
# --------------------------------------------------------------------------------------------------


def changing_order(ids, seed: int = 0, tries: int = 20) -> np.ndarray | None:
    """A seeded permutation of the positions that changes the sequence of ids (a shuffle of a few words
    can return them in order, or swap two equal words), or None when no permutation can: fewer than
    two different words."""
    ids = np.asarray(ids)
    if len(set(ids.tolist())) < 2:
        return None
    generator = np.random.default_rng(seed)
    for _ in range(tries):
        order = generator.permutation(len(ids))
        if not np.array_equal(ids[order], ids):
            return order
    return np.roll(np.arange(len(ids)), -1)  # A rotation by one changes any sequence not made of one word.


def permutation_differences(
    translator: TransformerTranslator,
    source_ids: Sequence[int],
    without_positions: Callable[[], keras.Model] | None = None,
) -> dict[str, Any]:
    """Shuffle the sentence (`changing_order`, seeded by its length) and compare the encoder's outputs
    with the original outputs permuted the same way: {"order": the permutation (None: the sentence
    cannot be shuffled), "model": the largest difference for the model's own encoder, and, for a model
    with positions, "without": the same for its encoder minus the position encoding}.
    `without_positions` returns that encoder (`encoder_without_positions` by default)."""
    source_ids = list(source_ids)
    order = changing_order(source_ids, seed=len(source_ids))
    if order is None:
        return {"order": None}
    shuffled = [source_ids[i] for i in order]
    result = {"order": order}
    model = translator.encode(np.asarray([source_ids], dtype=np.int32))[0][0]
    model_shuffled = translator.encode(np.asarray([shuffled], dtype=np.int32))[0][0]
    result["model"] = float(np.abs(model_shuffled - model[order]).max())
    if translator.settings["positions"] != "none":
        plain = without_positions() if without_positions is not None else encoder_without_positions(translator)
        original_rows = np.asarray(plain(np.asarray([source_ids], dtype=np.int32), training=False))[0]
        shuffled_rows = np.asarray(plain(np.asarray([shuffled], dtype=np.int32), training=False))[0]
        result["without"] = float(np.abs(shuffled_rows - original_rows[order]).max())
    return result


# --------------------------------------------------------------------------------------------------
# Saving and loading (the Translator's pattern: a .keras file and both vocabularies in one folder)
# --------------------------------------------------------------------------------------------------


save_transformer_translator = TransformerTranslator.save
load_transformer_translator = TransformerTranslator.load


# --------------------------------------------------------------------------------------------------
# Cost against length
# --------------------------------------------------------------------------------------------------

# Operations per attention score besides the two matrix products: scaling, masking, the softmax's
# shift by the row's largest score, exponential and division.
SOFTMAX_OPERATIONS_PER_SCORE = 5


def encoder_flops(
    length: int, model_size: int, feed_forward_size: int, heads: int, layers: int = 2
) -> dict[str, float]:
    """Floating-point operations of one sentence of `length` words through the encoder's layers, by part.

    A product of an (m × n) and an (n × p) matrix costs 2·m·n·p operations. Per layer: the query, key,
    value and output projections, 4 · 2·L·d²; the scores Q·Kᵀ, h heads of 2·L²·(d/h), that is 2·L²·d;
    the softmax, about `SOFTMAX_OPERATIONS_PER_SCORE` per score, h·L² scores; the weights times V,
    2·L²·d again; the feed-forward network, 2 · 2·L·d·d_ff. Only the scores, their softmax and the
    weights times V grow with L² ("attention" here); the projections and feed-forward network grow
    with L, so attention outweighs them only once L passes about 4d (with d_ff = 2d).
    """
    size, hidden = model_size, feed_forward_size
    projections = 4 * 2 * length * size * size
    feed_forward = 2 * 2 * length * size * hidden
    attention = 2 * 2 * length * length * size + SOFTMAX_OPERATIONS_PER_SCORE * heads * length * length
    return {
        "projections": layers * projections,
        "feed-forward": layers * feed_forward,
        "attention": layers * attention,
        "attention share": attention / (projections + feed_forward + attention),
    }


TRANSFORMER_COST_NAME = "Transformer encoder (self-attention)"
GRU_COST_NAME = "GRU encoder (recurrence)"
COST_PASSES = ("forward pass", "training step")


def encoder_timings(
    model_size: int = 128,
    lengths: Sequence[int] = (16, 32, 64, 128, 256, 512, 1024, 2048),
    repeats: int = 3,
    sentences: int = 1,
    vocabulary_size: int = 171,
    budget_seconds: float | None = None,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Time of one forward pass and of one training step, on `sentences` random sentences of each length,
    of a Transformer encoder (the default `TransformerConfig`'s layers and heads, d_ff = 2d, no dropout) and of a GRU
    encoder of the same width: measured on this machine, now, the median of `repeats` after a first
    traced call. Rows {"model": "<encoder>, <pass>", "length", "milliseconds"}, and the lengths left out.

    The lengths are measured from the shortest up; with `budget_seconds`, a length whose measure would
    end past the budget (counting the time so far, tracing included, and four times the last length's
    calls, or more for a longer step) is left out, and so are all the longer ones.
    """
    import keras
    import tensorflow as tf

    lengths = sorted(int(length) for length in lengths)
    transformer = transformer_encoder(
        vocabulary_size,
        model_size=model_size,
        feed_forward_size=2 * model_size,
        dropout=0.0,
        max_positions=max(lengths) + 1,
    )
    with GRAPH_LOCK:  # One thread at a time builds Keras graphs (lib/engine/graph_lock.py).
        gru_input = keras.Input(shape=(None,), dtype="int32")
        recurrent = keras.Model(
            gru_input,
            keras.layers.GRU(model_size, return_sequences=True)(
                keras.layers.Embedding(vocabulary_size, model_size)(gru_input)
            ),
        )
    functions = []
    for name, model in ((TRANSFORMER_COST_NAME, transformer), (GRU_COST_NAME, recurrent)):
        optimizer = keras.optimizers.SGD(0.0)
        forward = tf.function(
            lambda ids, model=model: model(ids, training=False), input_signature=[tf.TensorSpec((None, None), tf.int32)]
        )

        def train_step(ids, model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(ids, training=True)))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            return loss

        step = tf.function(train_step, input_signature=[tf.TensorSpec((None, None), tf.int32)])
        functions += [(f"{name}, {COST_PASSES[0]}", forward), (f"{name}, {COST_PASSES[1]}", step)]

    rows: list[dict[str, Any]] = []
    generator = np.random.default_rng(0)
    started = time.perf_counter()
    last_seconds = None
    for index, length in enumerate(lengths):
        if budget_seconds is not None and last_seconds is not None:
            growth = max(4.0, (length / lengths[index - 1]) ** 2)
            if time.perf_counter() - started + growth * last_seconds > budget_seconds:
                return rows, lengths[index:]
        ids = generator.integers(4, vocabulary_size, size=(sentences, length)).astype(np.int32)
        last_seconds = 0.0
        for label, function in functions:
            function(ids)  # Traced at the first length only (any length fits the signature); not timed.
            timings = []
            for _ in range(repeats):
                begun = time.perf_counter()
                np.asarray(function(ids))
                timings.append(time.perf_counter() - begun)
            rows.append({"model": label, "length": length, "milliseconds": 1000 * float(np.median(timings))})
            last_seconds += (repeats + 1) * float(np.median(timings))  # A length's calls, the untimed one too.
    return rows, []
