"""The export stage: training-ready datasets with honest splits, a manifest and a card.

Entry point: :func:`exporter.stage.export`.
"""
