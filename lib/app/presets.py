"""The named links an instructor hands out: per page, settings that show one point of the notes.

Each preset is written the way the page's URL writes it (a widget's key, and the value as its control
labels it), so a preset is exactly a link a participant could have copied. The README lists them, and
a test opens every one on its page and checks that the page takes every value as written.
"""

from __future__ import annotations

from lib.app.url_settings import Preset

# A held-out sentence of the grammar with 25 English words: the Translator's model, with one vector
# for the whole sentence, loses its second half; the attention model keeps it.
LONG_SENTENCE = (
    "the tired cows do not look for a car but the painter does not run on the beds but the queens take a heavy apple"
)

PRESETS: dict[str, list[Preset]] = {
    "parameter_sharing": [
        Preset(
            "10k parameters vs 10 examples",
            "The notes' example with ten training examples: a ratio the notes call bad.",
            {"examples": "10"},
        ),
        Preset(
            "A camera photo",
            "A 10-megapixel image into 100 hidden units: the first layer alone is "
            "a billion weights, which the page counts but never builds.",
            {"preset": "A 10-megapixel camera: 3,872×2,592", "image_height": "3872", "image_width": "2592"},
        ),
        Preset(
            "Overfit on purpose",
            "20 digits, 1,024 hidden units: about 77,000 parameters for 20 examples, "
            "and a wide gap between training and validation accuracy.",
            {"training_examples": "20", "hidden_units": "1024"},
        ),
        Preset(
            "Enough data",
            "All 1,437 training digits and 32 hidden units: parameters and examples of the "
            "same order, and a narrow gap.",
            {"training_examples": "1437", "hidden_units": "32"},
        ),
    ],
    "convnets": [
        Preset(
            "Flatten grows like an MLP",
            "A 64-pixel image with the Flatten head: the head gives every position "
            "its own weights, and the count grows with the image like the MLP's.",
            {"image_side": "64", "head": "Flatten"},
        ),
        Preset(
            "Dilation widens the field",
            "Three 3×3 layers dilated 1, 2 and 4: a unit of the last layer sees 15×15 pixels with 3×3 kernels.",
            {"dilation_1": "2", "dilation_2": "4"},
        ),
        Preset(
            "A bigger canvas to move on",
            "Digits on a 24-pixel canvas, so they can move 8 pixels: the ConvNet's "
            "pooled features follow them, the MLP's weights do not.",
            {"canvas": "24"},
        ),
    ],
    "recurrence": [
        Preset(
            "The window MLP grows with T",
            "Mackey-Glass read 168 steps back: the window MLP's first layer grows "
            "with T, the RNNs' parameters do not (section 2's table).",
            {"history_mackey_glass": "168"},
        ),
        Preset(
            "One step ahead",
            "Forecast one step ahead instead of twelve: the linear model wins again (measured "
            "0.0006 against 0.0053 for the best network), because its errors only compound further ahead.",
            {"horizon_mackey_glass": "1"},
        ),
        Preset(
            "Noisy chaos",
            "The same series seen through a noisy instrument (σ = 0.05): every model's error "
            "rises towards the noise's floor.",
            {"noise_mackey_glass": "0.05"},
        ),
        Preset(
            "Real temperatures",
            "Seattle's hourly normals: smooth, nearly periodic, and a linear model is hard "
            "to beat, the real-world check.",
            {"series_choice": "Seattle, hourly, 2010 (NOAA hourly normals)"},
        ),
    ],
    "vanishing_gradients": [
        Preset(
            "Sigmoid, 30 layers",
            "A 30-layer sigmoid MLP: each layer multiplies the gradient by at most 1/4, "
            "and the first layers get almost none.",
            {"mlp_depth": "30", "mlp_activation": "sigmoid"},
        ),
        Preset(
            "ReLU instead",
            "The same depth with ReLU, whose derivative is 1 where it is active.",
            {"mlp_depth": "30", "mlp_activation": "relu"},
        ),
        Preset(
            "Exploding, then clipped",
            "Recurrent weights scaled by 1.5: the gradient grows step after step "
            "back; clipping at norm 1 caps the update it would give.",
            {"bptt_recurrent_scale": "1.5", "bptt_clipping": "1.0"},
        ),
        Preset(
            "Modern defaults, lag 50",
            "Train both cells 50 steps back with Keras's modern defaults (orthogonal "
            "recurrent weights, Adam, forget-gate bias 1), and compare with the sweep's row for that point.",
            {"memory_setup": "Keras's modern defaults", "memory_lag": "50"},
        ),
    ],
    "translator": [
        Preset(
            "A long sentence",
            "25 English words through one vector: the shipped model gets the first half "
            "right and mixes up the second (open the Attention page's preset beside it).",
            {"sentence": LONG_SENTENCE},
        ),
        Preset(
            "The bottleneck alone",
            "Train with the context read only at the start: the decoder must carry the sentence in its own state.",
            {"context_every_step": "false"},
        ),
        Preset(
            "Scheduled sampling",
            "Train with p = 0.25 of the decoder's inputs replaced by its own guesses, "
            "and compare the train/test gap with teacher forcing's.",
            {"training": "scheduled sampling"},
        ),
        Preset(
            "Professor forcing",
            "Train with a discriminator telling the decoder's free runs from its "
            "teacher-forced ones, and compare the train/test gap with teacher forcing's.",
            {"training": "professor forcing"},
        ),
    ],
    "attention": [
        Preset(
            "A long sentence, with attention",
            "The Translator's long sentence, read by the attention model: "
            "translated word for word, and the heatmap's diagonal runs to the last word.",
            {"sentence_choice": "Type your own…", "sentence": LONG_SENTENCE},
        ),
        Preset(
            "A flat softmax",
            "Scale 0.01 on the scores: the weights spread over every word, and the summary "
            "z is nearly the mean of the zᵢ.",
            {"scale": "0.01"},
        ),
        Preset(
            "Bahdanau's additive score",
            "Train with the additive score v·tanh(W₁q + W₂zᵢ) instead of the notes' dot product.",
            {"score": "additive v·tanh(W₁q + W₂zᵢ)"},
        ),
    ],
    "transformer": [
        Preset(
            "No positions",
            "Train without positional encodings: the encoder sees a bag of words; "
            "compare the run's BLEU with the shipped model's (sinusoidal positions).",
            {"positions": "none"},
        ),
        Preset(
            "No causal mask",
            "Train with each French position allowed to read the words after it, "
            "then once with the mask: the page sets the two runs side by side.",
            {"causal_mask": "false"},
        ),
        Preset(
            "A hard lookup",
            "The key-value memory at scale 100: the softmax is one-hot and the memory returns one value.",
            {"lookup_scale": "100.0"},
        ),
    ],
}
