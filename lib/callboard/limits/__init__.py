"""limits layer of callboard (see DESIGN.md)."""
