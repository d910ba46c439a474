"""services layer of callboard (see DESIGN.md)."""
