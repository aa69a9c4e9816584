"""Customer Value Kit helpers: one module per stage of the analysis.

config       the run's YAML, validated           warehouse   the run's DuckDB file
sources      loading files, the data contract    identify    one customer database (01)
differentiate current value, RFMT, equity (02)   clv         BG/NBD + Gamma-Gamma CLV (03)
segment      value tiers and actions (04)        report      summary, charts, exports (05)
runner       Papermill run of 01→05              cli         the `cvkit` command
demo_data    the synthetic multi-source client
"""

__version__ = "0.1.0"
