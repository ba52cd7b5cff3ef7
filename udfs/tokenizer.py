"""Feature tokens of users in one numba pass over Arrow text buffers, then counted or looked up.

Families: from recent captions `hashtag`, `mention`, `word`, `char3` (character 3-grams of words),
`char` (character 2- to 4-grams of words), `emoji`; from the profile `bio_word` (bio hashtags,
mentions, words and emoji), `bio_char`, `name_word` and `name_char` (the n-grams of `char`). Text is lower-cased
(Arrow's Unicode-aware `utf8_lower`), emoji variation selectors (U+FE0F) dropped; a user has each
(family, token) once. The rules, on code points:

- hashtag: `#` followed by letters, marks, digits or `_` of any script (#café, #東京); it ends
  where anything else starts, so #paris🇫🇷 is #paris. mention: the same after `@` (@anna).
- word: a run of at least two letters/marks/digits/`_`/`'` not preceded by one of them, `#` or `@`.
- char3: the 3-grams of every word (a word of at most three characters is its own 3-gram).
- char: for n = 2, 3, 4 the n-grams of every word, until n reaches the word's length, where the
  whole word is the last gram (`hi` -> hi; `ok!go` -> ok, go; `hello` -> he..lo, hel..llo, hell, ello).
- emoji: a pair of regional indicators (a flag) or one pictograph (U+1F300–1FAFF, U+2600–27BF,
  ⭐, ⭕, 🀄, 🃏).

Every token is a byte span of the lower-cased text, so nothing is copied until a token is new to
a table. Two consumers share one open-addressing hash table keyed by (family, bytes):
`TokenCounter` counts labelled users per (token, class) over a whole Spark partition (token_mi),
and `VocabLookup` maps users' tokens to a vocab's indices as CSR (train, score). Spark does the
grouping of a user's posts and the cross-partition sums; nothing here loops over rows in Python.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import unicodedata
from pathlib import Path

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import udfs

FAMILIES = ("hashtag", "word", "char3", "emoji", "bio_word", "name_word", "char", "bio_char", "name_char", "mention")
CAPTION_FAMILIES = ("hashtag", "word", "char3", "emoji", "char", "mention")
PROFILE_FAMILIES = ("bio_word", "name_word", "bio_char", "name_char")
CHAR_GRAMS = (2, 4)  # the `char` families' n-gram lengths, smallest and largest
FEATURE_SEP = "\t"  # a feature (a vocab entry) is "<family>\t<token>"

WORDCHAR, PICTOGRAPH, REGIONAL = 1, 2, 4
_SRC_BIO, _SRC_NAME, _SRC_CAPTION = 0, 1, 2
_EMPTY = np.uint64(0)

_CLASSES: np.ndarray | None = None


def char_classes() -> np.ndarray:
    """uint8 flags per code point. Building them walks all 1.1M code points (~0.8 s), which every
    fresh Spark Python worker would pay, so they are kept next to numba's cache, keyed by the
    Unicode version and this function's rules."""
    global _CLASSES
    if _CLASSES is None:
        key = hashlib.sha1(f"{unicodedata.unidata_version}{inspect.getsource(_char_class_flags)}".encode()).hexdigest()[:16]
        path = Path(udfs.NUMBA_CACHE_DIR) / f"char_classes-{key}.npy"
        try:
            _CLASSES = np.load(path)
        except (OSError, ValueError):
            _CLASSES = _char_class_flags()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(f".{os.getpid()}.tmp")
                with open(partial, "wb") as f:
                    np.save(f, _CLASSES)
                os.replace(partial, path)  # atomic: concurrent workers never read half a file
            except OSError:
                pass  # a read-only cache only costs the rebuild
    return _CLASSES


def _char_class_flags() -> np.ndarray:
    flags = np.zeros(0x110000, dtype=np.uint8)
    for cp in range(0x110000):
        if unicodedata.category(chr(cp))[0] in "LMN":
            flags[cp] = WORDCHAR
    flags[ord("_")] = WORDCHAR
    for lo, hi in ((0x1F300, 0x1FAFF), (0x2600, 0x27BF)):
        flags[lo:hi + 1] |= PICTOGRAPH
    for cp in (0x2B50, 0x2B55, 0x1F004, 0x1F0CF):
        flags[cp] |= PICTOGRAPH
    flags[0x1F1E6:0x1F1FF + 1] |= REGIONAL
    return flags


def family_codes(families) -> np.ndarray:
    """int8 per FAMILIES entry: its own code when wanted, -1 when not."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown token families {sorted(unknown)}")
    return np.array([i if f in families else -1 for i, f in enumerate(FAMILIES)], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# tokenising one text


@nb.njit(cache=True, nogil=True)
def _code_point(data, p, end):
    """(code point, byte length) of the UTF-8 sequence at data[p] (p < end)."""
    b = data[p]
    if b < 0x80:
        return np.int64(b), 1
    if b >= 0xF0 and p + 3 < end:
        cp = ((np.int64(b) & 0x07) << 18) | ((np.int64(data[p + 1]) & 0x3F) << 12) \
            | ((np.int64(data[p + 2]) & 0x3F) << 6) | (np.int64(data[p + 3]) & 0x3F)
        return (cp if cp <= 0x10FFFF else np.int64(0xFFFD)), 4
    if b >= 0xE0 and p + 2 < end:
        return ((np.int64(b) & 0x0F) << 12) | ((np.int64(data[p + 1]) & 0x3F) << 6) | (np.int64(data[p + 2]) & 0x3F), 3
    if b >= 0xC0 and p + 1 < end:
        return ((np.int64(b) & 0x1F) << 6) | (np.int64(data[p + 1]) & 0x3F), 2
    return np.int64(0xFFFD), 1  # not valid UTF-8 (Arrow strings are, so this is only a guard)


@nb.njit(cache=True, nogil=True)
def _decode(data, start, end, cps, offs):
    """Code points of data[start:end] and the byte offset of each (offs[m] = end)."""
    m = 0
    p = start
    while p < end:
        cp, n = _code_point(data, p, end)
        cps[m] = cp
        offs[m] = p
        m += 1
        p += n
    offs[m] = end
    return m


@nb.njit(cache=True, nogil=True)
def _marked(data, start, end, classes, marker, fam, src, o_fam, o_src, o_start, o_end, n):
    """Hashtags (marker `#`) or mentions (`@`) straight on the bytes: an ASCII byte is always that
    code point in UTF-8, so only the characters after one are decoded."""
    p = start
    while p < end:
        if data[p] != marker:
            p += 1
            continue
        q = p + 1
        while q < end:
            b = data[q]
            if b < 0x80:  # ASCII without decoding
                if (classes[b] & WORDCHAR) == 0:
                    break
                q += 1
                continue
            cp, size = _code_point(data, q, end)
            if (classes[cp] & WORDCHAR) == 0:
                break
            q += size
        if q > p + 1:
            o_fam[n], o_src[n], o_start[n], o_end[n] = fam, src, p, q
            n += 1
            p = q
        else:
            p += 1
    return n


@nb.njit(cache=True, nogil=True)
def _is_word(classes, cp):
    return (classes[cp] & WORDCHAR) != 0 or cp == 39  # 39: apostrophe


@nb.njit(cache=True, nogil=True)
def _text_tokens(data, start, end, classes, fam_hashtag, fam_mention, fam_word, fam_char3, fam_char, fam_emoji,
                 src, cps, offs, o_fam, o_src, o_start, o_end, n):
    """Appends the text's tokens (family, source, byte start, byte end) at position n; returns the
    new n. The output arrays hold at least n + 6 * (end - start) + 4 entries."""
    if fam_hashtag >= 0:
        n = _marked(data, start, end, classes, 35, fam_hashtag, src, o_fam, o_src, o_start, o_end, n)
    if fam_mention >= 0:
        n = _marked(data, start, end, classes, 64, fam_mention, src, o_fam, o_src, o_start, o_end, n)
    if fam_word < 0 and fam_char3 < 0 and fam_char < 0 and fam_emoji < 0:
        return n  # hashtags and mentions never need the text decoded
    m = _decode(data, start, end, cps, offs)
    if fam_word >= 0 or fam_char3 >= 0 or fam_char >= 0:
        i = 0
        while i < m:
            c = cps[i]
            if _is_word(classes, c):
                prev_ok = True
                if i > 0:
                    q = cps[i - 1]
                    prev_ok = not (q == 35 or q == 64 or (classes[q] & WORDCHAR) != 0)
                if prev_ok:
                    j = i + 1
                    while j < m and _is_word(classes, cps[j]):
                        j += 1
                    if j - i >= 2:
                        if fam_word >= 0:
                            o_fam[n], o_src[n], o_start[n], o_end[n] = fam_word, src, offs[i], offs[j]
                            n += 1
                        if fam_char3 >= 0:
                            if j - i <= 3:
                                o_fam[n], o_src[n], o_start[n], o_end[n] = fam_char3, src, offs[i], offs[j]
                                n += 1
                            else:
                                for k in range(i, j - 2):
                                    o_fam[n], o_src[n], o_start[n], o_end[n] = fam_char3, src, offs[k], offs[k + 3]
                                    n += 1
                        if fam_char >= 0:
                            for g in range(CHAR_GRAMS[0], CHAR_GRAMS[1] + 1):
                                if j - i <= g:
                                    o_fam[n], o_src[n], o_start[n], o_end[n] = fam_char, src, offs[i], offs[j]
                                    n += 1
                                    break
                                for k in range(i, j - g + 1):
                                    o_fam[n], o_src[n], o_start[n], o_end[n] = fam_char, src, offs[k], offs[k + g]
                                    n += 1
                        i = j
                        continue
            i += 1
    if fam_emoji >= 0:
        i = 0
        while i < m:
            c = cps[i]
            if (classes[c] & REGIONAL) != 0 and i + 1 < m and (classes[cps[i + 1]] & REGIONAL) != 0:
                o_fam[n], o_src[n], o_start[n], o_end[n] = fam_emoji, src, offs[i], offs[i + 2]
                n += 1
                i += 2
            elif (classes[c] & PICTOGRAPH) != 0:
                o_fam[n], o_src[n], o_start[n], o_end[n] = fam_emoji, src, offs[i], offs[i + 1]
                n += 1
                i += 1
            else:
                i += 1
    return n


@nb.njit(cache=True, nogil=True)
def _user_tokens(u, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data, fams, classes,
                 scratch, out):
    """All tokens of user u (with repeats) into `out` (fam, src, start, end arrays); returns
    (count, scratch, out), reallocated when the user's texts need more room."""
    cps, offs = scratch
    o_fam, o_src, o_start, o_end = out
    longest = max(bio_off[u + 1] - bio_off[u], name_off[u + 1] - name_off[u])
    total = bio_off[u + 1] - bio_off[u] + name_off[u + 1] - name_off[u]
    for c in range(cap_list[u], cap_list[u + 1]):
        size = cap_off[c + 1] - cap_off[c]
        total += size
        longest = max(longest, size)
    if cps.shape[0] < longest + 1:
        cps = np.empty(2 * longest + 1, np.int64)
        offs = np.empty(2 * longest + 2, np.int64)
    # char n-grams emit up to 3 tokens a character beside word and char3; without them 3 suffice
    need = (6 if (fams[6] >= 0 or fams[7] >= 0 or fams[8] >= 0) else 3) * total + 4 * (cap_list[u + 1] - cap_list[u] + 2)
    if o_fam.shape[0] < need:
        o_fam = np.empty(2 * need, np.int64)
        o_src = np.empty(2 * need, np.int64)
        o_start = np.empty(2 * need, np.int64)
        o_end = np.empty(2 * need, np.int64)
    n = 0
    # bio: hashtags, mentions, words and emoji all in bio_word, n-grams in bio_char; name: words
    # in name_word, n-grams in name_char (positions as in FAMILIES)
    n = _text_tokens(bio_data, bio_off[u], bio_off[u + 1], classes, fams[4], fams[4], fams[4], -1, fams[7], fams[4],
                     _SRC_BIO, cps, offs, o_fam, o_src, o_start, o_end, n)
    n = _text_tokens(name_data, name_off[u], name_off[u + 1], classes, -1, -1, fams[5], -1, fams[8], -1, _SRC_NAME,
                     cps, offs, o_fam, o_src, o_start, o_end, n)
    if fams[0] >= 0 or fams[1] >= 0 or fams[2] >= 0 or fams[3] >= 0 or fams[6] >= 0 or fams[9] >= 0:
        for c in range(cap_list[u], cap_list[u + 1]):
            n = _text_tokens(cap_data, cap_off[c], cap_off[c + 1], classes, fams[0], fams[9], fams[1], fams[2],
                             fams[6], fams[3], _SRC_CAPTION, cps, offs, o_fam, o_src, o_start, o_end, n)
    return n, (cps, offs), (o_fam, o_src, o_start, o_end)


# ---------------------------------------------------------------------------------------------
# the (family, bytes) hash table


@nb.njit(cache=True, nogil=True)
def _hash(fam, data, s, e):
    h = np.uint64(14695981039346656037) ^ np.uint64(fam + 1)
    for p in range(s, e):
        h = (h ^ np.uint64(data[p])) * np.uint64(1099511628211)
    h ^= h >> np.uint64(29)
    return h | np.uint64(1)  # 0 marks an empty slot


@nb.njit(cache=True, nogil=True)
def _find(keys, t_fam, t_start, t_len, arena, h, fam, data, s, e):
    """Slot holding (fam, data[s:e]), or the empty slot where it would go."""
    mask = keys.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    length = e - s
    while True:
        k = keys[slot]
        if k == _EMPTY:
            return slot
        if k == h and t_fam[slot] == fam and t_len[slot] == length:
            a = t_start[slot]
            same = True
            for p in range(length):
                if arena[a + p] != data[s + p]:
                    same = False
                    break
            if same:
                return slot
        slot = (slot + 1) & mask


@nb.njit(cache=True, nogil=True)
def _regrow(keys, t_fam, t_start, t_len, counts, arena):
    """The table at twice the capacity (counts rows move with their slots)."""
    cap = keys.shape[0] * 2
    n_keys = np.zeros(cap, np.uint64)
    n_fam = np.zeros(cap, np.int64)
    n_start = np.zeros(cap, np.int64)
    n_len = np.zeros(cap, np.int64)
    n_counts = np.zeros((cap, counts.shape[1]), np.int64)
    mask = cap - 1
    for old in range(keys.shape[0]):
        h = keys[old]
        if h == _EMPTY:
            continue
        slot = np.int64(h & np.uint64(mask))
        while n_keys[slot] != _EMPTY:
            slot = (slot + 1) & mask
        n_keys[slot], n_fam[slot], n_start[slot], n_len[slot] = h, t_fam[old], t_start[old], t_len[old]
        n_counts[slot] = counts[old]
    return n_keys, n_fam, n_start, n_len, n_counts


@nb.njit(cache=True, nogil=True)
def _count_users(labels, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data, fams, classes,
                 keys, t_fam, t_start, t_len, counts, stamp, arena, state, scratch, out):
    """Adds each labelled user's distinct tokens to counts[slot, label]. state = [used slots,
    arena bytes used, users seen]; returns the (possibly regrown) arrays."""
    for u in range(labels.shape[0]):
        label = labels[u]
        if label < 0:
            continue
        n, scratch, out = _user_tokens(u, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data,
                                       fams, classes, scratch, out)
        o_fam, o_src, o_start, o_end = out
        user = state[2]
        state[2] += 1
        if 2 * (state[0] + n) > keys.shape[0]:
            while 2 * (state[0] + n) > keys.shape[0]:
                keys, t_fam, t_start, t_len, counts = _regrow(keys, t_fam, t_start, t_len, counts, arena)
            stamp = np.full(keys.shape[0], -1, np.int64)  # slots moved; this user has none yet
        room = 0
        for t in range(n):
            room += o_end[t] - o_start[t]
        if state[1] + room > arena.shape[0]:
            grown = np.empty(2 * (state[1] + room), np.uint8)
            grown[:state[1]] = arena[:state[1]]
            arena = grown
        for t in range(n):
            src = o_src[t]
            data = bio_data if src == _SRC_BIO else (name_data if src == _SRC_NAME else cap_data)
            s, e, fam = o_start[t], o_end[t], o_fam[t]
            h = _hash(fam, data, s, e)
            slot = _find(keys, t_fam, t_start, t_len, arena, h, fam, data, s, e)
            if keys[slot] == _EMPTY:
                a = state[1]
                for p in range(e - s):
                    arena[a + p] = data[s + p]
                keys[slot], t_fam[slot], t_start[slot], t_len[slot] = h, fam, a, e - s
                stamp[slot] = -1
                state[0] += 1
                state[1] += e - s
            if stamp[slot] != user:
                stamp[slot] = user
                counts[slot, label] += 1
    return keys, t_fam, t_start, t_len, counts, stamp, arena, scratch, out


@nb.njit(cache=True, nogil=True)
def _lookup_users(n_users, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data, fams, classes,
                  keys, t_fam, t_start, t_len, values, arena, stamp, where, want_counts, scratch, out):
    """CSR (offsets, sorted distinct vocab indices, and with want_counts how often each token
    occurs in the user's texts) of every user's tokens found in the table."""
    offsets = np.zeros(n_users + 1, np.int64)
    found = np.empty(1024, np.int32)
    counts = np.empty(1024 if want_counts else 0, np.int32)
    k = 0
    for u in range(n_users):
        n, scratch, out = _user_tokens(u, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data,
                                       fams, classes, scratch, out)
        o_fam, o_src, o_start, o_end = out
        if found.shape[0] < k + n:
            grown = np.empty(2 * (k + n), np.int32)
            grown[:k] = found[:k]
            found = grown
            if want_counts:
                grown_counts = np.empty(2 * (k + n), np.int32)
                grown_counts[:k] = counts[:k]
                counts = grown_counts
        first = k
        for t in range(n):
            src = o_src[t]
            data = bio_data if src == _SRC_BIO else (name_data if src == _SRC_NAME else cap_data)
            s, e, fam = o_start[t], o_end[t], o_fam[t]
            slot = _find(keys, t_fam, t_start, t_len, arena, _hash(fam, data, s, e), fam, data, s, e)
            if keys[slot] == _EMPTY:
                continue
            if stamp[slot] != u:
                stamp[slot] = u
                found[k] = values[slot]
                if want_counts:
                    where[slot] = k
                    counts[k] = 1
                k += 1
            elif want_counts:
                counts[where[slot]] += 1
        if want_counts:
            order = np.argsort(found[first:k])
            found[first:k] = found[first:k][order]
            counts[first:k] = counts[first:k][order]
        else:
            found[first:k].sort()
        offsets[u + 1] = k
    stamp[:] = -1
    return offsets, found[:k].copy(), counts[:k].copy()


@nb.njit(cache=True, nogil=True)
def _gather(arena, starts, lengths):
    offsets = np.zeros(starts.shape[0] + 1, np.int64)
    for i in range(starts.shape[0]):
        offsets[i + 1] = offsets[i] + lengths[i]
    data = np.empty(offsets[-1], np.uint8)
    for i in range(starts.shape[0]):
        data[offsets[i]:offsets[i + 1]] = arena[starts[i]:starts[i] + lengths[i]]
    return offsets, data


# ---------------------------------------------------------------------------------------------
# Arrow in and out


def _normalised(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets, uint8 bytes) of lower-cased strings without U+FE0F; null -> ""."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    text = pc.replace_substring(pc.utf8_lower(strings), "\ufe0f", "").fill_null("").cast(pa.large_string())
    _, off_buf, data_buf = text.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    data = np.frombuffer(data_buf if data_buf is not None else b"", dtype=np.uint8)
    return offsets, data


def _empty_strings(n: int) -> pa.Array:
    return pa.array([""] * n, type=pa.string())


def texts_of(batch) -> tuple:
    """The tokeniser's inputs from an Arrow batch or table with biography, full_name and captions
    (list<string>); missing columns count as empty text."""
    n = batch.num_rows
    names = batch.schema.names
    bio = _normalised(batch.column("biography") if "biography" in names else _empty_strings(n))
    name = _normalised(batch.column("full_name") if "full_name" in names else _empty_strings(n))
    if "captions" in names:
        captions = batch.column("captions")
        if isinstance(captions, pa.ChunkedArray):
            captions = captions.combine_chunks()
        if captions.null_count:
            captions = pc.fill_null(captions, pa.scalar([], captions.type))
        list_off = np.asarray(captions.offsets, dtype=np.int64)
        flat = captions.values
        cap_off, cap_data = _normalised(flat)
    else:
        list_off = np.zeros(n + 1, np.int64)
        cap_off, cap_data = np.zeros(1, np.int64), np.frombuffer(b"", dtype=np.uint8)
    return bio[0], bio[1], name[0], name[1], list_off, cap_off, cap_data


def _scratch():
    return (np.empty(256, np.int64), np.empty(257, np.int64)), tuple(np.empty(1024, np.int64) for _ in range(4))


def _strings(arena: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
    offsets, data = _gather(arena, starts, lengths)
    return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


class TokenCounter:
    """Labelled users per (family, token, class) over any number of batches (one Spark partition)."""

    def __init__(self, families, n_classes: int, capacity: int = 1 << 16):
        self.fams = family_codes(families)
        self.classes = char_classes()
        self.n_classes = n_classes
        self.keys = np.zeros(capacity, np.uint64)
        self.t_fam = np.zeros(capacity, np.int64)
        self.t_start = np.zeros(capacity, np.int64)
        self.t_len = np.zeros(capacity, np.int64)
        self.counts = np.zeros((capacity, n_classes), np.int64)
        self.stamp = np.full(capacity, -1, np.int64)
        self.arena = np.empty(1 << 20, np.uint8)
        self.state = np.zeros(3, np.int64)
        self.scratch, self.out = _scratch()

    def add(self, batch: pa.RecordBatch, labels: np.ndarray) -> None:
        """labels: class index per row (-1 = skip the row)."""
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        if labels.max(initial=-1) >= self.n_classes:
            raise ValueError("label index out of range")
        (self.keys, self.t_fam, self.t_start, self.t_len, self.counts, self.stamp, self.arena, self.scratch,
         self.out) = _count_users(labels, *texts_of(batch), self.fams, self.classes, self.keys, self.t_fam,
                                  self.t_start, self.t_len, self.counts, self.stamp, self.arena, self.state,
                                  self.scratch, self.out)

    def result(self, class_names) -> pa.Table:
        """(family, token, label, count) for every non-zero count."""
        slots = np.flatnonzero(self.keys)
        parts = []
        for c, name in enumerate(class_names):
            rows = slots[self.counts[slots, c] > 0]
            parts.append(pa.table({
                "family": pa.array(np.array(FAMILIES, dtype=object)[self.t_fam[rows]], type=pa.string()),
                "token": _strings(self.arena, self.t_start[rows], self.t_len[rows]),
                "label": pa.array(np.full(len(rows), name, dtype=object), type=pa.string()),
                "count": pa.array(self.counts[rows, c], type=pa.int64())}))
        return pa.concat_tables(parts)


class VocabLookup:
    """Users' tokens -> sorted distinct positions in a vocab of "<family>\\t<token>" strings."""

    def __init__(self, vocab):
        self.size = len(vocab)
        families, tokens = [], []
        for feature in vocab:
            family, token = feature.split(FEATURE_SEP, 1)
            families.append(family)
            tokens.append(token)
        self.fams = family_codes(set(families))
        self.classes = char_classes()
        data = "".join(tokens).encode("utf-8")
        lengths = np.array([len(t.encode("utf-8")) for t in tokens], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(tokens) else np.zeros(0, np.int64)
        codes = np.array([FAMILIES.index(f) for f in families], dtype=np.int64)
        capacity = 1 << max(4, int(2 * max(len(tokens), 1) - 1).bit_length())
        self.arena = np.frombuffer(data, dtype=np.uint8).copy() if data else np.zeros(1, np.uint8)
        (self.keys, self.t_fam, self.t_start, self.t_len, self.values) = _build_vocab(
            capacity, codes, starts, lengths, self.arena)
        self.stamp = np.full(capacity, -1, np.int64)
        self.where = np.zeros(capacity, np.int64)
        self.scratch, self.out = _scratch()

    def csr(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, sorted distinct vocab indices) of every row: presence only."""
        return self._lookup(batch, False)[:2]

    def csr_counts(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(offsets, indices, counts): csr plus how often each token occurs in the row's texts."""
        return self._lookup(batch, True)

    def _lookup(self, batch, want_counts: bool):
        return _lookup_users(batch.num_rows, *texts_of(batch), self.fams, self.classes, self.keys, self.t_fam,
                             self.t_start, self.t_len, self.values, self.arena, self.stamp, self.where, want_counts,
                             self.scratch, self.out)


@nb.njit(cache=True)
def _build_vocab(capacity, codes, starts, lengths, arena):
    keys = np.zeros(capacity, np.uint64)
    t_fam = np.zeros(capacity, np.int64)
    t_start = np.zeros(capacity, np.int64)
    t_len = np.zeros(capacity, np.int64)
    values = np.full(capacity, -1, np.int32)
    for i in range(codes.shape[0]):
        s, e = starts[i], starts[i] + lengths[i]
        h = _hash(codes[i], arena, s, e)
        slot = _find(keys, t_fam, t_start, t_len, arena, h, codes[i], arena, s, e)
        if keys[slot] == _EMPTY:  # a repeated vocab entry keeps its first position
            keys[slot], t_fam[slot], t_start[slot], t_len[slot], values[slot] = h, codes[i], s, e - s, i
    return keys, t_fam, t_start, t_len, values


@nb.njit(cache=True)
def _all_tokens(n_users, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data, fams, classes,
                scratch, out):
    rows = [np.int64(0) for _ in range(0)]
    fam_codes, srcs, starts, ends = rows.copy(), rows.copy(), rows.copy(), rows.copy()
    for u in range(n_users):
        n, scratch, out = _user_tokens(u, bio_off, bio_data, name_off, name_data, cap_list, cap_off, cap_data,
                                       fams, classes, scratch, out)
        for t in range(n):
            rows.append(u)
            fam_codes.append(out[0][t])
            srcs.append(out[1][t])
            starts.append(out[2][t])
            ends.append(out[3][t])
    return np.array(rows), np.array(fam_codes), np.array(srcs), np.array(starts), np.array(ends)


def token_table(batch: pa.RecordBatch, families) -> pa.Table:
    """(row, family, token): each row's distinct tokens, for tests and debugging."""
    bio_off, bio_data, name_off, name_data, list_off, cap_off, cap_data = texts_of(batch)
    scratch, out = _scratch()
    rows, fams, srcs, starts, ends = _all_tokens(batch.num_rows, bio_off, bio_data, name_off, name_data, list_off,
                                                 cap_off, cap_data, family_codes(families), char_classes(), scratch, out)
    tokens = np.empty(len(rows), dtype=object)
    for src, data in ((_SRC_BIO, bio_data), (_SRC_NAME, name_data), (_SRC_CAPTION, cap_data)):
        pick = np.flatnonzero(srcs == src)
        tokens[pick] = _strings(data, starts[pick], ends[pick] - starts[pick]).to_numpy(zero_copy_only=False)
    table = pa.table({"row": pa.array(rows, pa.int64()), "family": pa.array(np.array(FAMILIES, dtype=object)[fams]),
                      "token": pa.array(tokens, pa.string())})
    return table.group_by(["row", "family", "token"]).aggregate([]).sort_by([("row", "ascending")])
