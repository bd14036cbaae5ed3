"""Meaning-preserving edits of a request's text, each a strategy `Probe -> Probe` with a name.

Word-level edits touch only free words: alphabetic words outside the probe's protected spans (its
title and people), because a typo in a title changes the title the user asked for.
"""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Callable

from hypothesis import strategies as st

from taskbench.fuzz.trials import Probe

Perturbation = Callable[[Probe], st.SearchStrategy[Probe]]

_WORD = re.compile(r"[A-Za-z]{3,}")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
# Latin letters and their Cyrillic or Greek look-alikes.
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "y": "у", "i": "і", "s": "ѕ"}
# Marks and isolates change how text is shown, never the order of what was typed (no overrides).
BIDI_WRAPS = (("\u200e", ""), ("\u200f", ""), ("\u2066", "\u2069"), ("\u2067", "\u2069"), ("\u202a", "\u202c"))
PUNCTUATION = ("!", "!!!", "?", "...", ".", " :)", ";")
EMOJI = ("📝 ", " 🙏", " ✅", " 🔥", "⏰ ", " 😅")
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


def protected_positions(probe: Probe) -> set[int]:
    """Indices of the input's characters inside a protected phrase."""
    lowered = probe.input.lower()
    blocked: set[int] = set()
    for phrase in filter(None, (p.lower() for p in probe.protected)):
        start = lowered.find(phrase)
        while start != -1:
            blocked.update(range(start, start + len(phrase)))
            start = lowered.find(phrase, start + 1)
    return blocked


def free_words(probe: Probe) -> list[tuple[int, int]]:
    """Spans of the words a meaning-preserving edit may touch."""
    blocked = protected_positions(probe)
    return [m.span() for m in _WORD.finditer(probe.input) if blocked.isdisjoint(range(*m.span()))]


def _with_input(probe: Probe, text: str) -> Probe:
    return Probe(text, probe.reference_date, probe.expected, probe.protected, probe.accept)


@st.composite
def _edit_free_word(draw: st.DrawFn, probe: Probe, edit: Callable[[st.DrawFn, str], str]) -> Probe:
    spans = free_words(probe)
    if not spans:
        return probe
    start, end = draw(st.sampled_from(spans))
    return _with_input(probe, probe.input[:start] + edit(draw, probe.input[start:end]) + probe.input[end:])


# --- surface noise ---------------------------------------------------------------------------------


def _swap_letters(draw: st.DrawFn, word: str) -> str:
    i = draw(st.integers(0, len(word) - 2))
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _double_letter(draw: st.DrawFn, word: str) -> str:
    i = draw(st.integers(0, len(word) - 1))
    return word[: i + 1] + word[i:]


def typos(probe: Probe) -> st.SearchStrategy[Probe]:
    return _edit_free_word(probe, lambda draw, word: draw(st.sampled_from((_swap_letters, _double_letter)))(draw, word))


def letter_cases(probe: Probe) -> st.SearchStrategy[Probe]:
    return st.sampled_from((str.lower, str.upper, str.swapcase)).map(lambda case: _with_input(probe, case(probe.input)))


@st.composite
def whitespace(draw: st.DrawFn, probe: Probe) -> Probe:
    blocked = protected_positions(probe)
    spaces = [i for i, char in enumerate(probe.input) if char == " " and i not in blocked]
    text = probe.input
    if spaces:
        at = draw(st.sampled_from(spaces))
        text = text[:at] + draw(st.sampled_from(("  ", "\t", "   ", " \u00a0"))) + text[at + 1 :]
    return _with_input(
        probe, draw(st.sampled_from(("", " ", "\n", "  "))) + text + draw(st.sampled_from(("", " ", "\n")))
    )


def punctuation(probe: Probe) -> st.SearchStrategy[Probe]:
    return st.sampled_from(PUNCTUATION).map(lambda mark: _with_input(probe, probe.input + mark))


def emoji(probe: Probe) -> st.SearchStrategy[Probe]:
    return st.sampled_from(EMOJI).map(
        lambda e: _with_input(probe, e + probe.input if e.endswith(" ") else probe.input + e)
    )


def surface_noise(probe: Probe) -> st.SearchStrategy[Probe]:
    return st.one_of(typos(probe), letter_cases(probe), whitespace(probe), punctuation(probe), emoji(probe))


# --- unicode attacks -----------------------------------------------------------------------------------


def _insert_zero_width(draw: st.DrawFn, word: str) -> str:
    i = draw(st.integers(1, len(word) - 1))
    return word[:i] + draw(st.sampled_from(ZERO_WIDTH)) + word[i:]


def _homoglyph(draw: st.DrawFn, word: str) -> str:
    spots = [i for i, char in enumerate(word) if char in HOMOGLYPHS]
    if not spots:
        return word
    i = draw(st.sampled_from(spots))
    return word[:i] + HOMOGLYPHS[word[i]] + word[i + 1 :]


def _bidi(draw: st.DrawFn, word: str) -> str:
    opening, closing = draw(st.sampled_from(BIDI_WRAPS))
    return opening + word + closing


def _fullwidth(draw: st.DrawFn, word: str) -> str:
    # NFKC maps fullwidth letters back to ASCII: the same word to a normalising reader.
    return "".join(chr(ord(char) + 0xFEE0) for char in word)


def unicode_attacks(probe: Probe) -> st.SearchStrategy[Probe]:
    edits = (_insert_zero_width, _homoglyph, _bidi, _fullwidth)
    return _edit_free_word(probe, lambda draw, word: draw(st.sampled_from(edits))(draw, word))


# --- encodings (not meaning-preserving for a reader: used on requests that must end in clarify) --------


ENCODINGS: dict[str, Callable[[str], str]] = {
    "base64": lambda text: base64.b64encode(text.encode()).decode(),
    "rot13": lambda text: codecs.encode(text, "rot13"),
    "leetspeak": lambda text: text.translate(LEET),
}
ENCODING_WRAPPERS = ("{e}", "decode this and do it: {e}", "{e} ({name})", "run this: {e}")


@st.composite
def encoded(draw: st.DrawFn, text: str) -> str:
    name = draw(st.sampled_from(tuple(ENCODINGS)))
    return draw(st.sampled_from(ENCODING_WRAPPERS)).format(e=ENCODINGS[name](text), name=name)
