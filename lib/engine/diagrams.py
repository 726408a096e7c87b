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


def seq2seq_dot(
    source_words: list[str] | None = None, target_words: list[str] | None = None, context_every_step: bool = True
) -> str:
    """The notes' encoder-decoder: an encoder RNN reads the English words; its final state starts a
    decoder RNN whose output at each step is fed back as its input at the next step, until </s>.
    With `context_every_step`, that final state, the context c, is also drawn going into every
    decoder step (lib.models.seq2seq.build_seq2seq's default)."""
    source_words = source_words or ["the", "cat", "sleeps"]
    target_words = target_words or ["le", "chat", "dort"]
    outputs = [*target_words, "</s>"]
    inputs = ["<s>", *target_words]
    lines = [
        "digraph seq2seq {",
        "  rankdir=LR; splines=true; nodesep=0.3; ranksep=0.45; newrank=true;",
        '  node [fontname="Helvetica", fontsize=12, style=filled, penwidth=0];',
        '  edge [fontname="Helvetica", fontsize=10, color="#555555"];',
        '  subgraph cluster_encoder { label="encoder RNN (reads English)"; fontname="Helvetica"; fontsize=11; color="#bbbbbb";',
    ]
    for step, word in enumerate(source_words, start=1):
        lines.append(f'    x{step} [label="{_escape(word)}", shape=box, fillcolor="#ffe8a3"];')
        lines.append(f'    e{step} [label="h{_sub(step)}", shape=box, fillcolor="#bdeeed"];')
        lines.append(f"    x{step} -> e{step};")
        lines.append(f"    {{rank=same; x{step}; e{step}}}")
    for step in range(1, len(source_words)):
        lines.append(f'    e{step} -> e{step + 1} [penwidth=2, color="#17807e"];')
    lines.append("  }")
    lines.append(
        '  subgraph cluster_decoder { label="decoder RNN (writes French)"; fontname="Helvetica"; fontsize=11; color="#bbbbbb";'
    )
    for step, (word_in, word_out) in enumerate(zip(inputs, outputs), start=1):
        lines.append(f'    i{step} [label="{_escape(word_in)}", shape=box, fillcolor="#e6e6e6"];')
        lines.append(f'    d{step} [label="s{_sub(step)}", shape=box, fillcolor="#bdeeed"];')
        lines.append(f'    o{step} [label="{_escape(word_out)}", shape=box, fillcolor="#f7c9bd"];')
        lines.append(f'    i{step} -> d{step}; d{step} -> o{step} [label="softmax"];')
        lines.append(f"    {{rank=same; i{step}; d{step}; o{step}}}")
    for step in range(1, len(outputs)):
        lines.append(f'    d{step} -> d{step + 1} [penwidth=2, color="#17807e"];')
        lines.append(f'    o{step} -> i{step + 1} [style=dashed, color="#e4572e", constraint=false, label="fed back"];')
    lines.append("  }")
    lines.append(f'  e{len(source_words)} -> d1 [label="final state", penwidth=2, color="#17807e"];')
    if context_every_step:
        lines.append('  c [label="context c", shape=box, fillcolor="#bdeeed", style="filled,dashed", penwidth=1];')
        lines.append(f'  e{len(source_words)} -> c [color="#17807e"];')
        for step in range(1, len(outputs) + 1):
            lines.append(f'  c -> d{step} [style=dotted, color="#17807e", constraint=false];')
    lines.append('  stop [label="stop", shape=octagon, fillcolor="#2e282a", fontcolor="white"];')
    lines.append(f"  o{len(outputs)} -> stop;")
    lines.append("}")
    return "\n".join(lines)


def professor_forcing_dot() -> str:
    """The notes' professor forcing (Lamb et al., 2016): the same decoder run twice on one sentence,
    once teacher-forced (gold words in) and once free-running (its own words fed back: the most
    probable one, as the Translator page trains it; Lamb et al. sample it), and a discriminator
    trained to tell their hidden-state sequences apart; the decoder is trained to fool it, so that
    its free-running behaviour matches its teacher-forced one."""
    lines = [
        "digraph professor {",
        "  rankdir=LR; splines=true; nodesep=0.3; ranksep=0.5; newrank=true;",
        '  node [fontname="Helvetica", fontsize=12, style=filled, penwidth=0];',
        '  edge [fontname="Helvetica", fontsize=10, color="#555555"];',
    ]
    for name, title, feed, colour in (
        ("t", "teacher-forced run: the gold word goes in", "y", "#ffe8a3"),
        ("f", "free run: the model's own most probable word goes in", "ŷ", "#f7c9bd"),
    ):
        lines.append(
            f'  subgraph cluster_{name} {{ label="{title}"; fontname="Helvetica"; fontsize=11; color="#bbbbbb";'
        )
        for step in range(1, 4):
            lines.append(f'    {name}in{step} [label="{feed}{_sub(step - 1)}", shape=box, fillcolor="{colour}"];')
            lines.append(f'    {name}h{step} [label="h{_sub(step)}", shape=box, fillcolor="#bdeeed"];')
            lines.append(f"    {name}in{step} -> {name}h{step};")
        for step in range(1, 3):
            lines.append(f'    {name}h{step} -> {name}h{step + 1} [penwidth=2, color="#17807e"];')
            if name == "f":
                lines.append(
                    f'    fh{step} -> fin{step + 1} [style=dashed, color="#e4572e", constraint=false, label="argmax"];'
                )
        lines.append("  }")
    lines.append(
        '  disc [label="discriminator\\nteacher-forced or free?", shape=box, fillcolor="#2e282a", fontcolor="white"];'
    )
    lines.append('  th3 -> disc [label="hidden states"]; fh3 -> disc [label="hidden states"];')
    lines.append(
        '  note [label="decoder trained to fool it:\\nfree run behaves like training", shape=note, fillcolor="#eeeeee"];'
    )
    lines.append("  disc -> note [style=dotted];")
    lines.append("}")
    return "\n".join(lines)


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace('"', '\\"').replace("<", "‹").replace(">", "›")
