# %% Train, and keep the curves and the model beside the run's own
history = model.fit(
    x_train,
    y_train,
    validation_data=(x_validation, y_validation),
    epochs=arguments.epochs,
    batch_size=BATCH_SIZE,
    verbose=2,
)
# %% include: keep_rerun
