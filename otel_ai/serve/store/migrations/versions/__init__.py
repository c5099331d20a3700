"""Store schema revisions, oldest first."""
