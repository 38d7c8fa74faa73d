"""A BERT WordPiece vocabulary covering every synthetic expression.

Whole words only (no ``##`` pieces are needed since the lexicon is closed), so
``BertTokenizer(vocab_file)`` maps every expression without [UNK], offline.

No paper part; docs/synthetic_data.md, section "What is written" (``vocab.txt``).
"""
import string
from typing import List

from .expressions import basic_tokens
from .lexicon import all_phrases

SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')


def vocab_words() -> List[str]:
    """Lower-case words of the lexicon (+ digits), sorted."""
    words = set(string.digits)
    for phrase in all_phrases():
        words.update(t for t in basic_tokens(phrase) if t.isalnum())
    return sorted(words)


def vocab_tokens() -> List[str]:
    """The vocabulary in file order: special tokens, words, punctuation."""
    return list(SPECIAL_TOKENS) + vocab_words() + list(string.punctuation)


def write_vocab(path: str) -> int:
    """Write ``vocab.txt`` (one token a line); returns the vocabulary size."""
    toks = vocab_tokens()
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(toks) + '\n')
    return len(toks)
