"""The Streamlit web app (import ``lamworks.ui``). ``app.py`` is the entry point and router."""
