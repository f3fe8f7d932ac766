"""oversight-lab."""
