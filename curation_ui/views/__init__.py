"""The app's pages; each ``render()`` draws one page from plain query and action functions."""
