"""The English→French grammar of the translator pages: sentence pairs with their gold word alignments.

Nothing is downloaded at run time, so the pairs come from a small grammar written here, rendered
twice: once in English and once in correct French. The grammar exercises what makes translation
more than a word-for-word lookup:

- articles that agree in gender and number (le/la/les, un/une/des, mon/ma/mes, ce/cette/ces), with
  "de" replacing un/une/des after a negation and before a plural adjective ("de petits chats");
- adjectives after the noun, except the few that go before (petit, grand, jeune, vieux, bon, beau,
  nouveau), agreeing with the noun, also as predicates ("les maisons vertes ne sont pas grandes");
- present-tense verb agreement with pronouns and nouns, and English do-support;
- negation: English "not" becomes the two French words "ne … pas", around the verb;
- words that change count: "look for" → "cherche", "because" → "parce que";
- elision (j'aime, n'est, qu'il), subject and object relative clauses (qui / que), prepositional
  phrases and conjunctions, so that sentences run from 3 to 30 words and more.

A sentence is first built as a small tree (`Clause`, `NounPhrase`, `RelativeClause`, `Sentence`),
then rendered by `render_english` and `render_french`: the tests write trees by hand and check the
French against a table of translations written by hand.

Because the generator builds both sides, it also knows which English word each French word
translates: `render_aligned` returns this gold word alignment, by tagging every word with the node
of the tree it comes from rather than by matching strings afterwards. The Attention page scores
whether the model's largest attention weight falls on that word; `ALIGNMENT_RULES` states the
rules (ne and pas both translate "not", "des" before a bare English plural translates nothing).

`make_corpus` draws the distinct pairs of a training and a held-out part from the grammar. Words,
vocabularies, the padded arrays and uploaded pairs are in `lib.data.corpus`. It imports neither
Keras nor Streamlit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lib.data.corpus import Corpus, tokenize

# --------------------------------------------------------------------------------------------------
# The lexicon
# --------------------------------------------------------------------------------------------------

# Persons index the French conjugation tables: je, tu, il/elle, nous, vous, ils/elles.
FIRST_SINGULAR, SECOND_SINGULAR, THIRD_SINGULAR, FIRST_PLURAL, SECOND_PLURAL, THIRD_PLURAL = range(6)


@dataclass(frozen=True)
class Noun:
    english: str
    english_plural: str
    french: str
    french_plural: str
    gender: str  # "m" or "f"
    kind: str  # "person", "animal" or "thing"
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Adjective:
    english: str
    forms: tuple[str, str, str, str]  # masculine singular, feminine singular, masculine plural, feminine plural
    before_noun: bool
    applies_to: frozenset[str]  # noun kinds or tags it can describe
    colour: bool = False

    def french(self, gender: str, plural: bool) -> str:
        return self.forms[(2 if plural else 0) + (1 if gender == "f" else 0)]


@dataclass(frozen=True)
class Verb:
    english: str  # base form, possibly with a particle: "look for"
    english_third: str  # "looks for"
    french: tuple[str, str, str, str, str, str]  # present tense, by person
    subjects: frozenset[str]  # noun kinds that can do it
    objects: frozenset[str] = frozenset()  # noun kinds or tags it takes as object; empty: none
    intransitive: bool = False
    refuses: frozenset[str] = frozenset()  # noun tags it does not take as object (nobody carries a house)


def _noun(english, english_plural, french, french_plural, gender, kind, *tags):
    return Noun(english, english_plural, french, french_plural, gender, kind, frozenset(tags))


# All French nouns and prenominal adjectives start with a consonant (no h), so that "le/la" never
# elide into "l'" and "vieux/beau/nouveau" never take their "vieil/bel/nouvel" forms: the grammar
# stays small, while elision still happens where it matters (j'aime, n'est, qu'il).
NOUNS: dict[str, Noun] = {
    noun.english: noun
    for noun in [
        _noun("boy", "boys", "garçon", "garçons", "m", "person"),
        _noun("girl", "girls", "fille", "filles", "f", "person"),
        _noun("woman", "women", "femme", "femmes", "f", "person"),
        _noun("king", "kings", "roi", "rois", "m", "person"),
        _noun("queen", "queens", "reine", "reines", "f", "person"),
        _noun("sister", "sisters", "sœur", "sœurs", "f", "person"),
        _noun("brother", "brothers", "frère", "frères", "m", "person"),
        _noun("mother", "mothers", "mère", "mères", "f", "person"),
        _noun("father", "fathers", "père", "pères", "m", "person"),
        _noun("doctor", "doctors", "médecin", "médecins", "m", "person"),
        _noun("neighbor", "neighbors", "voisin", "voisins", "m", "person"),
        _noun("painter", "painters", "peintre", "peintres", "m", "person"),
        _noun("cat", "cats", "chat", "chats", "m", "animal"),
        _noun("dog", "dogs", "chien", "chiens", "m", "animal"),
        _noun("horse", "horses", "cheval", "chevaux", "m", "animal"),
        _noun("mouse", "mice", "souris", "souris", "f", "animal"),
        _noun("cow", "cows", "vache", "vaches", "f", "animal"),
        _noun("rabbit", "rabbits", "lapin", "lapins", "m", "animal"),
        _noun("duck", "ducks", "canard", "canards", "m", "animal"),
        _noun("house", "houses", "maison", "maisons", "f", "thing", "in", "fixed"),
        _noun("book", "books", "livre", "livres", "m", "thing", "readable", "writable", "openable", "on"),
        _noun("car", "cars", "voiture", "voitures", "f", "thing", "openable", "in", "under", "fast"),
        _noun("table", "tables", "table", "tables", "f", "thing", "on", "under"),
        _noun("apple", "apples", "pomme", "pommes", "f", "thing", "food"),
        _noun("letter", "letters", "lettre", "lettres", "f", "thing", "readable", "writable", "openable"),
        _noun("cake", "cakes", "gâteau", "gâteaux", "m", "thing", "food"),
        _noun("chair", "chairs", "chaise", "chaises", "f", "thing", "on", "under"),
        _noun("garden", "gardens", "jardin", "jardins", "m", "thing", "in", "fixed"),
        _noun("door", "doors", "porte", "portes", "f", "thing", "openable"),
        _noun("bed", "beds", "lit", "lits", "m", "thing", "in", "on", "under"),
        _noun("ball", "balls", "ballon", "ballons", "m", "thing"),
        _noun("bag", "bags", "sac", "sacs", "m", "thing", "openable", "in"),
        _noun("newspaper", "newspapers", "journal", "journaux", "m", "thing", "readable", "on"),
        _noun("box", "boxes", "boîte", "boîtes", "f", "thing", "openable", "in", "on", "under"),
        _noun("window", "windows", "fenêtre", "fenêtres", "f", "thing", "openable"),
        _noun("flower", "flowers", "fleur", "fleurs", "f", "thing"),
        _noun("song", "songs", "chanson", "chansons", "f", "thing", "writable", "song", "abstract"),
        _noun("pear", "pears", "poire", "poires", "f", "thing", "food"),
        _noun("carrot", "carrots", "carotte", "carottes", "f", "thing", "food"),
    ]
}

_LIVING = frozenset({"person", "animal"})
_ALL = frozenset({"person", "animal", "thing"})

ADJECTIVES: dict[str, Adjective] = {
    adjective.english: adjective
    for adjective in [
        Adjective("small", ("petit", "petite", "petits", "petites"), True, _ALL),
        # "Big" stays off people: "un grand père" would read as "grand-père", a grandfather.
        Adjective("big", ("grand", "grande", "grands", "grandes"), True, frozenset({"animal", "thing"})),
        Adjective("young", ("jeune", "jeune", "jeunes", "jeunes"), True, _LIVING),
        Adjective("old", ("vieux", "vieille", "vieux", "vieilles"), True, _ALL),
        Adjective(
            "good",
            ("bon", "bonne", "bons", "bonnes"),
            True,
            frozenset({"person", "animal", "food", "readable", "song"}),
        ),
        Adjective("beautiful", ("beau", "belle", "beaux", "belles"), True, _ALL),
        Adjective("new", ("nouveau", "nouvelle", "nouveaux", "nouvelles"), True, frozenset({"thing"})),
        Adjective("green", ("vert", "verte", "verts", "vertes"), False, frozenset({"thing"}), colour=True),
        Adjective("black", ("noir", "noire", "noirs", "noires"), False, frozenset({"animal", "thing"}), colour=True),
        Adjective(
            "white", ("blanc", "blanche", "blancs", "blanches"), False, frozenset({"animal", "thing"}), colour=True
        ),
        Adjective("red", ("rouge", "rouge", "rouges", "rouges"), False, frozenset({"thing"}), colour=True),
        Adjective("blue", ("bleu", "bleue", "bleus", "bleues"), False, frozenset({"thing"}), colour=True),
        Adjective("happy", ("heureux", "heureuse", "heureux", "heureuses"), False, _LIVING),
        Adjective("tired", ("fatigué", "fatiguée", "fatigués", "fatiguées"), False, _LIVING),
        Adjective("sad", ("triste", "triste", "tristes", "tristes"), False, _LIVING | {"song"}),
        Adjective("heavy", ("lourd", "lourde", "lourds", "lourdes"), False, frozenset({"thing"})),
        Adjective("fast", ("rapide", "rapide", "rapides", "rapides"), False, frozenset({"animal", "fast"})),
    ]
}


def _regular_er(stem: str) -> tuple[str, str, str, str, str, str]:
    """Present tense of a regular -er verb ("chant" → chante, chantes, chante, chantons, chantez, chantent)."""
    nous = stem + ("eons" if stem.endswith("g") else "ons")  # "nous mangeons" keeps the soft g.
    return (stem + "e", stem + "es", stem + "e", nous, stem + "ez", stem + "ent")


_PEOPLE = frozenset({"person"})
_THINGS_AND_ANIMALS = frozenset({"thing", "animal"})

VERBS: dict[str, Verb] = {
    verb.english: verb
    for verb in [
        Verb("sleep", "sleeps", ("dors", "dors", "dort", "dormons", "dormez", "dorment"), _LIVING, intransitive=True),
        Verb("run", "runs", ("cours", "cours", "court", "courons", "courez", "courent"), _LIVING, intransitive=True),
        Verb("swim", "swims", _regular_er("nag"), _LIVING, intransitive=True),
        Verb("dance", "dances", _regular_er("dans"), _PEOPLE, intransitive=True),
        Verb("work", "works", _regular_er("travaill"), _PEOPLE, intransitive=True),
        Verb("laugh", "laughs", ("ris", "ris", "rit", "rions", "riez", "rient"), _PEOPLE, intransitive=True),
        Verb("sing", "sings", _regular_er("chant"), _PEOPLE, frozenset({"song"}), True),
        Verb("eat", "eats", _regular_er("mang"), _LIVING, frozenset({"food"}), True),
        Verb(
            "wait for",
            "waits for",
            ("attends", "attends", "attend", "attendons", "attendez", "attendent"),
            _LIVING,
            _LIVING,
        ),
        Verb("see", "sees", ("vois", "vois", "voit", "voyons", "voyez", "voient"), _LIVING, _ALL),
        Verb("watch", "watches", _regular_er("regard"), _LIVING, _ALL),
        Verb("like", "likes", _regular_er("aim"), _LIVING, _ALL),
        Verb("want", "wants", ("veux", "veux", "veut", "voulons", "voulez", "veulent"), _LIVING, _THINGS_AND_ANIMALS),
        Verb(
            "take",
            "takes",
            ("prends", "prends", "prend", "prenons", "prenez", "prennent"),
            _PEOPLE,
            frozenset({"thing"}),
            refuses=frozenset({"fixed", "abstract"}),
        ),
        Verb("read", "reads", ("lis", "lis", "lit", "lisons", "lisez", "lisent"), _PEOPLE, frozenset({"readable"})),
        Verb(
            "write",
            "writes",
            ("écris", "écris", "écrit", "écrivons", "écrivez", "écrivent"),
            _PEOPLE,
            frozenset({"writable"}),
        ),
        Verb("find", "finds", _regular_er("trouv"), _LIVING, _THINGS_AND_ANIMALS),
        Verb(
            "carry",
            "carries",
            _regular_er("port"),
            _PEOPLE,
            _THINGS_AND_ANIMALS,
            refuses=frozenset({"fixed", "abstract"}),
        ),
        Verb(
            "buy",
            "buys",
            ("achète", "achètes", "achète", "achetons", "achetez", "achètent"),
            _PEOPLE,
            _THINGS_AND_ANIMALS,
            refuses=frozenset({"abstract"}),
        ),
        Verb(
            "open",
            "opens",
            ("ouvre", "ouvres", "ouvre", "ouvrons", "ouvrez", "ouvrent"),
            _PEOPLE,
            frozenset({"openable"}),
        ),
        Verb("look for", "looks for", _regular_er("cherch"), _LIVING, _ALL),
        Verb("have", "has", ("ai", "as", "a", "avons", "avez", "ont"), _PEOPLE, _ALL),
    ]
}

# A song has no colour and no weight: only these adjectives describe abstract nouns.
_ABSTRACT_ADJECTIVES = frozenset({"good", "beautiful", "new", "old", "sad"})


def describes(adjective: Adjective, noun: Noun) -> bool:
    """Whether the adjective makes sense for the noun ("a heavy box", not "a heavy song")."""
    if "abstract" in noun.tags:
        return adjective.english in _ABSTRACT_ADJECTIVES
    return noun.kind in adjective.applies_to or bool(noun.tags & adjective.applies_to)


BE_FRENCH = ("suis", "es", "est", "sommes", "êtes", "sont")

# English subject pronouns: French pronoun, person, gender for a predicate adjective (None: not used
# with one, because "I am tired" does not say whether "fatigué" or "fatiguée").
PRONOUNS: dict[str, tuple[str, int, str | None]] = {
    "i": ("je", FIRST_SINGULAR, None),
    "you": ("vous", SECOND_PLURAL, None),
    "he": ("il", THIRD_SINGULAR, "m"),
    "she": ("elle", THIRD_SINGULAR, "f"),
    "we": ("nous", FIRST_PLURAL, None),
    "they": ("ils", THIRD_PLURAL, None),
}

PREPOSITIONS: dict[str, tuple[str, frozenset[str]]] = {
    "in": ("dans", frozenset({"in"})),
    "on": ("sur", frozenset({"on"})),
    "under": ("sous", frozenset({"under"})),
    "with": ("avec", _LIVING),
}

CONJUNCTIONS: dict[str, str] = {"and": "et", "but": "mais", "because": "parce que", "when": "quand"}

# English determiner → French forms (masculine singular, feminine singular, plural). "a" in the
# plural is the bare English plural ("dogs"), which French makes "des".
DETERMINERS: dict[str, tuple[str, str, str]] = {
    "the": ("le", "la", "les"),
    "a": ("un", "une", "des"),
    "my": ("mon", "ma", "mes"),
    "this": ("ce", "cette", "ces"),
}
_ENGLISH_PLURAL_DETERMINER = {"the": "the", "a": "", "my": "my", "this": "these"}

_VOWELS = "aeiouyàâäéèêëîïôöùûüœh"
_ELIDING = {"je", "ne", "que", "de", "le", "la", "ce"}


# --------------------------------------------------------------------------------------------------
# Sentence trees and their two renderings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pronoun:
    word: str  # an English subject pronoun: i, you, he, she, we, they


@dataclass(frozen=True)
class NounPhrase:
    noun: str  # the English singular, a key of NOUNS
    determiner: str = "the"  # the, a, my, this ("a" in the plural is the bare plural)
    plural: bool = False
    adjectives: tuple[str, ...] = ()  # at most one that goes before the noun and one that goes after
    relative: RelativeClause | None = None


@dataclass(frozen=True)
class Clause:
    """Subject, verb and complements; `verb="be"` takes a predicate `adjective` instead of an object."""

    subject: NounPhrase | Pronoun | None  # None: the gap of a subject relative clause
    verb: str
    negated: bool = False
    object: NounPhrase | None = None
    adjective: str | None = None
    place: tuple[str, NounPhrase] | None = None  # (English preposition, its noun phrase)


@dataclass(frozen=True)
class RelativeClause:
    """ "who/that sleeps" (kind "subject": the clause has no subject) or "that the boy reads" (kind
    "object": the clause has no object)."""

    kind: str
    clause: Clause


@dataclass(frozen=True)
class Sentence:
    clauses: tuple[Clause, ...]
    conjunctions: tuple[str, ...] = ()  # one fewer than clauses


def _subject_agreement(subject: NounPhrase | Pronoun) -> tuple[int, str | None, bool]:
    """Person, gender and number of a subject, for the verb and a predicate adjective."""
    if isinstance(subject, Pronoun):
        _, person, gender = PRONOUNS[subject.word]
        return person, gender, person in (FIRST_PLURAL, SECOND_PLURAL, THIRD_PLURAL)
    noun = NOUNS[subject.noun]
    return (THIRD_PLURAL if subject.plural else THIRD_SINGULAR), noun.gender, subject.plural


# The gold alignment's rules, in Markdown, for the Attention page to quote.
ALIGNMENT_RULES = """\
Each French word is aligned to the one English word it translates, or to none (-1). The generator
knows the alignment because it builds both sentences from one tree: every word is tagged with the
node of the tree and the role it comes from, and a French word aligns to the English word with the
same tag. So an English word may receive several French words ("not": ne and pas) or none (do,
does, the "for" of "look for").

- Nouns, adjectives, subject pronouns (je → i, vous → you), prepositions (dans → in, sur → on,
  sous → under, avec → with), conjunctions (et → and, mais → but, quand → when) and verbs align to
  their English counterpart, wherever each language puts them ("le chat noir": noir → black, which
  English says before "cat").
- A verb of two English words aligns to the first one: cherche → look ("look for"), attend → wait
  ("wait for"); the particle "for" has no French word.
- "parce que": both French words align to "because".
- Negation: in "does not sleep" → "ne dort pas", dort aligns to sleep, and ne and pas both align
  to not; "do" and "does" have no French word. With be, "is not sad" → "n'est pas triste": est
  aligns to is (and likewise to am or are), ne and pas to not.
- Be with an adjective: the form of être aligns to am, is or are, and the adjective to the adjective.
- Determiners: le/la/les, un/une, mon/ma/mes and ce/cette/ces align to the, a/an, my and
  this/these. The bare English plural ("they see dogs") has no determiner, so its French "des"
  aligns to none (-1): it translates no English word, and the noun already has its own French
  word. "de" in place of un/une after a negation ("je n'ai pas de chat") aligns to a/an; "de" in
  place of "des" ("pas de chevaux", "de petites pommes") aligns to none, like "des".
- Relative pronouns: qui and que align to who or that.
- Elision changes the spelling, not the alignment: j' aligns to i, n' to not, qu' to that (the
  relative pronoun) or to because (the que of parce que), as the whole word would.
"""

# A word's tag is the path of its node in the sentence tree followed by its role there, such as
# ("clause", 0, "subject", "noun"). English and French words with the same tag translate each other.
Tag = tuple
TaggedWords = list[tuple[str, Tag]]


def _as_sentence(sentence: Sentence | Clause) -> Sentence:
    return Sentence((sentence,)) if isinstance(sentence, Clause) else sentence


# English orders adjectives opinion, state, size, age, colour ("a beautiful happy old dog", "the small
# black cat"); the French order is fixed by each adjective's place before or after the noun instead.
_ENGLISH_ADJECTIVE_RANK = {"good": 0, "beautiful": 0, "small": 2, "big": 2, "young": 3, "old": 3, "new": 3}


def _english_adjective_order(adjectives: Sequence[str]) -> list[int]:
    """Positions in `adjectives`, in the order English says them (a stable sort by rank)."""

    def rank(position: int) -> int:
        name = adjectives[position]
        return 4 if ADJECTIVES[name].colour else _ENGLISH_ADJECTIVE_RANK.get(name, 1)

    return sorted(range(len(adjectives)), key=rank)


def _english_noun_phrase(phrase: NounPhrase, path: Tag) -> TaggedWords:
    noun = NOUNS[phrase.noun]
    determiner = _ENGLISH_PLURAL_DETERMINER[phrase.determiner] if phrase.plural else phrase.determiner
    words = [
        (phrase.adjectives[position], path + ("adjective", position))
        for position in _english_adjective_order(phrase.adjectives)
    ]
    words.append((noun.english_plural if phrase.plural else noun.english, path + ("noun",)))
    if determiner == "a" and words[0][0][0] in "aeiou":
        determiner = "an"
    tokens = ([(determiner, path + ("determiner",))] if determiner else []) + words
    if phrase.relative is not None:
        tokens += _english_relative(phrase, phrase.relative, path + ("relative",))
    return tokens


def _english_relative(head: NounPhrase, relative: RelativeClause, path: Tag) -> TaggedWords:
    if relative.kind == "subject":
        pronoun = "who" if NOUNS[head.noun].kind == "person" else "that"
        person = THIRD_PLURAL if head.plural else THIRD_SINGULAR
        return [(pronoun, path + ("pronoun",)), *_english_predicate(relative.clause, person, path + ("clause",))]
    return [("that", path + ("pronoun",)), *_english_clause(relative.clause, path + ("clause",))]


def _english_verb(words: str, path: Tag) -> TaggedWords:
    """A verb of one or two words ("looks for"): the first carries the verb's tag, a particle its own."""
    first, *particles = words.split()
    return [(first, path + ("verb",)), *((particle, path + ("particle",)) for particle in particles)]


def _english_predicate(clause: Clause, person: int, path: Tag) -> TaggedWords:
    third = person == THIRD_SINGULAR
    negation = [("not", path + ("not",))] if clause.negated else []
    if clause.verb == "be":
        be = "am" if person == FIRST_SINGULAR else ("is" if third else "are")
        tokens = [(be, path + ("verb",)), *negation, (clause.adjective, path + ("adjective",))]
    else:
        verb = VERBS[clause.verb]
        if clause.negated:
            tokens = [("does" if third else "do", path + ("do",)), *negation, *_english_verb(verb.english, path)]
        else:
            tokens = _english_verb(verb.english_third if third else verb.english, path)
        if clause.object is not None:
            tokens += _english_noun_phrase(clause.object, path + ("object",))
    if clause.place is not None:
        tokens += [
            (clause.place[0], path + ("preposition",)),
            *_english_noun_phrase(clause.place[1], path + ("place",)),
        ]
    return tokens


def _english_clause(clause: Clause, path: Tag) -> TaggedWords:
    if isinstance(clause.subject, Pronoun):
        subject_tokens = [(clause.subject.word, path + ("subject",))]
    else:
        subject_tokens = _english_noun_phrase(clause.subject, path + ("subject",))
    person, _, _ = _subject_agreement(clause.subject)
    return subject_tokens + _english_predicate(clause, person, path)


def _english_sentence(sentence: Sentence) -> TaggedWords:
    tokens = _english_clause(sentence.clauses[0], ("clause", 0))
    for index, (conjunction, clause) in enumerate(zip(sentence.conjunctions, sentence.clauses[1:]), start=1):
        tokens += [(conjunction, ("conjunction", index)), *_english_clause(clause, ("clause", index))]
    return tokens


def _french_noun_phrase(phrase: NounPhrase, path: Tag, negated_object: bool = False) -> TaggedWords:
    noun = NOUNS[phrase.noun]
    adjectives = [(ADJECTIVES[name], path + ("adjective", position)) for position, name in enumerate(phrase.adjectives)]
    before = [(a.french(noun.gender, phrase.plural), tag) for a, tag in adjectives if a.before_noun]
    after = [(a.french(noun.gender, phrase.plural), tag) for a, tag in adjectives if not a.before_noun]
    masculine, feminine, plural = DETERMINERS[phrase.determiner]
    determiner = plural if phrase.plural else (feminine if noun.gender == "f" else masculine)
    if phrase.determiner == "a" and (negated_object or (phrase.plural and before)):
        # "Je n'ai pas de chat", and "de petits chats": the indefinite article becomes "de".
        determiner = "de"
    tokens = [
        (determiner, path + ("determiner",)),
        *before,
        (noun.french_plural if phrase.plural else noun.french, path + ("noun",)),
        *after,
    ]
    if phrase.relative is not None:
        tokens += _french_relative(phrase, phrase.relative, path + ("relative",))
    return tokens


def _french_relative(head: NounPhrase, relative: RelativeClause, path: Tag) -> TaggedWords:
    if relative.kind == "subject":
        person = THIRD_PLURAL if head.plural else THIRD_SINGULAR
        predicate = _french_predicate(relative.clause, person, NOUNS[head.noun].gender, head.plural, path + ("clause",))
        return [("qui", path + ("pronoun",)), *predicate]
    return [("que", path + ("pronoun",)), *_french_clause(relative.clause, path + ("clause",))]


def _french_predicate(clause: Clause, person: int, gender: str | None, plural: bool, path: Tag) -> TaggedWords:
    if clause.verb == "be":
        verb_form = BE_FRENCH[person]
        complement = [(ADJECTIVES[clause.adjective].french(gender or "m", plural), path + ("adjective",))]
    else:
        verb_form = VERBS[clause.verb].french[person]
        complement = (
            [] if clause.object is None else _french_noun_phrase(clause.object, path + ("object",), clause.negated)
        )
    verb = (verb_form, path + ("verb",))
    # Both halves of "ne … pas" translate the one English "not".
    tokens = [("ne", path + ("not",)), verb, ("pas", path + ("not",))] if clause.negated else [verb]
    tokens += complement
    if clause.place is not None:
        preposition = PREPOSITIONS[clause.place[0]][0]
        tokens += [(preposition, path + ("preposition",)), *_french_noun_phrase(clause.place[1], path + ("place",))]
    return tokens


def _french_clause(clause: Clause, path: Tag) -> TaggedWords:
    person, gender, plural = _subject_agreement(clause.subject)
    if isinstance(clause.subject, Pronoun):
        subject_tokens = [(PRONOUNS[clause.subject.word][0], path + ("subject",))]
    else:
        subject_tokens = _french_noun_phrase(clause.subject, path + ("subject",))
    return subject_tokens + _french_predicate(clause, person, gender, plural, path)


def _french_sentence(sentence: Sentence) -> TaggedWords:
    tokens = _french_clause(sentence.clauses[0], ("clause", 0))
    for index, (conjunction, clause) in enumerate(zip(sentence.conjunctions, sentence.clauses[1:]), start=1):
        tokens += [(CONJUNCTIONS[conjunction], ("conjunction", index)), *_french_clause(clause, ("clause", index))]
    return tokens


def _elided_words(tokens: TaggedWords) -> TaggedWords:
    """Split "parce que" into its words and elide je, ne, que, de, le, la and ce before a vowel.

    Every word keeps its token's tag, so "qu'" of "parce qu'il" still translates "because". The
    result has one entry for each word that `tokenize` finds in the joined French sentence.
    """
    parts = [(part, tag) for token, tag in tokens for part in token.split()]
    words: TaggedWords = []
    for index, (part, tag) in enumerate(parts):
        following = parts[index + 1][0] if index + 1 < len(parts) else ""
        if part in _ELIDING and following and following[0] in _VOWELS:
            words.append((part[:-1] + "'", tag))
        else:
            words.append((part, tag))
    return words


def _join_french(words: TaggedWords) -> str:
    """Words separated by spaces, except after an elision: "j'aime"."""
    # Only an elided word ends with an apostrophe, so removing the space after one glues just those.
    return " ".join(word for word, _ in words).replace("' ", "'")


def render_english(sentence: Sentence | Clause) -> str:
    """The English sentence, lower case, words separated by single spaces."""
    return " ".join(word for word, _ in _english_sentence(_as_sentence(sentence)))


def render_french(sentence: Sentence | Clause) -> str:
    """The French translation, lower case, with elisions glued ("j'aime")."""
    return _join_french(_elided_words(_french_sentence(_as_sentence(sentence))))


def render_aligned(sentence: Sentence | Clause) -> tuple[str, str, tuple[int, ...]]:
    """English, French and, for each French word, the position of the English word it translates.

    The texts equal `render_english` and `render_french`. The alignment has one entry per French
    word as `tokenize(french)` splits it ("j'aime" is "j'" and "aime"), each the index of an
    English word in `english.split()` or -1 for none; `ALIGNMENT_RULES` says which word is which.
    """
    sentence = _as_sentence(sentence)
    english_words = _english_sentence(sentence)
    french_words = _elided_words(_french_sentence(sentence))
    english_position = {tag: position for position, (_, tag) in enumerate(english_words)}
    alignment = tuple(english_position.get(tag, -1) for _, tag in french_words)
    return " ".join(word for word, _ in english_words), _join_french(french_words), alignment


def alignment_pairs(english: str, french: str, alignment: Sequence[int]) -> list[tuple[str, str | None]]:
    """(French word, English word it translates or None) for each French word, for reading an alignment."""
    english_words = tokenize(english)
    return [(word, english_words[index] if index >= 0 else None) for word, index in zip(tokenize(french), alignment)]


def gold_alignment_matrix(alignment: Sequence[int], english_length: int, french_length: int) -> np.ndarray:
    """A (French words, English words) float32 matrix with 1 where a French word translates an English word.

    It has the shape of an attention map, so the page can outline the gold cells over the weights.
    The lengths may exceed the sentence's (a padded map, or a row for </s>): extra rows and columns
    stay 0. Raises ValueError when the alignment does not fit in the given lengths.
    """
    if len(alignment) > french_length:
        raise ValueError(f"The alignment has {len(alignment)} French words, more than the {french_length} rows.")
    matrix = np.zeros((french_length, english_length), dtype=np.float32)
    for row, column in enumerate(alignment):
        if column >= english_length:
            raise ValueError(f"French word {row} aligns to English word {column}, past the {english_length} columns.")
        if column >= 0:
            matrix[row, column] = 1.0
    return matrix


# --------------------------------------------------------------------------------------------------
# Sampling sentences
# --------------------------------------------------------------------------------------------------


# The word tables never change, so each (request, answer) is worked out once: generating the page's
# 48,500 pairs asked these two questions about 350,000 times.
@functools.cache
def _nouns_for(wanted: frozenset[str], refused: frozenset[str]) -> list[str]:
    return [
        name for name, noun in NOUNS.items() if (noun.kind in wanted or noun.tags & wanted) and not noun.tags & refused
    ]


@functools.cache
def _adjectives_for(noun: Noun, before: bool | None) -> list[str]:
    return [
        name
        for name, adjective in ADJECTIVES.items()
        if (before is None or adjective.before_noun == before) and describes(adjective, noun)
    ]


class _Sampler:
    """Draws sentence trees that make sense (people read books, rabbits eat carrots) from one Generator."""

    def __init__(self, generator: np.random.Generator):
        self.random = generator

    def chance(self, probability: float) -> bool:
        return bool(self.random.random() < probability)

    def pick(self, options: Sequence):
        return options[int(self.random.integers(len(options)))]

    def nouns_for(self, wanted: frozenset[str], refused: frozenset[str] = frozenset()) -> list[str]:
        return _nouns_for(wanted, refused)

    def adjectives_for(self, noun: Noun, before: bool | None) -> list[str]:
        return _adjectives_for(noun, before)

    def noun_phrase(
        self, wanted: frozenset[str], depth: int, allow_bare_plural: bool = False, refused: frozenset[str] = frozenset()
    ) -> NounPhrase:
        name = self.pick(self.nouns_for(wanted, refused))
        noun = NOUNS[name]
        plural = self.chance(0.35)
        determiner = self.pick(["the", "the", "the", "a", "a", "my", "this"])
        if determiner == "a" and plural and not allow_bare_plural:
            # A bare plural subject is generic in English ("dogs run"), which French says with
            # "les": keep "des" to objects, where both languages mean "some".
            determiner = "the"
        adjectives: list[str] = []
        roll = self.random.random()
        if roll < 0.3:
            before = self.adjectives_for(noun, True)
            if before:
                adjectives.append(self.pick(before))
        if 0.2 < roll < 0.45 or roll > 0.92:
            after = self.adjectives_for(noun, False)
            if after:
                adjectives.append(self.pick(after))
        relative = None
        if depth > 0 and self.chance(0.12):
            relative = self.relative_clause(name, depth - 1)
        return NounPhrase(name, determiner, plural, tuple(adjectives), relative)

    def relative_clause(self, head: str, depth: int) -> RelativeClause:
        noun = NOUNS[head]
        # An object relative needs a verb that takes this noun as object, and a subject that does it.
        object_verbs = [
            name
            for name, verb in VERBS.items()
            if verb.objects & ({noun.kind} | noun.tags) and not verb.refuses & noun.tags
        ]
        if noun.kind == "thing" or (object_verbs and self.chance(0.35)):
            verb_name = self.pick(object_verbs)
            verb = VERBS[verb_name]
            subject = self.subject(verb.subjects, depth=0)
            return RelativeClause("object", Clause(subject, verb_name, self.chance(0.25)))
        return RelativeClause("subject", self.predicate(None, noun, depth))

    def subject(self, kinds: frozenset[str], depth: int) -> NounPhrase | Pronoun:
        if "person" in kinds and self.chance(0.3):
            return Pronoun(self.pick(list(PRONOUNS)))
        return self.noun_phrase(kinds, depth)

    def predicate(self, subject: NounPhrase | Pronoun | None, noun: Noun | None, depth: int) -> Clause:
        """A clause for this subject (`noun` is its head noun; None for a pronoun)."""
        kind = noun.kind if noun is not None else "person"
        negated = self.chance(0.25)
        can_be = noun is not None or (isinstance(subject, Pronoun) and PRONOUNS[subject.word][2] is not None)
        if can_be and self.chance(0.2):
            if noun is not None:
                options = self.adjectives_for(noun, None)
            else:
                options = [name for name, adjective in ADJECTIVES.items() if "person" in adjective.applies_to]
            return Clause(subject, "be", negated, adjective=self.pick(options), place=self.place(depth))
        verbs = [name for name, verb in VERBS.items() if kind in verb.subjects]
        verb_name = self.pick(verbs)
        verb = VERBS[verb_name]
        obj = None
        if verb.objects and not (verb.intransitive and self.chance(0.5)):
            # "I like dogs" is generic in English and "j'aime les chiens" in French: no bare plural after "like".
            obj = self.noun_phrase(verb.objects, depth, allow_bare_plural=verb_name != "like", refused=verb.refuses)
        return Clause(subject, verb_name, negated, object=obj, place=self.place(depth))

    def place(self, depth: int) -> tuple[str, NounPhrase] | None:
        if not self.chance(0.2):
            return None
        preposition = self.pick(list(PREPOSITIONS))
        return preposition, self.noun_phrase(PREPOSITIONS[preposition][1], depth=min(depth, 0))

    def clause(self, depth: int) -> Clause:
        subject = self.subject(_LIVING, depth)
        noun = NOUNS[subject.noun] if isinstance(subject, NounPhrase) else None
        return self.predicate(subject, noun, depth)

    def sentence(self) -> Sentence:
        # Mostly short sentences, with a long tail: one clause in 78 % of sentences, three in 7 %.
        second = self.chance(0.22)
        clause_count = 1 + int(second) + int(second and self.chance(0.3))
        depth = 1 if clause_count < 3 else 0
        clauses = tuple(self.clause(depth) for _ in range(clause_count))
        conjunctions = tuple(self.pick(list(CONJUNCTIONS)) for _ in range(clause_count - 1))
        return Sentence(clauses, conjunctions)


def generate_aligned_pairs(
    count: int, seed: int = 0, max_words: int = 30, min_words: int = 3
) -> list[tuple[str, str, tuple[int, ...]]]:
    """`count` (English, French, alignment) triples drawn from the grammar, the same ones for the same seed.

    The alignment is `render_aligned`'s: for each French word, the index of the English word it
    translates, or -1. Sentences whose English or French side has fewer than `min_words` or more
    than `max_words` words are drawn again. Triples may repeat; `make_corpus` removes repeats.
    """
    sampler = _Sampler(np.random.default_rng(seed))
    triples: list[tuple[str, str, tuple[int, ...]]] = []
    while len(triples) < count:
        english, french, alignment = render_aligned(sampler.sentence())
        # The alignment has one entry per French word as `tokenize` counts them.
        lengths = (len(english.split()), len(alignment))
        if min(lengths) >= min_words and max(lengths) <= max_words:
            triples.append((english, french, alignment))
    return triples


def generate_pairs(count: int, seed: int = 0, max_words: int = 30, min_words: int = 3) -> list[tuple[str, str]]:
    """`count` (English, French) pairs drawn from the grammar, the same ones for the same seed.

    They are `generate_aligned_pairs` without the alignments, so both draw the same sentences.
    Pairs may repeat; `make_corpus` removes repeats.
    """
    return [(english, french) for english, french, _ in generate_aligned_pairs(count, seed, max_words, min_words)]


def make_corpus(train_count: int = 8000, test_count: int = 500, seed: int = 0, max_words: int = 30) -> Corpus:
    """Draw distinct pairs and split them, so that every held-out sentence is new to the model.

    Repeated English sentences are dropped before the split (short sentences repeat often): a
    held-out sentence seen in training would measure memory, not translation.
    """
    wanted = train_count + test_count
    # English sentence → (French, alignment): the first ones met, as generated.
    unique: dict[str, tuple[str, tuple[int, ...]]] = {}
    batch_seed = seed
    while len(unique) < wanted:
        for english, french, alignment in generate_aligned_pairs(wanted, batch_seed, max_words=max_words):
            unique.setdefault(english, (french, alignment))
        batch_seed += 1_000_003  # Another stream from the same seed if repeats left us short.
    entries = list(unique.items())
    order = np.random.default_rng(seed).permutation(len(entries))[:wanted]
    chosen = [entries[index] for index in order]
    # Only the held-out alignments are kept: the Attention page scores them, and nothing reads the
    # training ones.
    return Corpus(
        train=[(english, french) for english, (french, _) in chosen[test_count:]],
        test=[(english, french) for english, (french, _) in chosen[:test_count]],
        seed=seed,
        test_alignments=[alignment for _, (_, alignment) in chosen[:test_count]],
    )


# Another stream than `make_corpus`'s (seed, seed + 1,000,003, …) for the long held-out sentences.
LONG_HELD_OUT_SEED = 2_126_025


def long_held_out_pairs(
    corpus: Corpus, count: int = 200, min_words: int = 21, max_words: int = 30, seed: int = LONG_HELD_OUT_SEED
) -> list[tuple[str, str]]:
    """`count` distinct pairs whose English has `min_words` to `max_words` words, none in `corpus`.

    The corpus's 500 held-out sentences hold few long ones (27 of 21-30 words in the default corpus),
    too few to tell two models apart there. These are drawn from the same grammar under the same
    rule as the corpus (both sides 3 to 30 words, French counted as `tokenize` does), from another
    seed, keeping only English sentences that are in neither the corpus's training nor its held-out part.
    """
    seen = {english for english, _ in corpus.train} | {english for english, _ in corpus.test}
    sampler = _Sampler(np.random.default_rng(seed))
    pairs: list[tuple[str, str]] = []
    while len(pairs) < count:
        english, french, alignment = render_aligned(sampler.sentence())
        english_length = len(english.split())
        if not min_words <= english_length <= max_words or not 3 <= len(alignment) <= 30 or english in seen:
            continue
        seen.add(english)
        pairs.append((english, french))
    return pairs
