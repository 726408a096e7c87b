# %% include: lib.data.corpus: PAD_ID, EncodedPairs

# %% The sentence pairs and the vocabularies
TOKEN = re.compile(r"[^\W\d_]+'|\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower case, punctuation split off, an elided article kept with its apostrophe: "j'aime" → ["j'", "aime"]."""
    text = " ".join(text.replace("\u2019", "'").replace("\u00a0", " ").lower().split())
    return TOKEN.findall(text)


def read_pairs(name: str) -> list[tuple[str, str]]:
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line]


def read_vocabulary(name: str, sentences: list[str]) -> dict[str, int]:
    """The run's vocabulary (its JSON file); without the file, the same kind of table built from `sentences`:
    <pad>, <s>, </s>, <unk>, then every word by falling frequency (ties in alphabetical order)."""
    if (folder / name).exists():
        words = json.loads((folder / name).read_text(encoding="utf-8"))["words"]
    else:
        counts = Counter(word for sentence in sentences for word in tokenize(sentence))
        specials = ["<pad>", "<s>", "</s>", "<unk>"]
        words = specials + sorted((w for w in counts if w not in specials), key=lambda w: (-counts[w], w))
    return {word: index for index, word in enumerate(words)}


def pad(rows: list[list[int]]) -> np.ndarray:
    array = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int32)
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array


def encode(pairs, english_ids: dict[str, int], french_ids: dict[str, int]) -> EncodedPairs:
    """The three padded arrays of teacher forcing: English ids, <s> + French ids, and French ids + </s>."""
    sources = [[english_ids.get(word, UNKNOWN_ID) for word in tokenize(english)] for english, _ in pairs]
    targets = [[french_ids.get(word, UNKNOWN_ID) for word in tokenize(french)] for _, french in pairs]
    return EncodedPairs(pad(sources), pad([[START_ID, *t] for t in targets]), pad([[*t, END_ID] for t in targets]))


train_pairs, held_out_pairs = read_pairs("train_pairs.tsv"), read_pairs("held_out_pairs.tsv")
english_ids = read_vocabulary("english_vocabulary.json", [english for english, _ in train_pairs])
french_ids = read_vocabulary("french_vocabulary.json", [french for _, french in train_pairs])
train = encode(train_pairs, english_ids, french_ids)
held_out = encode(held_out_pairs, english_ids, french_ids)
print(f"{len(train_pairs)} training and {len(held_out_pairs)} held-out pairs")
print(f"{len(english_ids)} English and {len(french_ids)} French words")


# %% Batches of sentences of one length, in one seeded order: the app's own batching
# %% include: lib.models.seq2seq: DEFAULT_BATCH_SIZE, BUCKET_WORDS, bucketed_batches, _shape_revealing_order, _fit, BucketedPairs


batches = BucketedPairs(train, bucketed_batches(train, BATCH_SIZE, BUCKET_WORDS, SEED), BUCKET_WORDS, SEED + 1)
