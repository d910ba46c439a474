"""actors layer of callboard (see DESIGN.md)."""
