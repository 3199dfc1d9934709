"""A plugin that fails while being imported."""

raise RuntimeError("this plugin cannot be imported")
