"""Customer Value Kit helpers: one module per stage of the analysis.

config        the run's YAML, validated; the kit's paths
tables        the table contract: every warehouse table, its writer and columns
warehouse     the run's DuckDB file; runs the static queries of sql/ (one file per table)
sources       loading files, the data contract   identify    one customer database (01)
differentiate current value, RFMT, equity (02)   clv         BG/NBD + Gamma-Gamma CLV (03)
segment       value tiers and actions (04)       report      summary and exports (05)
display       theme, table style and charts, for every notebook
runner        Papermill run of 01→05             cli         the `cvkit` command
demo_data     the synthetic multi-source client (a subpackage)
"""

__version__ = "0.1.0"
