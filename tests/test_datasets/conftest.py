"""Fixtures of the dataset tests (builders live in recs_data_builders.py)."""
import logging

import pytest
from mmengine.logging import MMLogger


class _ListHandler(logging.Handler):

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def warnings_log():
    """Collect WARNING records sent through mmengine's current MMLogger."""
    logger = MMLogger.get_current_instance()
    handler = _ListHandler()
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
