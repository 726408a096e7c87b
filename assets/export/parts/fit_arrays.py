# %% Batches in the run's own order: every epoch, the examples shuffled by NumPy's default_rng([SEED, epoch])
# %% include: lib.engine.training: SeededBatches


# %% Train, and keep the curves and the model beside the run's own
# shuffle=False: Keras would otherwise shuffle the batches again, from a random state of its own.
history = model.fit(
    SeededBatches(x_train, y_train, BATCH_SIZE, SEED),
    validation_data=(x_validation, y_validation),
    epochs=arguments.epochs,
    shuffle=False,
    verbose=2,
)
# %% include: keep_rerun
