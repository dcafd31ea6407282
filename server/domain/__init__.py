"""The server's domain: accounts, rooms, members and envelopes.

Nothing here imports aiohttp. Every function takes an ``AsyncSession`` and,
where time matters, ``now``, so tests are deterministic.
"""
