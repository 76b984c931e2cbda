"""Registry: cities, grids, networks, institutions, memberships, departments, practitioners."""
