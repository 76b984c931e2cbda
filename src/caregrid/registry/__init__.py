"""Registry: cities, divisions, grids, networks, institutions, memberships, departments, practitioners."""
