"""Host services behind the ABI tables (DCConfig, DCLog, DCUtils, ...)."""
