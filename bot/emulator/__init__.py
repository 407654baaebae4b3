"""A Webex REST API emulator for tests, the local demo and benchmarks."""

from bot.emulator.app import Emulator
from bot.emulator.delivery import Delivery, sign
from bot.emulator.errors import ApiError
from bot.emulator.faults import Fault, Faults
from bot.emulator.pipeline import RecordedRequest
from bot.emulator.seed import Seed, SeedPerson
from bot.emulator.server import running_emulator

__all__ = [
    "ApiError",
    "Delivery",
    "Emulator",
    "Fault",
    "Faults",
    "RecordedRequest",
    "Seed",
    "SeedPerson",
    "running_emulator",
    "sign",
]
