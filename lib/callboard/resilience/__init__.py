"""resilience layer of callboard (see DESIGN.md)."""
