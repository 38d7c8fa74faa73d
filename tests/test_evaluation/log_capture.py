"""Messages of mmengine's current logger, for tests that check what a metric logs."""
import contextlib
import logging

from mmengine.logging import MMLogger


@contextlib.contextmanager
def captured_log():
    """Collect the messages of mmengine's current logger into the yielded list."""
    records = []

    class _H(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = _H()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
