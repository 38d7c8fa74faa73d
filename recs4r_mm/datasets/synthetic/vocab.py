"""A BERT WordPiece vocabulary covering every synthetic expression.

Whole words only (no ``##`` pieces are needed since the lexicon is closed), so
``BertTokenizer(vocab_file)`` maps every expression without [UNK], offline.
The generalized set (no-target and multi-target expressions) adds its group words to
the classic ones; the classic vocabulary is unchanged.

No paper part; docs/synthetic_data.md, sections "What is written" (``vocab.txt``) and
"Generalized set (no-target and multi-target)".
"""
import string
from typing import List

from .expressions import basic_tokens
from .lexicon import all_phrases, group_phrases

SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')


def vocab_words(generalized: bool = False) -> List[str]:
    """Lower-case words of the lexicon (+ digits), sorted; ``generalized`` adds the words
    of group expressions."""
    words = set(string.digits)
    phrases = all_phrases() + (group_phrases() if generalized else [])
    for phrase in phrases:
        words.update(t for t in basic_tokens(phrase) if t.isalnum())
    return sorted(words)


def vocab_tokens(generalized: bool = False) -> List[str]:
    """The vocabulary in file order: special tokens, words, punctuation."""
    return list(SPECIAL_TOKENS) + vocab_words(generalized) + list(string.punctuation)


def write_vocab(path: str, generalized: bool = False) -> int:
    """Write ``vocab.txt`` (one token a line); returns the vocabulary size."""
    toks = vocab_tokens(generalized)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(toks) + '\n')
    return len(toks)
