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
from dataclasses import dataclass
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

# %% include: arguments

# %% include: translator_data


# %% The model: the app's two small layers and its recurrent layers (the page's seeds), then the page's graph
# %% include: lib.models.seq2seq: ReverseTokens, RepeatAlongTime, CELLS, _recurrent_layer, _with_context


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
    x, *states = _recurrent_layer(CELL, UNITS, f"encoder_{layer + 1}", SEED + 10 * (layer + 1))(x)
    encoder_states.append(states)
y = keras.layers.Embedding(
    len(french_ids),
    EMBEDDING_SIZE,
    embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=SEED + 1),
    name="french_embedding",
)(target_in)
context = encoder_states[-1][0]  # the last encoder layer's output after the last real word
if CONTEXT_EVERY_STEP:
    y = _with_context(y, context, "word_and_context")
for layer in range(LAYERS):
    decoder = _recurrent_layer(CELL, UNITS, f"decoder_{layer + 1}", SEED + 100 + 10 * (layer + 1))
    y, *_ = decoder(y, initial_state=encoder_states[layer])
if CONTEXT_EVERY_STEP:
    y = _with_context(y, context, "state_and_context")
probabilities = keras.layers.Dense(
    len(french_ids),
    activation="softmax",
    kernel_initializer=keras.initializers.GlorotUniform(seed=SEED + 2),
    name="next_word",
)(y)
model = keras.Model([source, target_in], probabilities, name=f"seq2seq_{CELL.lower()}")
model.summary()


# %% include: translator_training
