"""Migration scripts, one revision a file."""
