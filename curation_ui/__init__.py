"""The review app (Streamlit): a thin layer over plain query and action functions."""
