"""Widget tests draw numpy arrays only: no torch, no engine."""
