"""aiohttp handlers per surface: parse, call, render."""
