"""Stop every trained model's training graph from staying in memory for the life of the process.

Keras 3's TensorFlow optimizer sums each batch's gradients across replicas with
`tf.distribute.get_replica_context().all_reduce`, also when there is no distribution strategy and so
one replica. TensorFlow implements that all-reduce with `tf.custom_gradient`, which in a traced
function registers a new gradient function under a new name ("CustomGradient-N") in TensorFlow's
process-wide gradient registry, and never removes it. That function closes over the traced train
step, so every model ever trained in the process keeps its whole training graph (the train step,
the optimizer's branches, a recurrent layer's loop and its gradient), whether or not anyone still
holds the model: measured on the Recurrence page's press (four small models), about 45 MB that
never came back per press, in a process that serves a whole room.

With one replica the sum over replicas is each gradient itself, so the patch returns the gradients
unchanged there and leaves every distributed case to Keras. Nothing process-wide is reset.
"""

from __future__ import annotations

_PATCHED_FLAG = "_rnn_playground_one_replica_gradients"


def sum_gradients_without_registering_them() -> None:
    """Make Keras's TF optimizer skip the one-replica all-reduce; safe to call before every training."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import optimizer as tensorflow_optimizer

    optimizer_class = tensorflow_optimizer.TFOptimizer
    original = getattr(optimizer_class, "_all_reduce_sum_gradients", None)
    if original is None:
        raise RuntimeError(
            "keras.src.backend.tensorflow.optimizer.TFOptimizer._all_reduce_sum_gradients is gone: check whether "
            "this Keras version still registers a custom gradient per traced train step before removing this patch."
        )
    if getattr(original, _PATCHED_FLAG, False):
        return

    def all_reduce_sum_gradients(self, grads_and_vars):
        # Inside a real strategy's replica (several devices or workers), Keras's own all-reduce is needed.
        if tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync != 1:
            return original(self, grads_and_vars)
        return list(grads_and_vars)

    setattr(all_reduce_sum_gradients, _PATCHED_FLAG, True)
    optimizer_class._all_reduce_sum_gradients = all_reduce_sum_gradients
