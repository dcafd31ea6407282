class SearchIndexError(Exception):
    """The search index is unusable; the message says what to do."""
