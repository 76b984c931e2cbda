"""The synthetic city: a year of activity facts from a layout and published rates."""
