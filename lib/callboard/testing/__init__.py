"""testing layer of callboard (see DESIGN.md)."""
