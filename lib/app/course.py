"""The course map: which page teaches which section of the notes, in the order of the course.

The navigation (streamlit_app.py) and the home page's cards both read this one list, so a new page
appears in both places by adding one entry here. Only pages that exist are listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoursePage:
    path: str
    title: str
    icon: str
    section: str
    notes_section: str
    question: str

    @property
    def url_path(self) -> str:
        """The page's address under the app's (Streamlit derives it from the file's name)."""
        return self.path.removeprefix("app_pages/").removesuffix(".py")


HOME = CoursePage(
    path="app_pages/home.py",
    title="Home",
    icon=":material/map:",
    section="Home",
    notes_section="",
    question="",
)

COURSE_PAGES = [
    CoursePage(
        path="app_pages/parameter_sharing.py",
        title="Parameter sharing",
        icon=":material/calculate:",
        section="Parameter sharing",
        notes_section="On parameter sharing: the feed-forward net",
        question=("How many parameters does an MLP on a 100×100 image need, and is that too many for my data?"),
    ),
    CoursePage(
        path="app_pages/convnets.py",
        title="ConvNets",
        icon=":material/grid_on:",
        section="ConvNets",
        notes_section="ConvNet",
        question=(
            "Why does sharing weights across positions keep the model small, and how big is the receptive field?"
        ),
    ),
    CoursePage(
        path="app_pages/recurrence.py",
        title="Recurrence",
        icon=":material/replay:",
        section="Recurrence",
        notes_section="Recurrence: the basic RNN",
        question=(
            "Does sharing weights across time beat a window MLP and an autoregressive (Markov) model, "
            "on a chaotic series and on real temperatures?"
        ),
    ),
    CoursePage(
        path="app_pages/vanishing_gradients.py",
        title="Vanishing gradients",
        icon=":material/trending_down:",
        section="Recurrence",
        notes_section="Training: BPTT, vanishing gradient, LSTM",
        question="Why does a basic RNN forget after ~20 steps while an LSTM reaches ~100?",
    ),
    CoursePage(
        path="app_pages/translator.py",
        title="Translator",
        icon=":material/translate:",
        section="Sequence to sequence",
        notes_section="Seq2seq",
        question="How does an encoder-decoder translate, and what do teacher forcing and greedy decoding to </s> do?",
    ),
    CoursePage(
        path="app_pages/attention.py",
        title="Attention",
        icon=":material/center_focus_strong:",
        section="Sequence to sequence",
        notes_section="Attention",
        question="Which source words does the decoder look at, and why does that help long sentences?",
    ),
    CoursePage(
        path="app_pages/transformer.py",
        title="Transformer",
        icon=":material/hub:",
        section="Sequence to sequence",
        notes_section="Transformer",
        question="What do Q, K, V, several heads and positional encodings do, with no recurrence at all?",
    ),
]

# The instructor's board of a workshop room (#24): not a course page, so neither a home card nor a
# step of the course. The navigation lists it, under "Workshop", only for a session that instructs a
# room (it opened one, or opened the board's link); for everyone else it is hidden, reachable only by
# the board's link, and it shows nothing without the instructor's key.
BOARD = CoursePage(
    path="app_pages/board.py",
    title="Room board",
    icon=":material/dashboard:",
    section="Workshop",
    notes_section="",
    question="",
)
