"""Train the attention translator of RNN Playground's "Attention" page again, with plain Keras.

The sentence pairs are the run's own (train_pairs.tsv: English, a tab, French; held_out_pairs.tsv: the
pairs the page measured it on), read with the run's vocabularies (english_vocabulary.json and
french_vocabulary.json: <pad>, <s>, </s>, <unk>, then the words by falling frequency; a word not in them
reads as <unk>). The model is the page's (Luong et al., 2015): a bidirectional GRU encoder whose states are
the bank z₁…zₙ, a GRU decoder whose state at each step is the query q, attention with the run's score
(dot q·zᵢ, general q·W·zᵢ or additive v·tanh(W₁q + W₂zᵢ)) giving each step its own summary of the English
sentence, then tanh(W[q; summary]) and the softmax over French words. Same layers, same seeded initialisers.
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
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import ops

# %% The run's settings (filled in by the app when it exported the run)
# --- settings
SCORE = "dot"  # "dot", "general" or "additive"
UNITS = 256  # the decoder's; the encoder has half of them in each direction
EMBEDDING_SIZE = 64
EPOCHS = 2
BATCH_SIZE = 64
LEARNING_RATE = 0.006  # Adam's peak step size, decayed along a cosine to 5 % of it
SAMPLING_PROBABILITY = 0.0  # scheduled sampling's p (0: teacher forcing only)
SEED = 0
# --- end of settings

# %% include: arguments

# %% include: translator_data


# %% The model: the app's two layers (the mask, and attention with its score), then Keras layers
# %% include: lib.models.attention: _MASKED_SCORE, SCORES, SourceMask, ContentAttention


source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
mask = SourceMask(name="english_mask")(source)
x = keras.layers.Embedding(
    len(english_ids),
    EMBEDDING_SIZE,
    mask_zero=True,
    embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=SEED),
    name="english_embedding",
)(source)
# The encoder: a bidirectional GRU, half the units each way; its states zᵢ are the bank attention reads.
bank, forward_state, backward_state = keras.layers.Bidirectional(
    keras.layers.GRU(
        UNITS // 2,
        return_sequences=True,
        return_state=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 10),
        recurrent_initializer=keras.initializers.Orthogonal(seed=SEED + 11),
    ),
    name="encoder",
)(x)
start_state = keras.layers.Concatenate(name="encoder_final_states")([forward_state, backward_state])
y = keras.layers.Embedding(
    len(french_ids),
    EMBEDDING_SIZE,
    embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=SEED + 1),
    name="french_embedding",
)(target_in)
# The decoder: a GRU over the French words; its state at each step is the query q.
queries, _ = keras.layers.GRU(
    UNITS,
    return_sequences=True,
    return_state=True,
    kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 20),
    recurrent_initializer=keras.initializers.Orthogonal(seed=SEED + 21),
    name="decoder",
)(y, initial_state=start_state)
summaries, _weights = ContentAttention(SCORE, seed=SEED + 40, name="attention")([queries, bank, mask])
# Luong's attentional layer: tanh(W[q; z]), then the softmax over French words.
joined = keras.layers.Concatenate(name="query_and_summary")([queries, summaries])
attentional = keras.layers.Dense(
    UNITS, activation="tanh", name="attentional", kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 30)
)(joined)
probabilities = keras.layers.Dense(
    len(french_ids),
    activation="softmax",
    name="next_word",
    kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 2),
)(attentional)
model = keras.Model([source, target_in], probabilities, name=f"attention_seq2seq_{SCORE}")
model.summary()


# %% include: translator_training
