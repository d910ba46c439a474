"""providers layer of callboard (see DESIGN.md)."""
