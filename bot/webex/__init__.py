"""Webex clients: the aiohttp client, admin tokens, the SDK gateway, telephony, retries, roles."""
