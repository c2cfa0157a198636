#!/usr/bin/python3
"""Tiny Marian tokenizer files and goldens for MarianTokenizerTests.

Trains two small SentencePiece *unigram* models (source.spm, target.spm) with Debian's sentencepiece, writes a Marian
style vocab.json (</s>=0, <unk>=1, then the pieces of both models, <pad> last = decoder start), and records what
SentencePiece's own C++ encoder produces for a set of sentences, mapped through vocab.json the way Hugging Face's
MarianTokenizer does (pieces -> vocab.json id, unknown -> <unk>, </s> appended; a leading >>xx<< language code is one
token). Independent of the C# code: the reference segmentation is sentencepiece's.
Run: /usr/bin/python3 tests/AttnScope.Tests/Golden/make_marian_spm_golden.py   (needs apt-get install -y python3-sentencepiece)
"""
import json, os, re, tempfile
import sentencepiece as spm

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny-marian-spm")
os.makedirs(here, exist_ok=True)
src_text = """the cat sat on the mat
the dog sleeps in the house
a small house stands near the river
children play in the garden every morning
the weather is nice today
she reads a book about old ships
we walk along the river at night
my brother likes green apples
the train leaves at seven o'clock
they are building a new bridge
""" * 3
tgt_text = """die katze sitzt auf der matte
der hund schläft im haus
ein kleines haus steht nahe dem fluss
kinder spielen jeden morgen im garten
das wetter ist heute schön
sie liest ein buch über alte schiffe
wir gehen nachts am fluss entlang
mein bruder mag grüne äpfel
der zug fährt um sieben uhr ab
sie bauen eine neue brücke
""" * 3

def train(text, prefix, size):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
    spm.SentencePieceTrainer.train(input=f.name, model_prefix=prefix, vocab_size=size, model_type="unigram",
                                   character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,  # sentencepiece defaults, as opus-mt models have
                                   unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>")
    os.unlink(f.name)
    os.replace(prefix + ".model", prefix.replace("_m", "") + ".spm")
    os.unlink(prefix + ".vocab")

train(src_text, os.path.join(here, "source_m"), 60)
train(tgt_text, os.path.join(here, "target_m"), 64)
sp_src = spm.SentencePieceProcessor(model_file=os.path.join(here, "source.spm"))
sp_tgt = spm.SentencePieceProcessor(model_file=os.path.join(here, "target.spm"))

vocab = {"</s>": 0, "<unk>": 1, ">>de<<": 2}
for sp in (sp_src, sp_tgt):
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        if p in ("<unk>", "</s>", "<s>"): continue
        vocab.setdefault(p, len(vocab))
# Leave one source piece out of vocab.json so the <unk> mapping of a known piece is tested.
missing = [sp_src.id_to_piece(i) for i in range(sp_src.get_piece_size()) if len(sp_src.id_to_piece(i)) > 3][-1]
del vocab[missing]
vocab = {p: i for i, p in enumerate(vocab)}
vocab["<pad>"] = len(vocab)
with open(os.path.join(here, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False, indent=0)

lang = re.compile(r">>.+?<<")
def encode(sp, text):
    m = lang.match(text)
    code = []
    if m and m.group(0) in vocab:
        code, text = [m.group(0)], text[m.end():]
    pieces = code + sp.encode(text, out_type=str)
    return pieces, [vocab.get(p, vocab["<unk>"]) for p in pieces] + [vocab["</s>"]]

src_cases = ["the cat sat on the mat", "  the   dog  sleeps ", "a zebra eats QUICKLY!", ">>de<< the river at night",
             "children play", "ünïcödé words", "the " + missing.replace("\u2581", "") + " house", "x"]
tgt_cases = ["die katze sitzt auf der matte", "der hund schläft im haus", "ein zebra isst SCHNELL!", "äpfel"]
out = {"missing_piece": missing, "source": [], "target": []}
for t in src_cases:
    pieces, ids = encode(sp_src, t)
    out["source"].append({"text": t, "pieces": pieces, "ids": ids})
for t in tgt_cases:
    pieces, ids = encode(sp_tgt, t)
    # Decoding: ids -> pieces (specials dropped) -> sentencepiece's own decode_pieces.
    inv = {i: p for p, i in vocab.items()}
    back = sp_tgt.decode_pieces([inv[i] for i in ids if inv[i] not in ("</s>", "<pad>", "<unk>")])
    out["target"].append({"text": t, "pieces": pieces, "ids": ids, "decoded": back})
with open(os.path.join(here, "tokenizer_golden.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
print(len(vocab), "ids; missing", missing)
