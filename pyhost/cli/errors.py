"""What every command shares about failing: exit codes and the refusal exception."""

EXIT_OK, EXIT_FAILURE, EXIT_REFUSED = 0, 1, 2


class CommandError(Exception):
    """A refused operation or bad input: printed as one sentence, exit status 2."""
