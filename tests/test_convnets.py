"""The ConvNets page's library: receptive fields by hand and by gradient, parameter counts, shifted digits."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lib.data.digits import load_digits
from lib.engine.params import count_dense_params, total_params
from lib.models.convnets import (
    DEFAULT_CANVAS_SIDE,
    DEFAULT_SPEC,
    ConvLayerSpec,
    ConvStackSpec,
    build_convnet,
    build_feature_extractor,
    build_matched_mlp,
    conv_layer_table,
    conv_parameter_count,
    convnet_parameter_count,
    feature_maps,
    first_layer_filters,
    layer_table_with_keras,
    matched_mlp_hidden_size,
    mlp_layer_table,
    parameters_by_input_side,
    spec_output_sizes,
    trunk_of,
    trunk_output_side,
    validate_stack,
)
from lib.models.receptive_field import (
    field_comparison_frame,
    measured_field,
    receptive_field_table,
    theoretical_field,
    theoretical_mask,
)
from lib.models.shifted_digits import (
    canvas_digits,
    place_on_canvas,
    shift_directions,
    shift_images,
    translation_accuracy,
)

RANDOM = np.random.default_rng(66)


def stack(*layers: ConvLayerSpec, side: int = 16, head: str = "global_average") -> ConvStackSpec:
    return ConvStackSpec(input_side=side, layers=tuple(layers), head=head)


def conv(kernel: int = 3, stride: int = 1, dilation: int = 1, padding: str = "valid", pool=None, filters: int = 4):
    return ConvLayerSpec(
        filters=filters, kernel_size=kernel, stride=stride, dilation=dilation, padding=padding, pool=pool
    )


def random_valid_spec(generator: np.random.Generator, head: str = "global_average") -> ConvStackSpec:
    """A random stack that Keras can build: stride and dilation never both above 1."""
    while True:
        layers = []
        for _ in range(int(generator.integers(1, 5))):
            stride = int(generator.integers(1, 3))
            dilation = 1 if stride > 1 else int(generator.integers(1, 3))
            layers.append(
                conv(
                    kernel=int(generator.integers(1, 6)),
                    stride=stride,
                    dilation=dilation,
                    padding=str(generator.choice(["valid", "same"])),
                    pool=2 if generator.random() < 0.3 else None,
                    filters=int(generator.integers(1, 12)),
                )
            )
        spec = stack(*layers, side=int(generator.integers(9, 30)), head=head)
        if validate_stack(spec) is None:
            return spec


# --- Receptive field: the formula against hand-computed stacks -----------------------------------


@pytest.mark.parametrize(
    "layers, expected_field, expected_jump",
    [
        ((conv(3), conv(3)), 5, 1),
        ((conv(3, pool=2), conv(3)), 8, 2),
        ((conv(3, dilation=2),), 5, 1),
        ((conv(3, stride=2), conv(3)), 7, 2),
        ((conv(3, stride=2), conv(3, stride=2), conv(3)), 15, 4),
        ((conv(5, stride=2, padding="same"), conv(3, padding="same")), 9, 2),
        ((conv(3, pool=2), conv(3, pool=2)), 10, 4),
        ((conv(3), conv(3, dilation=2), conv(3, dilation=4)), 15, 1),
        ((conv(2), conv(2)), 3, 1),
    ],
)
def test_receptive_field_matches_hand_computation(layers, expected_field, expected_jump):
    last = receptive_field_table(stack(*layers, side=32))[-1]
    assert (last.receptive_field, last.jump) == (expected_field, expected_jump)


def test_field_rows_step_through_every_layer():
    rows = receptive_field_table(stack(conv(3, pool=2), conv(3)))
    assert [row.layer for row in rows] == ["input", "conv_1", "pool_1", "conv_2"]
    assert [row.receptive_field for row in rows] == [1, 3, 4, 8]
    assert [row.jump for row in rows] == [1, 1, 2, 2]
    # Valid padding: the first unit's field starts at pixel 0; its centre moves by (k_eff − 1)/2 · j.
    assert [row.first_pixel for row in rows] == [0, 0, 0, 0]
    assert [row.start for row in rows] == [0.0, 1.0, 1.5, 3.5]
    assert [row.output_side for row in rows] == [16, 14, 7, 5]


def test_theoretical_field_is_clipped_at_the_border():
    spec = stack(conv(3, padding="same"), conv(3, padding="same"))
    clipped, unclipped = theoretical_field(spec, 0, 0)
    assert tuple(unclipped) == (-2, 2, -2, 2)
    assert tuple(clipped) == (0, 2, 0, 2)
    clipped, unclipped = theoretical_field(spec, 7, 9)
    assert tuple(clipped) == tuple(unclipped) == (5, 9, 7, 11)
    assert theoretical_mask(spec, 0, 0).sum() == 9
    with pytest.raises(ValueError):
        theoretical_field(spec, 16, 0)


def test_moving_the_unit_moves_the_field_by_the_jump():
    spec = stack(conv(3, stride=2), conv(3))
    first, _ = theoretical_field(spec, 2, 2)
    moved, _ = theoretical_field(spec, 2, 3)
    assert moved.col0 - first.col0 == receptive_field_table(spec)[-1].jump
    assert moved.row0 == first.row0


# --- Receptive field: the formula against the gradient of the real model -------------------------


MEASURED_SPECS = [
    stack(conv(3), conv(3)),
    stack(conv(3, padding="same", pool=2), conv(3, padding="same")),
    stack(conv(3, dilation=2, padding="same"), conv(2)),
    stack(conv(3, stride=2, padding="same"), conv(4, padding="same"), side=15),
    stack(conv(4, stride=2, padding="same"), conv(3, stride=2, padding="same"), side=16),
    stack(conv(5, stride=3), conv(1), side=17),
    DEFAULT_SPEC,
]


@pytest.mark.parametrize("spec", MEASURED_SPECS, ids=lambda spec: f"{len(spec.layers)}layers-{spec.input_side}")
def test_measured_support_equals_the_formula(spec):
    trunk = build_feature_extractor(spec, seed=1)
    side = trunk_output_side(spec)
    centre = side // 2
    for unit in [(centre, centre), (0, 0), (side - 1, side - 1), (0, side - 1)]:
        field = measured_field(trunk, spec.input_side, spec.channels, *unit)
        np.testing.assert_array_equal(field.support, theoretical_mask(spec, *unit), err_msg=f"unit {unit}")
        assert field.magnitude.max() == pytest.approx(1.0)


@pytest.mark.parametrize("trial", range(5))
def test_measured_support_equals_the_formula_on_random_stacks(trial):
    spec = random_valid_spec(np.random.default_rng(100 + trial))
    trunk = build_feature_extractor(spec, seed=trial)
    side = trunk_output_side(spec)
    unit = (int(RANDOM.integers(side)), int(RANDOM.integers(side)))
    field = measured_field(trunk, spec.input_side, spec.channels, *unit)
    np.testing.assert_array_equal(field.support, theoretical_mask(spec, *unit))


def test_interior_field_is_the_full_square_and_border_field_is_cut():
    spec = stack(conv(3, padding="same"), conv(3, padding="same"), conv(3, padding="same"))
    trunk = trunk_of(build_convnet(spec, seed=0))
    assert measured_field(trunk, 16, 1, 8, 8).support.sum() == 7 * 7
    assert measured_field(trunk, 16, 1, 0, 8).support.sum() == 4 * 7


def test_real_model_gradient_stays_inside_the_formula():
    spec = DEFAULT_SPEC
    model = build_convnet(spec, seed=3)
    image = canvas_digits(50).x_validation[0]
    formula = theoretical_mask(spec, 8, 8)
    field = measured_field(trunk_of(model), spec.input_side, 1, 8, 8, channel=None, image=image)
    assert not (field.support & ~formula).any()
    frame = field_comparison_frame(formula, field)
    assert len(frame) == spec.input_side**2
    assert (frame["status"] == "gradient only").sum() == 0
    assert set(frame["status"]) <= {"formula and gradient", "formula only", "outside"}


# --- Parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trial", range(6))
def test_layer_table_matches_keras(trial):
    head = "flatten" if trial % 2 else "global_average"
    spec = random_valid_spec(np.random.default_rng(trial), head=head)
    model = build_convnet(spec, seed=trial)
    frame = layer_table_with_keras(spec, model)
    assert frame["agrees"].all(), frame
    assert list(frame["layer"]) == [layer.name for layer in model.layers[1:]]
    assert convnet_parameter_count(spec) == model.count_params()
    for name, side, channels in spec_output_sizes(spec):
        assert tuple(model.get_layer(name).output.shape[1:]) == (side, side, channels)


def test_conv_parameters_do_not_depend_on_the_image_side():
    spec = DEFAULT_SPEC
    counts = {side: conv_parameter_count(spec.with_input_side(side)) for side in (16, 28, 64, 100)}
    assert len(set(counts.values())) == 1
    assert len({convnet_parameter_count(spec.with_input_side(side)) for side in (16, 28, 64)}) == 1
    flat = ConvStackSpec(layers=spec.layers, head="flatten")
    flatten_counts = [convnet_parameter_count(flat.with_input_side(side)) for side in (16, 28)]
    assert flatten_counts[0] < flatten_counts[1]
    table = conv_layer_table(flat)
    assert [row.depends_on_image_size for row in table] == [False] * (len(table) - 1) + [True]
    built = {side: build_convnet(spec.with_input_side(side)).count_params() for side in (16, 40)}
    assert built[16] == built[40] == convnet_parameter_count(spec)


def test_parameters_by_input_side_shows_the_mlp_growing():
    frame = parameters_by_input_side(DEFAULT_SPEC, [8, 16, 32, 64], [32])
    conv_rows = frame[frame["part"] == "ConvNet: conv layers"]
    mlp_rows = frame[frame["part"] == "MLP"]
    assert conv_rows["parameters"].nunique() == 1
    assert mlp_rows["parameters"].is_monotonic_increasing and mlp_rows["parameters"].nunique() == 4
    too_small = stack(conv(5), conv(5))
    partial = parameters_by_input_side(too_small, [6, 16], [8])
    assert set(partial[partial["image side (pixels)"] == 6]["part"]) == {"MLP"}


def test_mlp_table_uses_the_shared_counter():
    frame = mlp_layer_table(16, 1, [20])
    assert frame["parameters"].sum() == 256 * 20 + 20 + 21 * 10
    assert list(frame["depends_on_image_size"]) == [True, False]


@pytest.mark.parametrize("side, target", [(16, 5130), (16, 6218), (28, 20_000), (8, 1_000), (16, 2_000)])
def test_matched_mlp_is_within_ten_percent(side, target):
    hidden = matched_mlp_hidden_size(side * side, target)
    count = total_params([count_dense_params(side * side, hidden), count_dense_params(hidden, 10)])
    assert abs(count - target) <= 0.1 * target
    assert build_matched_mlp(side, 1, target, seed=0).count_params() == count


def test_matched_mlp_matches_the_default_convnet():
    target = convnet_parameter_count(DEFAULT_SPEC)
    mlp = build_matched_mlp(DEFAULT_CANVAS_SIDE, 1, target, seed=0)
    assert abs(mlp.count_params() - target) <= 0.1 * target


# --- Validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, words",
    [
        (stack(conv(5), conv(5), conv(5), side=10), "Conv layer 3 receives a 2×2 map"),
        (stack(conv(3, dilation=4), side=8), "spans 9 pixels"),
        (stack(conv(3, padding="same", pool=2), conv(3, padding="same", pool=2), side=3), "pooling after conv layer 2"),
        (stack(conv(3, stride=2, dilation=2)), "stride above 1 with a dilation above 1"),
        (stack(*[conv(3, padding="same")] * 7), "between 1 and 6"),
        (stack(), "between 1 and 6"),
        (stack(conv(3, padding="full")), "padding"),
        (stack(conv(3, pool=3)), "pooling"),
        (stack(conv(0)), "at least 1"),
    ],
)
def test_impossible_stacks_get_a_message(spec, words):
    message = validate_stack(spec)
    assert message and words in message
    with pytest.raises(ValueError, match="."):
        build_convnet(spec)


def test_the_default_stack_is_valid():
    assert validate_stack(DEFAULT_SPEC) is None
    assert trunk_output_side(DEFAULT_SPEC) == DEFAULT_CANVAS_SIDE


# --- Digits on a canvas and translation -----------------------------------------------------------


def test_placing_keeps_pixels_and_centres():
    images, _ = load_digits()
    canvas = place_on_canvas(images[:20], 16)
    assert canvas.shape == (20, 16, 16)
    np.testing.assert_array_equal(canvas[:, 4:12, 4:12], images[:20])
    np.testing.assert_allclose(canvas.sum(axis=(1, 2)), images[:20].sum(axis=(1, 2)))
    with_channel = place_on_canvas(images[:3, :, :, np.newaxis], 12, offset=(0, 4))
    assert with_channel.shape == (3, 12, 12, 1)
    np.testing.assert_array_equal(with_channel[:, :8, 4:, 0], images[:3])


@pytest.mark.parametrize("dx, dy", [(0, 0), (1, 0), (0, -3), (4, 4), (-4, 2), (-2, -4)])
def test_shifting_keeps_labels_and_pixels(dx, dy):
    images, labels = load_digits()
    chosen = RANDOM.choice(len(labels), size=40, replace=False)
    shifted = shift_images(images[chosen], dx, dy, 16)
    assert shifted.shape == (40, 16, 16)
    np.testing.assert_allclose(shifted.sum(axis=(1, 2)), images[chosen].sum(axis=(1, 2)), rtol=1e-6)
    # The i-th shifted digit is the i-th digit moved, so labels[chosen] still describe it.
    np.testing.assert_array_equal(shifted[:, 4 + dy : 12 + dy, 4 + dx : 12 + dx], images[chosen])
    # Shifting a canvas digit back puts it where it started.
    np.testing.assert_array_equal(shift_images(shifted, -dx, -dy, 16), place_on_canvas(images[chosen], 16))


def test_shifting_off_the_canvas_crops():
    images, _ = load_digits()
    shifted = shift_images(images[:5], 7, 0, 16)
    np.testing.assert_array_equal(shifted[:, 4:12, 11:], images[:5, :, :5])
    assert shift_images(images[:5], 20, 0, 16).sum() == 0


def test_shift_directions():
    assert shift_directions(0) == [(0, 0)]
    moves = shift_directions(2)
    assert len(moves) == 8 and (0, 0) not in moves
    assert all(max(abs(dx), abs(dy)) == 2 for dx, dy in moves)


class ConstantGuess:
    """A stand-in model that always answers the same class and counts what it is shown."""

    def __init__(self, answer: int):
        self.answer = answer
        self.seen = 0

    def predict(self, x, batch_size=None, verbose=0):
        self.seen += len(x)
        assert x.shape[1:] == (16, 16, 1)
        scores = np.zeros((len(x), 10), dtype=np.float32)
        scores[:, self.answer] = 1
        return scores


def test_translation_accuracy_averages_the_eight_moves():
    images, labels = load_digits()
    model = ConstantGuess(3)
    frame = translation_accuracy(model, images[:100], labels[:100], 3, 16, model_name="constant")
    assert list(frame["shift"]) == [0, 1, 2, 3]
    assert model.seen == 100 * (1 + 8 * 3)
    np.testing.assert_allclose(frame["accuracy"], np.mean(labels[:100] == 3))
    assert set(frame["model"]) == {"constant"}


def test_canvas_digits_are_centred_only():
    data = canvas_digits(200)
    assert data.x_train.shape == (200, 16, 16, 1)
    assert data.x_validation.shape == (360, 16, 16, 1)
    border = np.ones((16, 16), dtype=bool)
    border[4:12, 4:12] = False
    assert data.x_train[:, border, 0].sum() == 0


# --- What the first layer learned, and import cost -------------------------------------------------


def test_filters_and_feature_maps_have_drawable_shapes():
    model = build_convnet(DEFAULT_SPEC, seed=0)
    filters = first_layer_filters(model)
    assert filters.shape == (3, 3, DEFAULT_SPEC.layers[0].filters)
    image = canvas_digits(10).x_validation[0]
    maps = feature_maps(model, image, 0)
    assert maps.shape == (16, 16, DEFAULT_SPEC.layers[0].filters)
    assert (maps >= 0).all()
    assert feature_maps(model, image[..., 0], 2).shape == (16, 16, DEFAULT_SPEC.layers[2].filters)
    with pytest.raises(ValueError):
        feature_maps(model, image, 3)


def test_untrained_model_outputs_probabilities():
    model = build_convnet(DEFAULT_SPEC, seed=0)
    scores = np.asarray(model(canvas_digits(10).x_validation[:5]))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_importing_the_module_does_not_load_tensorflow_or_streamlit():
    code = (
        "import sys, lib.models.convnets; "
        "loaded = [name for name in ('tensorflow', 'keras', 'streamlit') if name in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
