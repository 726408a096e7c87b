"""Keras model builders shared by the pages: small named functions, functional API, seeded initializers.

Keras is imported inside each builder, so importing this module does not load TensorFlow. Seeds go
to the initializers rather than `keras.utils.set_random_seed`, which would reseed every session
of the process at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from lib.engine.graph_lock import builds_graph


def held_out_batches(x, y, batch_size: int = 1024):
    """Held-out (x, y) as a tf.data pipeline built once, in batches of `batch_size`, for `fit`'s `validation_data`.

    Given arrays, Keras builds a new pipeline from them at every validation, in batches of the
    training's size: on these pages' small models that cost more CPU than the training steps
    themselves (Parameter sharing: half of a press). Built once, a validation is one or two steps.
    The figures are the same: every held-out example counts once, weighted as before.
    """
    import numpy as np
    import tensorflow as tf

    def as_tensor_ready(values):
        values = np.asarray(values)
        return values.astype(np.float32) if np.issubdtype(values.dtype, np.floating) else values

    return tf.data.Dataset.from_tensor_slices((as_tensor_ready(x), as_tensor_ready(y))).batch(batch_size)


def _dense_initializer(seed: int):
    import keras

    return keras.initializers.GlorotUniform(seed=seed)


@builds_graph
def build_mlp(
    input_shape: Sequence[int], hidden_sizes: Sequence[int], outputs: int, *, seed: int = 0, name: str = "mlp"
):
    """A multilayer perceptron: flatten the input, then fully connected ReLU layers, then softmax.

    Every hidden unit sees every pixel, which is why its first layer's weights grow with the image.
    """
    import keras

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    hidden = keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(hidden_sizes, start=1):
        hidden = keras.layers.Dense(
            units, activation="relu", kernel_initializer=_dense_initializer(seed + index), name=f"hidden_{index}"
        )(hidden)
    outputs_layer = keras.layers.Dense(
        outputs, activation="softmax", kernel_initializer=_dense_initializer(seed), name="output"
    )(hidden)
    return keras.Model(inputs, outputs_layer, name=name)


@builds_graph
def build_small_convnet(
    input_shape: Sequence[int],
    outputs: int,
    *,
    filters: Sequence[int] = (16, 32),
    kernel_size: int = 3,
    seed: int = 0,
    name: str = "convnet",
):
    """A ConvNet whose size does not depend on the image: shared 3×3 kernels, then global average pooling.

    Global pooling summarises each feature map by one number, so the classifier on top sees
    `filters[-1]` values whatever the image's height and width.
    """
    import keras

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    features = inputs
    for index, count in enumerate(filters, start=1):
        features = keras.layers.Conv2D(
            count,
            kernel_size,
            padding="same",
            activation="relu",
            kernel_initializer=keras.initializers.HeUniform(seed=seed + index),
            name=f"conv_{index}",
        )(features)
    pooled = keras.layers.GlobalAveragePooling2D(name="global_pool")(features)
    outputs_layer = keras.layers.Dense(
        outputs, activation="softmax", kernel_initializer=_dense_initializer(seed), name="output"
    )(pooled)
    return keras.Model(inputs, outputs_layer, name=name)


def compile_classifier(model, learning_rate: float = 1e-3):
    """Adam on sparse categorical cross-entropy, reporting accuracy: the setting every digit demo uses."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
