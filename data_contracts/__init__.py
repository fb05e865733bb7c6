"""The input tables' contracts (pandera), validated before anything reads a row."""

import warnings

# pandera imports PySpark's pandas API when PySpark is installed (the `spark` extra), and
# that API warns on import that it does not yet support pandas 3. Nothing here uses it; the
# warning would be printed by every process that validates a table (the command line,
# scoring's workers, the API). Set before any module of this package imports pandera.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
