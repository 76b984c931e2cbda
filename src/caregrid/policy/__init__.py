"""Policy profiles: each jurisdiction's rules and targets as data, citing requirement ids."""
