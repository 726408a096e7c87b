# %% Loss, metric and trainer: <pad> counts for nothing; with scheduled sampling (p > 0) the decoder reads
# some of its own guesses
# %% include: lib.models.seq2seq: masked_crossentropy, TokenAccuracy, Seq2SeqTrainer


# The step size decays over the run's planned epochs, so that `--epochs 1` trains the run's first epoch.
planned_steps = max(1, max(EPOCHS, arguments.epochs) * len(batches))
trainer = Seq2SeqTrainer(model, SAMPLING_PROBABILITY, SEED, name=f"{model.name}_trainer")
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
    validation_data=((held_out.encoder_input, held_out.decoder_input), held_out.decoder_target),
    epochs=arguments.epochs,
    shuffle=False,
    verbose=2,
)
# %% include: keep_rerun

# %% Greedy translations of a few held-out sentences
french_words = {index: word for word, index in french_ids.items()}
for row in range(min(5, len(held_out_pairs))):
    source_ids = held_out.encoder_input[row : row + 1]
    written = [START_ID]
    for _ in range(2 * int((source_ids != PAD_ID).sum()) + 5):
        next_id = int(model.predict([source_ids, np.array([written], dtype=np.int32)], verbose=0)[0, -1].argmax())
        if next_id == END_ID:
            break
        written.append(next_id)
    print(held_out_pairs[row][0], "→", " ".join(french_words[index] for index in written[1:]))
