"""SealRoom server: aiohttp front, SQLAlchemy domain, pluggable adapters."""
