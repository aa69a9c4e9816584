"""The errors a run can stop with, each mapped to one exit code of ``cvkit``.

Scheduled runs rely on the exit code to tell a problem to fix in the config or the files
(2) from bad data in the files (3) and from a notebook that failed for another reason (1).
The runner recognises these by class name when a notebook raises them.
"""

from __future__ import annotations

__all__ = ["DataContractError", "DataQualityError", "TooLittleDataError", "EXIT_DONE",
           "EXIT_RUN_FAILED", "EXIT_BAD_CONFIG", "EXIT_BAD_DATA", "EXIT_LOCKED",
           "exit_code_for"]

EXIT_DONE = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_BAD_DATA = 3
EXIT_LOCKED = 4


class DataContractError(ValueError):
    """An input file the run cannot use at all; the message names the file and column."""


class DataQualityError(RuntimeError):
    """The data is readable but too bad to publish a report on (too many rejected rows);
    the message names the source, the count and the top reasons with an example row."""


class TooLittleDataError(DataQualityError):
    """Too few customers or repeat purchases to fit a model; the message says how many."""


def exit_code_for(error_name: str) -> int:
    """The exit code for an error raised inside a notebook, from its class name."""
    if error_name in (DataQualityError.__name__, TooLittleDataError.__name__):
        return EXIT_BAD_DATA
    if error_name in (DataContractError.__name__, "ConfigError"):
        return EXIT_BAD_CONFIG
    return EXIT_RUN_FAILED
