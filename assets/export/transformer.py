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
from dataclasses import dataclass
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

# %% include: arguments

# %% include: translator_data


# %% The model: the app's three small layers (the attention mask and the two kinds of positions)
# %% include: lib.models.transformer: AttentionMask, _inverse_wavelengths, SinusoidalPositions, LearnedPositions


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


# %% include: translator_training
