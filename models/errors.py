"""The registry's error, apart from the registry: the command line catches it at its entry,
and importing MLflow there would make every command (``--help`` included) wait for it."""


class RegistryError(RuntimeError):
    """The registry could not be read (unreachable, broken): not the same as no champion."""
