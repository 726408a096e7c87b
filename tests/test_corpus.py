"""Unit tests for lib/data/grammar.py and lib/data/corpus.py: French agreement and gold word
alignments on hand-written cases, determinism, the shipped corpus, the held-out split, the tokenizer
and vocabularies, the teacher-forcing arrays and the upload validator."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from lib.data import corpus
from lib.data.corpus import (
    SentencePairsError,
    Vocabulary,
    encode_pairs,
    parse_sentence_pairs_tsv,
)
from lib.data.grammar import (
    Clause,
    NounPhrase,
    Pronoun,
    RelativeClause,
    Sentence,
    alignment_pairs,
    generate_aligned_pairs,
    generate_pairs,
    gold_alignment_matrix,
    make_corpus,
    render_aligned,
    render_english,
    render_french,
)

# --------------------------------------------------------------------------------------------------
# The grammar's French, against translations written by hand
# --------------------------------------------------------------------------------------------------

HAND_WRITTEN = [
    # Adjective before the noun, verb agreement.
    (Clause(NounPhrase("cat", adjectives=("small",)), "sleep"), "the small cat sleeps", "le petit chat dort"),
    # Colour after the noun; predicate adjective agreeing in gender and number; ne … pas.
    (
        Clause(NounPhrase("house", plural=True, adjectives=("green",)), "be", negated=True, adjective="big"),
        "the green houses are not big",
        "les maisons vertes ne sont pas grandes",
    ),
    # Subject relative clause.
    (
        Clause(
            NounPhrase(
                "woman", "a", relative=RelativeClause("subject", Clause(None, "read", object=NounPhrase("book", "a")))
            ),
            "sleep",
        ),
        "a woman who reads a book sleeps",
        "une femme qui lit un livre dort",
    ),
    # Negation turns the indefinite article into "de"; elision of je and ne.
    (
        Clause(Pronoun("i"), "have", negated=True, object=NounPhrase("cat", "a")),
        "i do not have a cat",
        "je n'ai pas de chat",
    ),
    # "des" becomes "de" before an adjective that precedes the noun; "nous mangeons" keeps its e.
    (
        Clause(Pronoun("we"), "eat", object=NounPhrase("apple", "a", plural=True, adjectives=("small",))),
        "we eat small apples",
        "nous mangeons de petites pommes",
    ),
    # The bare English plural is "des" in French.
    (
        Clause(Pronoun("they"), "see", object=NounPhrase("dog", "a", plural=True)),
        "they see dogs",
        "ils voient des chiens",
    ),
    (Clause(Pronoun("she"), "be", adjective="happy"), "she is happy", "elle est heureuse"),
    # Object relative clause with "que" elided before "il".
    (
        Clause(
            NounPhrase("book", relative=RelativeClause("object", Clause(Pronoun("he"), "read"))),
            "be",
            adjective="heavy",
        ),
        "the book that he reads is heavy",
        "le livre qu'il lit est lourd",
    ),
    # Two adjectives on both sides of the noun; two English words ("look for") become one French word;
    # an irregular plural (mice / souris).
    (
        Clause(
            NounPhrase("dog", "my", adjectives=("old", "black")),
            "look for",
            object=NounPhrase("mouse", "this", plural=True),
        ),
        "my old black dog looks for these mice",
        "mon vieux chien noir cherche ces souris",
    ),
    # A conjunction of two French words, elision of "que" and "ne", "de" after a negation.
    (
        Sentence(
            (
                Clause(Pronoun("i"), "like", object=NounPhrase("car", adjectives=("new",))),
                Clause(
                    NounPhrase("sister", "my"), "wait for", negated=True, object=NounPhrase("horse", "a", plural=True)
                ),
            ),
            ("because",),
        ),
        "i like the new car because my sister does not wait for horses",
        "j'aime la nouvelle voiture parce que ma sœur n'attend pas de chevaux",
    ),
    (
        Clause(NounPhrase("cat", plural=True, adjectives=("white",)), "be", negated=True, adjective="beautiful"),
        "the white cats are not beautiful",
        "les chats blancs ne sont pas beaux",
    ),
    (
        Clause(NounPhrase("queen", "this", adjectives=("tired",)), "swim", place=("in", NounPhrase("garden"))),
        "this tired queen swims in the garden",
        "cette reine fatiguée nage dans le jardin",
    ),
    (Clause(Pronoun("you"), "run", negated=True), "you do not run", "vous ne courez pas"),
    # "an" before a vowel in English; feminine "vieille".
    (Clause(NounPhrase("cow", "a", adjectives=("old",)), "eat"), "an old cow eats", "une vieille vache mange"),
    (
        Sentence((Clause(Pronoun("she"), "laugh"), Clause(Pronoun("he"), "dance")), ("because",)),
        "she laughs because he dances",
        "elle rit parce qu'il danse",
    ),
    # English orders a state before age; French puts "vieux" before the noun and "heureux" after it.
    (
        Clause(NounPhrase("dog", plural=True, adjectives=("old", "happy")), "run"),
        "the happy old dogs run",
        "les vieux chiens heureux courent",
    ),
    # The definite article stays after a negation; "ma" before a feminine noun.
    (
        Clause(NounPhrase("mother", "my"), "open", negated=True, object=NounPhrase("window", plural=True)),
        "my mother does not open the windows",
        "ma mère n'ouvre pas les fenêtres",
    ),
    (
        Clause(
            NounPhrase(
                "girl",
                plural=True,
                relative=RelativeClause("subject", Clause(None, "be", negated=True, adjective="sad")),
            ),
            "sing",
            object=NounPhrase("song", "a"),
        ),
        "the girls who are not sad sing a song",
        "les filles qui ne sont pas tristes chantent une chanson",
    ),
]


@pytest.mark.parametrize(("tree", "english", "french"), HAND_WRITTEN, ids=[case[1] for case in HAND_WRITTEN])
def test_hand_written_translations(tree, english, french):
    assert render_english(tree) == english
    assert render_french(tree) == french


# --------------------------------------------------------------------------------------------------
# Gold word alignments, against alignments written by hand
# --------------------------------------------------------------------------------------------------

# Each case: a tree, its English and French, and for each French word (as `tokenize` splits it) the
# English word it translates, or None. An English word that occurs twice in its sentence is written
# "word#position" (position in the English words), so that "le" cannot align to the wrong "the".
HAND_ALIGNED = [
    # Plain subject, verb, object; the two "le" align to their own "the".
    (
        Clause(NounPhrase("boy"), "see", object=NounPhrase("dog")),
        "the boy sees the dog",
        "le garçon voit le chien",
        [("le", "the#0"), ("garçon", "boy"), ("voit", "sees"), ("le", "the#3"), ("chien", "dog")],
    ),
    # Adjectives before and after the noun, in another order than English's; "look for" → "cherche".
    (
        Clause(
            NounPhrase("dog", "my", adjectives=("old", "black")),
            "look for",
            object=NounPhrase("mouse", "this", plural=True),
        ),
        "my old black dog looks for these mice",
        "mon vieux chien noir cherche ces souris",
        [
            ("mon", "my"),
            ("vieux", "old"),
            ("chien", "dog"),
            ("noir", "black"),
            ("cherche", "looks"),
            ("ces", "these"),
            ("souris", "mice"),
        ],
    ),
    (
        Clause(NounPhrase("dog", plural=True, adjectives=("old", "happy")), "run"),
        "the happy old dogs run",
        "les vieux chiens heureux courent",
        [("les", "the"), ("vieux", "old"), ("chiens", "dogs"), ("heureux", "happy"), ("courent", "run")],
    ),
    # Negation with do-support: ne and pas both translate "not", and "does" has no French word.
    (
        Clause(NounPhrase("mother", "my"), "open", negated=True, object=NounPhrase("window", plural=True)),
        "my mother does not open the windows",
        "ma mère n'ouvre pas les fenêtres",
        [
            ("ma", "my"),
            ("mère", "mother"),
            ("n'", "not"),
            ("ouvre", "open"),
            ("pas", "not"),
            ("les", "the"),
            ("fenêtres", "windows"),
        ],
    ),
    (
        Clause(Pronoun("you"), "run", negated=True),
        "you do not run",
        "vous ne courez pas",
        [("vous", "you"), ("ne", "not"), ("courez", "run"), ("pas", "not")],
    ),
    # The negated object's "de" translates "a".
    (
        Clause(Pronoun("i"), "have", negated=True, object=NounPhrase("cat", "a")),
        "i do not have a cat",
        "je n'ai pas de chat",
        [("je", "i"), ("n'", "not"), ("ai", "have"), ("pas", "not"), ("de", "a"), ("chat", "cat")],
    ),
    # Elided "j'", "parce que" on "because", "wait for" → "attend", and a bare plural's "de" on nothing.
    (
        Sentence(
            (
                Clause(Pronoun("i"), "like", object=NounPhrase("car", adjectives=("new",))),
                Clause(
                    NounPhrase("sister", "my"), "wait for", negated=True, object=NounPhrase("horse", "a", plural=True)
                ),
            ),
            ("because",),
        ),
        "i like the new car because my sister does not wait for horses",
        "j'aime la nouvelle voiture parce que ma sœur n'attend pas de chevaux",
        [
            ("j'", "i"),
            ("aime", "like"),
            ("la", "the"),
            ("nouvelle", "new"),
            ("voiture", "car"),
            ("parce", "because"),
            ("que", "because"),
            ("ma", "my"),
            ("sœur", "sister"),
            ("n'", "not"),
            ("attend", "wait"),
            ("pas", "not"),
            ("de", None),
            ("chevaux", "horses"),
        ],
    ),
    # The "qu'" of "parce qu'il" still translates "because".
    (
        Sentence((Clause(Pronoun("she"), "laugh"), Clause(Pronoun("he"), "dance")), ("because",)),
        "she laughs because he dances",
        "elle rit parce qu'il danse",
        [
            ("elle", "she"),
            ("rit", "laughs"),
            ("parce", "because"),
            ("qu'", "because"),
            ("il", "he"),
            ("danse", "dances"),
        ],
    ),
    # Object relative clause: "qu'" is the relative pronoun "that"; be with an adjective.
    (
        Clause(
            NounPhrase("book", relative=RelativeClause("object", Clause(Pronoun("he"), "read"))),
            "be",
            adjective="heavy",
        ),
        "the book that he reads is heavy",
        "le livre qu'il lit est lourd",
        [
            ("le", "the"),
            ("livre", "book"),
            ("qu'", "that"),
            ("il", "he"),
            ("lit", "reads"),
            ("est", "is"),
            ("lourd", "heavy"),
        ],
    ),
    # A negated object relative: the particle "for" is stranded in English and has no French word.
    (
        Clause(
            NounPhrase("horse", relative=RelativeClause("object", Clause(NounPhrase("boy"), "wait for", negated=True))),
            "run",
        ),
        "the horse that the boy does not wait for runs",
        "le cheval que le garçon n'attend pas court",
        [
            ("le", "the#0"),
            ("cheval", "horse"),
            ("que", "that"),
            ("le", "the#3"),
            ("garçon", "boy"),
            ("n'", "not"),
            ("attend", "wait"),
            ("pas", "not"),
            ("court", "runs"),
        ],
    ),
    # Negated be: "n'est pas" on "is not".
    (
        Clause(Pronoun("she"), "be", negated=True, adjective="sad"),
        "she is not sad",
        "elle n'est pas triste",
        [("elle", "she"), ("n'", "not"), ("est", "is"), ("pas", "not"), ("triste", "sad")],
    ),
    # The bare English plural has no determiner for "des", nor for "de" before a prenominal adjective.
    (
        Clause(Pronoun("they"), "see", object=NounPhrase("dog", "a", plural=True)),
        "they see dogs",
        "ils voient des chiens",
        [("ils", "they"), ("voient", "see"), ("des", None), ("chiens", "dogs")],
    ),
    (
        Clause(Pronoun("we"), "eat", object=NounPhrase("apple", "a", plural=True, adjectives=("small",))),
        "we eat small apples",
        "nous mangeons de petites pommes",
        [("nous", "we"), ("mangeons", "eat"), ("de", None), ("petites", "small"), ("pommes", "apples")],
    ),
    # Subject relative clauses: "qui" translates "who" for a person and "that" for an animal.
    (
        Clause(
            NounPhrase(
                "girl",
                plural=True,
                relative=RelativeClause("subject", Clause(None, "be", negated=True, adjective="sad")),
            ),
            "sing",
            object=NounPhrase("song", "a"),
        ),
        "the girls who are not sad sing a song",
        "les filles qui ne sont pas tristes chantent une chanson",
        [
            ("les", "the"),
            ("filles", "girls"),
            ("qui", "who"),
            ("ne", "not"),
            ("sont", "are"),
            ("pas", "not"),
            ("tristes", "sad"),
            ("chantent", "sing"),
            ("une", "a"),
            ("chanson", "song"),
        ],
    ),
    (
        Clause(
            NounPhrase("cat", relative=RelativeClause("subject", Clause(None, "eat", object=NounPhrase("mouse", "a")))),
            "sleep",
        ),
        "the cat that eats a mouse sleeps",
        "le chat qui mange une souris dort",
        [
            ("le", "the"),
            ("chat", "cat"),
            ("qui", "that"),
            ("mange", "eats"),
            ("une", "a"),
            ("souris", "mouse"),
            ("dort", "sleeps"),
        ],
    ),
    # Prepositions.
    (
        Clause(NounPhrase("queen", "this", adjectives=("tired",)), "swim", place=("in", NounPhrase("garden"))),
        "this tired queen swims in the garden",
        "cette reine fatiguée nage dans le jardin",
        [
            ("cette", "this"),
            ("reine", "queen"),
            ("fatiguée", "tired"),
            ("nage", "swims"),
            ("dans", "in"),
            ("le", "the"),
            ("jardin", "garden"),
        ],
    ),
    (
        Clause(Pronoun("i"), "eat", place=("with", NounPhrase("brother", "my"))),
        "i eat with my brother",
        "je mange avec mon frère",
        [("je", "i"), ("mange", "eat"), ("avec", "with"), ("mon", "my"), ("frère", "brother")],
    ),
    # "an" is the English determiner of "une"; "quand" translates "when".
    (
        Sentence(
            (Clause(NounPhrase("cow", "a", adjectives=("old",)), "eat"), Clause(Pronoun("we"), "sing")), ("when",)
        ),
        "an old cow eats when we sing",
        "une vieille vache mange quand nous chantons",
        [
            ("une", "an"),
            ("vieille", "old"),
            ("vache", "cow"),
            ("mange", "eats"),
            ("quand", "when"),
            ("nous", "we"),
            ("chantons", "sing"),
        ],
    ),
]


def _readable_alignment(english: str, french: str, alignment) -> list[tuple[str, str | None]]:
    """(French word, English word) pairs, an English word that occurs twice written "word#position"."""
    english_words = english.split()

    def name(position: int) -> str | None:
        if position < 0:
            return None
        word = english_words[position]
        return word if english_words.count(word) == 1 else f"{word}#{position}"

    return [(word, name(position)) for word, position in zip(corpus.tokenize(french), alignment)]


@pytest.mark.parametrize(
    ("tree", "english", "french", "expected"), HAND_ALIGNED, ids=[case[1] for case in HAND_ALIGNED]
)
def test_hand_written_alignments(tree, english, french, expected):
    aligned_english, aligned_french, alignment = render_aligned(tree)
    assert (aligned_english, aligned_french) == (english, french) == (render_english(tree), render_french(tree))
    assert len(alignment) == len(corpus.tokenize(french))
    assert _readable_alignment(english, french, alignment) == expected


@pytest.mark.parametrize(("tree", "english", "french"), HAND_WRITTEN, ids=[case[1] for case in HAND_WRITTEN])
def test_render_aligned_gives_the_same_texts(tree, english, french):
    assert render_aligned(tree)[:2] == (english, french)


def test_do_support_and_particles_receive_no_french_word():
    english, french, alignment = render_aligned(
        Clause(NounPhrase("sister", "my"), "look for", negated=True, object=NounPhrase("cat"))
    )
    assert english == "my sister does not look for the cat" and french == "ma sœur ne cherche pas le chat"
    words = english.split()
    assert words.index("does") not in alignment and words.index("for") not in alignment
    assert alignment.count(words.index("not")) == 2


def _assert_alignment_is_well_formed(english: str, french: str, alignment) -> None:
    english_words, french_words = corpus.tokenize(english), corpus.tokenize(french)
    assert english_words == english.split()
    assert len(alignment) == len(french_words), (english, french)
    assert all(-1 <= position < len(english_words) for position in alignment), (english, french, alignment)
    for french_word, position in zip(french_words, alignment):
        # Only the article of a bare English plural translates no English word.
        if position == -1:
            assert french_word in ("des", "de", "d'"), (english, french, alignment)
        # Both halves of a negation translate "not", and nothing else does.
        if french_word in ("ne", "n'", "pas"):
            assert english_words[position] == "not", (english, french, alignment)
    assert sum(english_words[p] == "not" for p in alignment if p >= 0) == 2 * english_words.count("not")


def test_generated_alignments_are_well_formed():
    triples = generate_aligned_pairs(2000, seed=4)
    # The same sentences as generate_pairs, which drops the alignment.
    assert [(english, french) for english, french, _ in triples] == generate_pairs(2000, seed=4)
    for english, french, alignment in triples:
        _assert_alignment_is_well_formed(english, french, alignment)


def test_alignment_pairs_and_gold_matrix():
    english, french, alignment = render_aligned(
        Clause(Pronoun("they"), "see", object=NounPhrase("dog", "a", plural=True))
    )
    assert alignment == (0, 1, -1, 2)
    assert alignment_pairs(english, french, alignment) == [
        ("ils", "they"),
        ("voient", "see"),
        ("des", None),
        ("chiens", "dogs"),
    ]
    matrix = gold_alignment_matrix(alignment, english_length=3, french_length=4)
    assert matrix.shape == (4, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]])
    # A padded map (a row for </s>, a padded source) keeps the extra rows and columns at 0.
    padded = gold_alignment_matrix(alignment, english_length=5, french_length=6)
    assert padded.shape == (6, 5) and padded.sum() == 3 and padded[:4, :3].sum() == 3
    with pytest.raises(ValueError):
        gold_alignment_matrix(alignment, english_length=3, french_length=3)
    with pytest.raises(ValueError):
        gold_alignment_matrix(alignment, english_length=2, french_length=4)


def _pairs_digest(built) -> str:
    text = json.dumps({"train": built.train, "test": built.test}, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The SHA-256 of the shipped corpus, make_corpus(48000, 500, seed=0), measured before the generator
# learned alignments: the shipped translator was trained on exactly these pairs, so they must not change.
SHIPPED_CORPUS_SHA256 = "9e08cd5e7583de8abb63cd6f9dbea24057e5816a15001d1bb0bd517f2dff642a"


def test_the_shipped_corpus_is_unchanged_and_keeps_held_out_alignments():
    built = make_corpus(48000, 500, seed=0)
    assert _pairs_digest(built) == SHIPPED_CORPUS_SHA256
    assert len(built.test_alignments) == len(built.test) == 500
    for (english, french), alignment in zip(built.test, built.test_alignments):
        _assert_alignment_is_well_formed(english, french, alignment)


def test_generated_french_keeps_negation_and_elision_consistent():
    for english, french in generate_pairs(3000, seed=3):
        words = french.split()
        # Every "ne"/"n'" is closed by a "pas", and English has one "not" per French negation.
        negations = sum(word in ("ne",) or word.startswith("n'") for word in words)
        assert negations == words.count("pas") == english.split().count("not"), (english, french)
        # No elidable word is left before a vowel, and no elision happens before a consonant.
        assert not re.search(r"\b(je|ne|que|de|le|la) [aeiouéèêh]", french), french
        assert not re.search(r"\b(j|n|qu|d|l)'[^aeiouéèêh]", french), french
        # "de petits"/"pas de": "des" never comes right before a prenominal adjective.
        assert not re.search(r"\bdes (petit|grand|jeune|vieux|vieille|bon|beau|belle|nouveau|nouvelle)", french), french


def test_generation_is_deterministic_and_seeded():
    assert generate_pairs(200, seed=5) == generate_pairs(200, seed=5)
    assert generate_pairs(200, seed=5) != generate_pairs(200, seed=6)


def test_lengths_run_from_3_to_30_words_and_respect_the_cap():
    pairs = generate_pairs(4000, seed=0)
    lengths = [max(len(corpus.tokenize(e)), len(corpus.tokenize(f))) for e, f in pairs]
    assert min(lengths) >= 3 and max(lengths) <= 30
    assert min(len(corpus.tokenize(e)) for e, _ in pairs) == 3
    assert max(lengths) == 30
    short = generate_pairs(500, seed=0, max_words=8)
    assert all(len(corpus.tokenize(f)) <= 8 for _, f in short)


def test_make_corpus_has_no_held_out_sentence_in_training():
    built = make_corpus(3000, 300, seed=1)
    assert len(built.train) == 3000 and len(built.test) == 300
    train_english = {english for english, _ in built.train}
    assert len(train_english) == 3000
    assert not train_english & {english for english, _ in built.test}
    assert make_corpus(3000, 300, seed=1).test == built.test
    assert len(built.test_alignments) == 300


def test_vocabularies_stay_modest():
    built = make_corpus(8000, 500, seed=0)
    english = Vocabulary.from_sentences(e for e, _ in built.train)
    french = Vocabulary.from_sentences(f for _, f in built.train)
    assert 120 <= len(english) <= 300 and 150 <= len(french) <= 320


def test_length_distribution_counts_every_sentence():
    pairs = [("the cat sleeps", "le chat dort"), ("i do not have a cat", "je n'ai pas de chat")]
    frame = corpus.length_distribution(pairs, split="test")
    assert set(frame.columns) == {"split", "language", "words", "sentences"}
    english = frame[frame["language"] == "English"].set_index("words")["sentences"].to_dict()
    assert english == {3: 1, 6: 1}
    assert frame.loc[frame["language"] == "French", "sentences"].sum() == 2


# --------------------------------------------------------------------------------------------------
# Tokenizer and vocabularies
# --------------------------------------------------------------------------------------------------


def test_tokenizer_lowercases_and_splits_punctuation_and_elision():
    assert corpus.tokenize("J’aime le  Chat, n'est-ce pas ?") == [
        "j'",
        "aime",
        "le",
        "chat",
        ",",
        "n'",
        "est",
        "-",
        "ce",
        "pas",
        "?",
    ]
    assert corpus.detokenize(["j'", "aime", "le", "chat", "."]) == "j'aime le chat."


def test_vocabulary_round_trip_on_generated_sentences():
    pairs = generate_pairs(2000, seed=2)
    english = Vocabulary.from_sentences(e for e, _ in pairs)
    french = Vocabulary.from_sentences(f for _, f in pairs)
    assert english.words[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    for source, target in pairs:
        assert english.decode(english.encode(source)) == source
        assert french.decode(french.encode(target)) == target
    assert Vocabulary.from_json(french.to_json()).words == french.words


def test_unknown_words_become_unk_and_are_reported():
    vocabulary = Vocabulary.from_sentences(["the cat sleeps"])
    assert vocabulary.encode("the zebra sleeps") == [
        vocabulary.index["the"],
        corpus.UNKNOWN_ID,
        vocabulary.index["sleeps"],
    ]
    assert vocabulary.unknown_words("The zebra and the ZEBRA sleep") == ["zebra", "and", "sleep"]
    assert vocabulary.decode([1, vocabulary.index["cat"], 2, vocabulary.index["the"]]) == "cat"


def test_min_count_and_frequency_order():
    vocabulary = Vocabulary.from_sentences(["b a a", "c a b"], min_count=2)
    assert vocabulary.words == ["<pad>", "<s>", "</s>", "<unk>", "a", "b"]


def test_encode_pairs_builds_shifted_teacher_forcing_arrays():
    pairs = [("the cat sleeps", "le chat dort"), ("i run", "je cours")]
    english = Vocabulary.from_sentences(e for e, _ in pairs)
    french = Vocabulary.from_sentences(f for _, f in pairs)
    encoded = encode_pairs(pairs, english, french)
    assert encoded.encoder_input.shape == (2, 3) and encoded.decoder_input.shape == (2, 4)
    assert encoded.encoder_input.dtype == np.int32
    assert encoded.encoder_input[1, 2] == corpus.PAD_ID
    assert encoded.decoder_input[0, 0] == corpus.START_ID
    np.testing.assert_array_equal(encoded.decoder_input[0, 1:], encoded.decoder_target[0, :-1])
    assert encoded.decoder_target[0, -1] == corpus.END_ID
    assert encoded.decoder_target[1].tolist() == [french.index["je"], french.index["cours"], corpus.END_ID, 0]
    assert french.decode(encoded.decoder_target[1]) == "je cours"


# --------------------------------------------------------------------------------------------------
# Uploaded sentence pairs
# --------------------------------------------------------------------------------------------------


def _tsv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


GOOD_LINES = [
    f"Sentence number {i}.\tPhrase numéro {i}.\tCC-BY 2.0 (France) Attribution: tatoeba.org" for i in range(30)
]


def test_a_good_file_in_the_public_format_is_read():
    raw = "\ufeff".encode("utf-8") + _tsv(["Go.\tVa !", "", *GOOD_LINES])
    pairs = parse_sentence_pairs_tsv(raw)
    assert pairs[0] == ("Go.", "Va !")
    assert len(pairs) == 31 and pairs[1] == ("Sentence number 0.", "Phrase numéro 0.")
    split = corpus.split_pairs(pairs, test_fraction=0.2, seed=0)
    assert len(split.test) == 6 and not {e for e, _ in split.train} & {e for e, _ in split.test}
    assert split.test_alignments is None  # Nobody knows an uploaded pair's alignment.


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty"),
        ("Le chat\tthe cat\n".encode("latin-1") * 2 + "é\tx\n".encode("latin-1"), "UTF-8"),
        (_tsv([*GOOD_LINES[:5], "no tab on this line", *GOOD_LINES[5:]]), "line 6"),
        (_tsv([*GOOD_LINES, "\tvide"]), "line 31"),
        (_tsv([*GOOD_LINES[:2], "hello\t   "]), "line 3"),
        (_tsv([*GOOD_LINES, "word " * 50 + "\tmot"]), "more than 40 words"),
        (_tsv(GOOD_LINES[:5]), "fewer than the 20"),
        (b"a\x00b\tc\n", "binary"),
    ],
    ids=["empty", "not-utf8", "missing-tab", "empty-english", "empty-french", "too-long", "too-few", "binary"],
)
def test_bad_files_get_a_clear_sentence(raw, words):
    with pytest.raises(SentencePairsError, match=words):
        parse_sentence_pairs_tsv(raw)


def test_size_and_line_limits():
    with pytest.raises(SentencePairsError, match="MB"):
        parse_sentence_pairs_tsv(_tsv(GOOD_LINES), max_bytes=100)
    with pytest.raises(SentencePairsError, match="30 lines"):
        parse_sentence_pairs_tsv(_tsv(GOOD_LINES), max_lines=10)


def test_the_error_is_a_value_error_listing_a_few_lines():
    lines = ["no tab"] * 12 + GOOD_LINES
    with pytest.raises(ValueError) as caught:
        parse_sentence_pairs_tsv(_tsv(lines))
    assert isinstance(caught.value, SentencePairsError)
    assert "line 1, 2, 3, 4, 5 and 7 more" in str(caught.value)
