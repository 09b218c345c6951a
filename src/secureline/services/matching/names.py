"""Names in any script brought to comparable tokens, and a token-level comparison that
survives transliteration.

nomenklatura's ``logic-v2`` compares names well within a script and through rigour's
romanisation, but a Hebrew or Hangul rendering romanised letter by letter does not line up
with the English spelling (``יצחק`` romanises as ``yzhq``; the English says ``Yitzhak``), and
one shared common token makes a false match. Two measured additions (docs/matching.md):

- a **consonant skeleton** per token: the romanised token with vowels, ``h``, ``w`` and ``y``
  dropped and similar consonants merged into one class (``b p f v``, ``c g k q``, ``d t``,
  ``s z``, ``l r``). Abjads (Arabic, Hebrew) write few vowels, romanisers disagree about
  them, and Korean's ``g/k``, ``r/l`` are one letter each; the skeleton keeps what every
  rendering agrees on.
- an **assignment of tokens** in any order, where every token of the shorter name must find
  its partner: "Kim Jong-un" and "Kim Jong-il" share two of three tokens, and the third
  disagreeing is what tells them apart.

Hangul names are split into syllables first: ``김정은`` is family name ``gim`` and given name
``jeongeun``, the way the English ``Kim Jong-un`` reads once its hyphen is joined.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass

from rigour.names import remove_person_prefixes
from rigour.text.distance import levenshtein
from rigour.text.translit import ascii_text

_SEPARATORS = re.compile(r"[\s,;/()\[\]\"]+")
_DIGRAPHS = (
    ("tsch", "c"),
    ("sch", "s"),
    ("tch", "c"),
    ("tz", "s"),
    ("ts", "s"),
    ("sh", "s"),
    ("ch", "j"),
    ("kh", "h"),
    ("gh", "g"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("ck", "k"),
    ("qu", "k"),
    ("x", "ks"),
)
_CLASSES = str.maketrans(
    {
        "b": "b",
        "p": "b",
        "f": "b",
        "v": "b",
        "c": "k",
        "g": "k",
        "k": "k",
        "q": "k",
        "d": "t",
        "t": "t",
        "s": "s",
        "z": "s",
        "l": "r",
        "r": "r",
        "j": "j",
        "m": "m",
        "n": "n",
        "w": "w",
    }
)
_DROPPED = frozenset("aeiouhy")
#: tokens that are particles, not names: they carry no evidence either way
_PARTICLES = frozenset(
    {"al", "el", "bin", "ibn", "bn", "ben", "bint", "van", "von", "der", "de", "la", "le", "da",
     "di", "du", "del", "dos", "das", "abu", "ul", "ud", "y"}
)  # fmt: skip


#: Korean family names as they are usually spelled in Latin letters: the Revised
#: Romanisation that a romaniser applies (``이`` -> ``i``, ``박`` -> ``bag``) is how almost
#: no passport or newspaper spells them. The most frequent family names, from the common
#: published spellings.
_KOREAN_FAMILY = {
    "김": "kim", "이": "lee", "박": "park", "최": "choi", "정": "jung", "강": "kang",
    "조": "cho", "윤": "yoon", "장": "jang", "임": "lim", "한": "han", "오": "oh", "서": "seo",
    "신": "shin", "권": "kwon", "황": "hwang", "안": "ahn", "송": "song", "류": "ryu",
    "전": "jeon", "홍": "hong", "고": "ko", "문": "moon", "양": "yang", "손": "son", "배": "bae",
    "백": "baek", "허": "heo", "유": "yoo", "남": "nam", "심": "shim", "노": "roh", "하": "ha",
    "곽": "kwak", "성": "sung", "차": "cha", "주": "joo", "우": "woo", "구": "koo", "민": "min",
    "나": "na", "진": "jin", "지": "ji", "엄": "um", "채": "chae", "원": "won", "천": "chun",
    "방": "bang", "공": "kong", "현": "hyun", "함": "ham", "변": "byun", "여": "yeo",
    "추": "choo", "도": "do", "석": "seok", "선": "sun", "설": "seol", "마": "ma", "길": "gil",
    "연": "yeon", "표": "pyo", "명": "myung", "기": "ki", "반": "ban", "왕": "wang",
    "금": "keum", "옥": "ok", "육": "yook", "인": "in", "맹": "maeng", "제": "je", "탁": "tak",
    "국": "kook", "편": "pyun", "용": "yong",
}  # fmt: skip


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


def _romanise_hangul(word: str) -> list[str]:
    """A Korean personal name: the first syllable is the family name, the rest the given
    name (Korean family names are one syllable, bar a few rare ones)."""
    syllables = [ascii_text(c).lower() for c in word]
    if len(syllables) < 2:
        return syllables
    family = _KOREAN_FAMILY.get(word[0], syllables[0])
    return [family, "".join(syllables[1:])]


@functools.lru_cache(maxsize=4_096)
def tokens(name: str) -> tuple[str, ...]:
    """A name as lower-case ASCII tokens: honorifics and titles dropped (rigour's lists),
    hyphenated parts joined, particles removed, every script romanised."""
    text = unicodedata.normalize("NFC", remove_person_prefixes(name))
    out: list[str] = []
    for word in _SEPARATORS.split(text):
        if not word:
            continue
        if all(_is_hangul(c) for c in word) and len(word) <= 4:
            out += _romanise_hangul(word)
            continue
        arabic = any("\u0600" <= c <= "\u06ff" for c in word)
        # ta marbuta is a final -a (أسامة is Osama), not the t a romaniser writes
        spelled = word.replace("\u0629", "\u0627") if arabic else word
        for piece in ascii_text(spelled).lower().split():
            parts = [p for p in piece.split("-") if p]
            if len(parts) > 1 and parts[0] in _PARTICLES:
                parts = parts[1:]  # al-Assad, el-Sisi, ben-Gurion: the name is what follows
            joined = re.sub(r"[^a-z0-9]", "", "".join(parts))
            if arabic and joined.startswith("al") and len(joined) > 4:
                joined = joined[2:]  # the article written on to the word
            if joined and joined not in _PARTICLES:
                out.append(joined)
    return tuple(out)


@functools.lru_cache(maxsize=16_384)
def skeleton(token: str, collapse: bool = True) -> str:
    """The token's consonant classes (see the module's docstring). ``collapse``: doubled
    letters are one sound (Mohammed, Muhamad), but a vowel-less romanisation writes two
    consonants side by side (معمر is mmr, Muammar): similarity tries both."""
    # Collapsing letters, not classes: after classing, Keqiang's k-q would be one consonant
    # and the name equal to Qiang.
    text = re.sub(r"(.)\1+", r"\1", token) if collapse else token
    for digraph, replacement in _DIGRAPHS:
        text = text.replace(digraph, replacement)
    classes = [c.translate(_CLASSES) for c in text if c not in _DROPPED and c.isalpha()]
    return "".join(classes)


#: consonant classes that renderings swap between (Arabic ج as j or g, Korean ㅈ as j or ch,
#: Hebrew ו as v or a vowel): half a substitution  # noqa: RUF003
_NEAR = frozenset({("j", "k"), ("k", "j"), ("j", "s"), ("s", "j"), ("b", "m"), ("m", "b")})


def _gap(c: str) -> float:
    # w is a consonant in Persian jwad (Javad) and a vowel in Hebrew hwd (Ehud): cheap to
    # leave out, cheap to read as v
    return 0.3 if c == "w" else 1.0


def _skeleton_distance(a: str, b: str) -> float:
    previous = [0.0]
    for cb in b:
        previous.append(previous[-1] + _gap(cb))
    for ca in a:
        current = [previous[0] + _gap(ca)]
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cost = 0.0
            elif (ca, cb) in _NEAR:
                cost = 0.5
            elif "w" in (ca, cb) and "b" in (ca, cb):
                cost = 0.3
            else:
                cost = 1.0
            current.append(
                min(previous[j] + _gap(ca), current[j - 1] + _gap(cb), previous[j - 1] + cost)
            )
        previous = current
    return previous[-1]


@functools.lru_cache(maxsize=16_384)
def similarity(a: str, b: str) -> float:
    """How alike two tokens are: the better of their spelling and their skeletons (both by
    Levenshtein: Jaro-Winkler's bonus for a shared prefix makes ``Jong-un`` and ``Jong-il``
    near-equal); an initial agrees with a token it begins."""
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return 0.9 if a[0] == b[0] else 0.0
    spelled = 1.0 - levenshtein(a, b) / max(len(a), len(b))
    best = spelled
    for collapse in (True, False):
        sa, sb = skeleton(a, collapse), skeleton(b, collapse)
        if sa and sb:
            best = max(best, _sounded(sa, sb))
    return best


def _sounded(sa: str, sb: str) -> float:
    longest = max(len(sa), len(sb))
    sounded = 1.0 - _skeleton_distance(sa, sb) / longest
    if sa.lstrip("w")[:1] != sb.lstrip("w")[:1]:
        # a name's first consonant is the one every rendering keeps (Lyudmila and Vladimir
        # share four of five consonant classes, but not the first)
        sounded *= 0.85
    if longest <= 1:
        # one consonant agrees by chance too often to count for as much as a longer one
        sounded *= 0.85
    elif longest == 2:
        sounded *= 0.92
    return sounded * 0.97


@dataclass(frozen=True)
class TokenPair:
    left: str
    right: str
    similarity: float


@dataclass(frozen=True)
class NameComparison:
    score: float
    pairs: tuple[TokenPair, ...]
    left_extra: tuple[str, ...]
    right_extra: tuple[str, ...]


def _merged(toks: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The tokens, and the tokens with one adjacent pair joined (``jin ping`` is ``jinping``,
    ``abd al rahman`` is ``abdulrahman``)."""
    variants = [toks]
    for i in range(len(toks) - 1):
        variants.append((*toks[:i], toks[i] + toks[i + 1], *toks[i + 2 :]))
    return variants


def _assign(left: tuple[str, ...], right: tuple[str, ...]) -> NameComparison:
    """Greedy best-first assignment of tokens (names have a handful: exact enough)."""
    scored = sorted(
        ((similarity(a, b), i, j) for i, a in enumerate(left) for j, b in enumerate(right)),
        reverse=True,
    )
    used_l: set[int] = set()
    used_r: set[int] = set()
    pairs: list[TokenPair] = []
    for sim, i, j in scored:
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        pairs.append(TokenPair(left[i], right[j], sim))
    left_extra = tuple(t for i, t in enumerate(left) if i not in used_l)
    right_extra = tuple(t for j, t in enumerate(right) if j not in used_r)
    if not pairs:
        return NameComparison(0.0, (), left_extra, right_extra)
    weights = [max(len(p.left), len(p.right)) for p in pairs]
    mean = sum(p.similarity * w for p, w in zip(pairs, weights, strict=True)) / sum(weights)
    worst = min(p.similarity for p in pairs)
    # Every paired token must agree: one that does not is a different person sharing the
    # others (brothers, a common given name), however long the rest.
    score = mean if worst >= 0.8 else min(mean, worst + 0.05)
    # A name that has tokens the other lacks (a middle name, a second family name) is a
    # little less sure; a single shared token is not a name match on its own.
    extras = len(left_extra) + len(right_extra)
    score *= 0.97**extras
    if (left_extra and left_extra[0] == left[0]) or (right_extra and right_extra[0] == right[0]):
        # an unmatched first token is someone's own given name before a shared father's
        # and family name (Uday Saddam Hussein is not Saddam Hussein)
        score *= 0.85
    if len(pairs) == 1 and (left_extra or right_extra):
        score *= 0.8
    return NameComparison(score, tuple(pairs), left_extra, right_extra)


def compare(left: str, right: str) -> NameComparison:
    """Compare two names in any scripts and word order."""
    lt, rt = tokens(left), tokens(right)
    if not lt or not rt:
        return NameComparison(0.0, (), lt, rt)
    best = _assign(lt, rt)
    # Joining tokens only on the side that has more of them, to line up with the other:
    # joining both sides lets a shared given name swallow different family names.
    if len(lt) > len(rt):
        candidates = [(lv, rt) for lv in _merged(lt)[1:]]
    elif len(rt) > len(lt):
        candidates = [(lt, rv) for rv in _merged(rt)[1:]]
    else:
        candidates = []
    for lv, rv in candidates:
        found = _assign(lv, rv)
        if found.score > best.score:
            best = found
    return best


def name_keys(name: str) -> set[str]:
    """The blocking keys of a name: each token's skeleton, and each adjacent pair's joined,
    so that a query finds candidates in any script and word order."""
    toks = tokens(name)
    keys = {skeleton(t) for t in toks if len(t) > 1}
    keys |= {skeleton(a + b) for a, b in itertools.pairwise(toks)}
    return {k for k in keys if len(k) >= 2}
