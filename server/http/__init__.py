"""aiohttp adapters: they validate input, call the domain, map its errors."""
