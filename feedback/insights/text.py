"""Text normalisation and feature extraction for short multilingual survey comments.

Comments arrive in English (and other space-separated languages), Chinese (no spaces) and
Persian (Arabic script, several code points for the same letter). One analyser handles all of
them so a single model serves a mixed inbox:

- `normalize` folds the variants that would otherwise split one word into several features:
  NFKC (full-width forms, Arabic presentation forms), Arabic ي/ى/ك → Persian ی/ک, hamza-seated
  alefs → ا, ة/ۀ → ه, harakat and tatweel removed, ZWNJ joined (می‌خواهم / میخواهم are one word),
  Persian and Arabic-Indic digits → ASCII, and every digit → 0 (“2 hours” and “3 hours” are the
  same complaint).
- CJK runs have no word boundaries, so they are represented by character unigrams and bigrams
  (the usual strong baseline for short Chinese text; no segmenter dependency).
- Everything else is split into words; features are word unigrams and bigrams, plus
  within-word character 3–5-grams (robust to typos and inflection: “waiting”/“waited”), plus
  “not_x” marks for words in a short window after a negation (“wasn't very helpful”).

The analyser returns words and character n-grams as separate lists so the vectoriser can weight
and normalise the two blocks independently (otherwise the many char n-grams swamp the words).
"""

from __future__ import annotations

import re
import unicodedata

# --- normalisation ----------------------------------------------------------------------------

_CHAR_MAP = {
    "ي": "ی", "ى": "ی", "ئ": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "ؤ": "و",
    "أ": "ا", "إ": "ا", "ٱ": "ا",
    "\u200c": "",  # ZWNJ: Persian writes the same word with ZWNJ, a space or nothing
    "\u200d": "", "\u200e": "", "\u200f": "", "\ufeff": "",  # joiners, direction marks, BOM
    "\u0640": "",  # tatweel (kashida) is purely typographic
    "’": "'", "‘": "'", "`": "'",
}  # fmt: skip
for _i in range(10):
    _CHAR_MAP[chr(0x06F0 + _i)] = "0"  # Persian digits
    _CHAR_MAP[chr(0x0660 + _i)] = "0"  # Arabic-Indic digits
    _CHAR_MAP[str(_i)] = "0"
for _cp in list(range(0x064B, 0x0660)) + [0x0670]:  # harakat, superscript alef
    _CHAR_MAP[chr(_cp)] = ""
_TRANSLATE = str.maketrans(_CHAR_MAP)

# Persian verb prefix and plural suffixes written with a plain space instead of ZWNJ.
_FA_PREFIX = re.compile(r"(?<![\w])(ن?می) (?=[\u0600-\u06FF])")
_FA_SUFFIX = re.compile(r"(?<=[\u0600-\u06FF]) (ها|های|هایی|تر|ترین)(?![\w])")


def normalize(text: str) -> str:
    """Canonical lower-case form of a comment (see module docstring for what is folded)."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLATE)
    if "م" in text or "ه" in text:
        text = _FA_SUFFIX.sub(r"\1", _FA_PREFIX.sub(r"\1", text))
    return text


# --- tokenisation -----------------------------------------------------------------------------


def word_set(words: str) -> frozenset[str]:
    """A frozenset from a whitespace-separated word list (readable long literals)."""
    return frozenset(words.split())


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff"
# Clause punctuation is tokenised too, so that one regex pass yields words and clause breaks.
# ':' is left out on purpose: digits are folded to 0 and times ("10:30") must not split.
_BREAKS = ".!?;\n,。！？；،؛，、"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}_]+(?:'[^\W{_CJK}_]+)*|[{re.escape(_BREAKS)}]")
_BREAK_SET = frozenset(_BREAKS)
_IS_CJK = re.compile(rf"[{_CJK}]")
# A contrastive conjunction starts a new clause: “the staff were lovely but the wait was awful”
# names two themes with opposite sentiment.
_CONJUNCTIONS = word_set("but however although though whereas except unfortunately اما ولی ولیکن ولیک")
_CJK_CONJ = re.compile(r"(?=但是|但|不过|可是|然而)")
# Words that flip the polarity of what follows. Chinese negators are handled as CJK bigrams
# (不好, 没有) which already carry the negation.
NEGATORS = word_set(
    "not no never nothing nobody none neither nor cannot without hardly barely "
    "نه نمی نیست نبود نشد نکرد هیچ بدون"
)
_NEG_WINDOW = 3


def clause_tokens(text: str) -> list[list[str]]:
    """Word tokens of a normalised text grouped by clause; a CJK run is one token."""
    out: list[list[str]] = []
    cur: list[str] = []
    for tok in _TOKEN.findall(text):
        if tok in _BREAK_SET:
            if cur:
                out.append(cur)
                cur = []
        elif tok in _CONJUNCTIONS:
            if cur:
                out.append(cur)
            cur = [tok]
        elif _IS_CJK.match(tok) and len(tok) > 1 and _CJK_CONJ.search(tok, 1):
            for part in _CJK_CONJ.split(tok):
                if part:
                    if cur:
                        out.append(cur)
                    cur = [part]
        else:
            cur.append(tok)
    if cur or not out:
        out.append(cur)
    return out


def tokens(text: str) -> list[str]:
    """Word tokens of a normalised text; a CJK run is returned as one token."""
    return [t for t in _TOKEN.findall(text) if t not in _BREAK_SET]


def is_cjk(token: str) -> bool:
    return bool(_IS_CJK.match(token))


def is_negator(tok: str) -> bool:
    return tok in NEGATORS or tok.endswith("n't") or (tok.startswith("ن") and tok[1:3] == "می")


def word_features(toks: list[str], negation: bool = True) -> list[str]:
    """Word unigrams and bigrams; CJK runs become character unigrams and bigrams."""
    out: list[str] = []
    prev: str | None = None
    neg_left = 0
    for tok in toks:
        if _IS_CJK.match(tok):
            out.extend(tok)
            out.extend([tok[i : i + 2] for i in range(len(tok) - 1)])
            prev = None
            continue
        out.append(tok)
        if prev is not None:
            out.append(prev + " " + tok)
        prev = tok
        if negation:
            if neg_left:
                out.append("not_" + tok)
                neg_left -= 1
            if is_negator(tok):
                neg_left = _NEG_WINDOW
    return out


CHAR_MIN, CHAR_MAX = 3, 5


def token_char_ngrams(tok: str) -> list[str]:
    """Character 3–5-grams of one padded word (like scikit-learn's char_wb)."""
    w = " " + tok + " "
    n_chars = len(w)
    out: list[str] = []
    for n in range(CHAR_MIN, min(CHAR_MAX, n_chars) + 1):
        out.extend([w[i : i + n] for i in range(n_chars - n + 1)])
    return out


def char_features(toks: list[str]) -> list[str]:
    """Character n-grams of every non-CJK word of a clause."""
    out: list[str] = []
    for tok in toks:
        if not _IS_CJK.match(tok):
            out.extend(token_char_ngrams(tok))
    return out


def analyze(text: str) -> tuple[list[str], list[str]]:
    """(word features, char features) of a raw comment."""
    toks = tokens(normalize(text))
    return word_features(toks), char_features(toks)
