"""The load harness: the bot and the Webex emulator as separate processes, measured."""
