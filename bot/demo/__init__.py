"""The demo: the emulator and the bot together, the terminal chat and its rendering."""
