"""Grid planner: draw k grids over a city's areas, one lead hospital each (A1–A3), at the
least population-weighted travel cost, and prove how far from optimal the drawing is."""
