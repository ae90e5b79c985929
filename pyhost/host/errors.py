"""The host's refusal: one exception class every host module raises for "this plugin (or
file) cannot be opened, loaded or changed", with a one-sentence message."""


class PluginError(Exception):
    """A plugin could not be opened, loaded or changed; the message is one sentence."""
