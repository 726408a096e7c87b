"""Pictures of models drawn by the app itself (Graphviz DOT text, rendered by `st.graphviz_chart`)."""

from __future__ import annotations


def unrolled_rnn_dot(steps: int = 4) -> str:
    """The notes' basic RNN unrolled in time: the same U and W at every step, a memory s passed on.

    Every arrow labelled U is the same matrix, and so is every W: that sharing is why the model's
    size does not depend on how many steps it reads.
    """
    lines = [
        "digraph unrolled {",
        "  rankdir=LR; splines=true; nodesep=0.35; ranksep=0.5;",
        '  node [fontname="Helvetica", fontsize=12, style=filled, penwidth=0];',
        '  edge [fontname="Helvetica", fontsize=11, color="#555555"];',
    ]
    for step in range(1, steps + 1):
        lines.append(f'  x{step} [label="x{_sub(step)}", shape=circle, fillcolor="#ffe8a3"];')
        lines.append(f'  s{step} [label="s{_sub(step)}", shape=box, fillcolor="#bdeeed"];')
        lines.append(f'  y{step} [label="ŷ{_sub(step)}", shape=circle, fillcolor="#f7c9bd"];')
        lines.append(f'  x{step} -> s{step} [label="U", fontcolor="#b3541e"];')
        lines.append(f'  s{step} -> y{step} [label="V"];')
        lines.append(f"  {{rank=same; x{step}; s{step}; y{step}}}")
    lines.append('  s0 [label="s₀", shape=box, fillcolor="#e6e6e6"];')
    lines.append('  s0 -> s1 [label="W", fontcolor="#17807e", penwidth=2];')
    for step in range(1, steps):
        lines.append(f'  s{step} -> s{step + 1} [label="W", fontcolor="#17807e", penwidth=2];')
    lines.append("}")
    return "\n".join(lines)


def _sub(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
