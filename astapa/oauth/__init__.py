"""OAuth 2.0 protocol rules, named after their RFCs; no aiohttp import here."""
