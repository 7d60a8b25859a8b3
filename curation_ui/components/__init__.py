"""Custom Streamlit components of the review app (hand-written HTML/JS, served locally)."""
