"""The server: create_app, the wiring, serve (both processes), the link, the inbox runner."""
