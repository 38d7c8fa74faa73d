"""Old option names fail with a message naming the new one (no paper part; docs/design.md §7)."""
from typing import Dict, Iterable


def reject_moved_options(where: str, given: Iterable[str], moved: Dict[str, str],
                         unknown_is_error: bool = False) -> None:
    """Raise when ``given`` (option names a config passed) holds a name of ``moved`` (old name
    -> where it went).

    Raises:
        ValueError: ``'<where>: <old> moved to <new>; ...'`` for every moved name given.
        TypeError: with ``unknown_is_error``, for any other name given (what ``**kwargs``
            catching the moved names would otherwise swallow).
    """
    given = set(given)
    old = sorted(given & set(moved))
    if old:
        raise ValueError(f'{where}: ' + '; '.join(f'{k} moved to {moved[k]}' for k in old))
    if unknown_is_error and given:
        raise TypeError(f'{where}: unexpected arguments {sorted(given)}')
