"""Result tables (CSV) and figures (PNG) for every table and figure of the paper."""
