"""What every command shares: the console and the exit codes."""

from rich.console import Console

console = Console()

#: Exit codes: 1 nothing to do, 2 bad input, 3 the model registry could not be read.
BAD_INPUT = 2
REGISTRY_UNREADABLE = 3
