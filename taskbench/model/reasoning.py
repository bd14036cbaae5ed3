"""--reasoning: a reasoning model's thinking taken out of its answer before scoring, and kept.

Reasoning arrives two ways. A server started with a --reasoning-parser returns it apart, as the message's
`reasoning_content` (or `reasoning`): the content is then the answer alone, whatever the mode. Without a
parser it is written into the content as a leading <think>…</think> block. The modes:

- auto (default): a block that opens at the very start of the content is reasoning.
- strip: also everything before a closing </think> that has no opening tag: chat templates of some
  reasoning models (DeepSeek-R1's distillations, Qwen3's thinking mode) open the block in the prompt, so the
  model writes only its end.
- off: the content is scored as it is.

A block that never closes leaves no answer: the model was still thinking when it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

REASONING_MODES = ("auto", "strip", "off")
OPEN = "<think>"
CLOSE = "</think>"


@dataclass(frozen=True)
class Split:
    answer: str
    reasoning: str | None  # None when the text held no reasoning


def split_reasoning(text: str, mode: str) -> Split:
    """The answer part of `text` and the reasoning taken out of it."""
    if mode == "off":
        return Split(text, None)
    body = text.lstrip()
    if body.startswith(OPEN):
        thought, closed, answer = body[len(OPEN) :].partition(CLOSE)
        return Split(answer.strip() if closed else "", thought.strip())
    if mode == "strip" and CLOSE in text:
        thought, _, answer = text.partition(CLOSE)
        return Split(answer.strip(), thought.strip())
    return Split(text, None)
