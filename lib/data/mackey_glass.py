"""The Mackey-Glass series: the standard nonlinear benchmark for recurrent networks, generated, not shipped.

Mackey and Glass (1977, "Oscillation and chaos in physiological control systems", Science 197)
modelled blood-cell production with the delay differential equation

    dx/dt = β x(t-τ) / (1 + x(t-τ)^n) - γ x(t),      β = 0.2, γ = 0.1, n = 10, τ = 17.

With τ = 17 the solution is chaotic: it never repeats, stays bounded (roughly between 0.2 and 1.4)
and its next values depend nonlinearly on values about τ time units back. That is why forecasting
it became the usual test of nonlinear and recurrent predictors (Lapedes and Farber 1987, Jaeger
2001 and Jaeger and Haas 2004 for echo state networks), and why the Recurrence page uses it to show
what a linear (Markov) model cannot do.

How the series is made, so that it is the same on every machine for a given seed:

- The history on [-τ, 0] is constant: x = 1.2 (the usual choice) plus one seeded offset drawn
  uniformly within ±``perturbation`` (1e-3 by default), so that different seeds give different
  trajectories once the chaos has amplified the difference, and the history does not depend on dt.
- The equation is integrated by the classical fourth-order Runge-Kutta method with step
  ``dt`` = 0.1 time units. τ = 17 is 170 steps, so the delayed value at the start and the end of a
  step is a stored grid value; at the step's midpoint (t + dt/2 - τ) it falls half way between two
  stored values and is read by cubic Hermite interpolation from the two values and their stored
  derivatives, which keeps the scheme's fourth order (linear interpolation would lower it to the
  second). The constant history has zero derivative, so the slope jumps at t = 0: the one step
  whose delayed midpoint falls just before 0 reads the history's zero slope there, not the
  solution's.
- The first ``transient`` = 1,000 time units are thrown away, so the series starts on the attractor
  and not in the initial condition's wake.
- One value is kept every ``sample_every`` = 1 time unit (every 10th step), as in Jaeger's benchmark.

Halving ``dt`` (0.1 to 0.05) changes the first 300 sampled values by at most 2.6e-7, and each
further halving shrinks the change 16 times, as a fourth-order scheme should (the unit tests check
looser bounds). Over much longer spans any two trajectories, including
two integrations with different steps, drift apart: that is the chaos, not an integration error.

Observation noise, when asked for, is added after integration (Gaussian, seeded separately), as a
measuring instrument would add it: the dynamics themselves stay deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BETA = 0.2
GAMMA = 0.1
EXPONENT = 10
DELAY = 17.0
INITIAL_VALUE = 1.2


def mackey_glass(
    samples: int,
    *,
    seed: int = 0,
    dt: float = 0.1,
    sample_every: float = 1.0,
    transient: float = 1000.0,
    delay: float = DELAY,
    perturbation: float = 1e-3,
) -> np.ndarray:
    """Integrate the Mackey-Glass equation and return ``samples`` values, one every ``sample_every`` time units.

    ``dt`` must divide both the delay and ``sample_every`` (to within rounding), so that the
    delayed values and the samples fall on the integration grid.
    """
    if samples < 1:
        raise ValueError("Ask for at least one sample.")
    delay_steps = int(round(delay / dt))
    steps_per_sample = int(round(sample_every / dt))
    if abs(delay_steps * dt - delay) > 1e-9 or abs(steps_per_sample * dt - sample_every) > 1e-9:
        raise ValueError(f"dt = {dt} must divide the delay ({delay}) and the sampling interval ({sample_every}).")
    transient_steps = int(round(transient / dt))
    total_steps = transient_steps + (samples - 1) * steps_per_sample

    rng = np.random.default_rng(seed)
    # Plain Python lists and floats: the loop is sequential, and numpy scalars would make it slower.
    values = [INITIAL_VALUE + perturbation * float(rng.uniform(-1.0, 1.0))] * (delay_steps + 1)
    slopes = [0.0] * (delay_steps + 1)
    values.extend([0.0] * total_steps)
    slopes.extend([0.0] * total_steps)
    half = 0.5 * dt

    def production(delayed: float) -> float:
        return BETA * delayed / (1.0 + delayed**EXPONENT)

    for step in range(delay_steps, delay_steps + total_steps):
        # values[step] is x(t); values[step - delay_steps] is x(t - τ).
        x = values[step]
        delayed_start = values[step - delay_steps]
        delayed_end = values[step - delay_steps + 1]
        # The slope stored at a point is the solution's right derivative; only at t = 0 (index
        # delay_steps) does it differ from the left one, the constant history's zero.
        end_slope = 0.0 if step - delay_steps + 1 == delay_steps else slopes[step - delay_steps + 1]
        delayed_middle = 0.5 * (delayed_start + delayed_end) + dt / 8.0 * (slopes[step - delay_steps] - end_slope)
        k1 = production(delayed_start) - GAMMA * x
        k2 = production(delayed_middle) - GAMMA * (x + half * k1)
        k3 = production(delayed_middle) - GAMMA * (x + half * k2)
        k4 = production(delayed_end) - GAMMA * (x + dt * k3)
        slopes[step] = k1
        values[step + 1] = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    # The slope at the last point is never needed: no later step reads it.
    start = delay_steps + transient_steps
    return np.asarray(values[start::steps_per_sample][:samples], dtype=np.float64)


def mackey_glass_frame(samples: int = 5000, noise: float = 0.0, seed: int = 0, noise_seed: int = 1) -> pd.DataFrame:
    """The series as the Recurrence page reads it: ``time`` (in the equation's time units) and ``value``.

    ``noise`` is the standard deviation of Gaussian observation noise added to every value (the
    clean series has a standard deviation of about 0.23).
    """
    if noise < 0:
        raise ValueError("The noise level cannot be negative.")
    values = mackey_glass(samples, seed=seed)
    if noise > 0:
        values = values + np.random.default_rng(noise_seed).normal(0.0, noise, samples)
    frame = pd.DataFrame({"time": np.arange(samples, dtype=np.float64), "value": values})
    frame.attrs["units"] = "units"
    frame.attrs["notes"] = [
        f"Mackey-Glass, τ = {DELAY:g}, β = {BETA}, γ = {GAMMA}, n = {EXPONENT}: RK4 with dt = 0.1, "
        f"1,000 time units of transient dropped, one sample per time unit, seed {seed}"
        + (f", Gaussian observation noise of standard deviation {noise:g}" if noise > 0 else "")
        + "."
    ]
    return frame
