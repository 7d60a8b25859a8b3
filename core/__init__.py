"""What every stage shares: the stage contract, the CLI helpers, decoding, the
content-addressed store, report tables, the one-line error and the executor.

Nothing here imports a stage or the catalog: every other package may import core.
"""
