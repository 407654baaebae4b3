"""The wheel carries the console's page and the shipped renderer, not only Python files."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

from bot.demo.console import STATIC

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_every_file_the_page_loads(tmp_path: Path) -> None:
    page = (STATIC / "index.html").read_text()
    loaded = [*re.findall(r'(?:src|href)="/static/([^"]+)"', page), "hostconfig.json"]
    for script in STATIC.glob("*.js"):  # the page's modules import each other
        loaded += re.findall(r'from "\./([^"]+)"', script.read_text())
    assert "page.js" in loaded
    assert "vendor/adaptivecards/adaptivecards.min.js" in loaded
    wheel = next(iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path))))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in [*loaded, "vendor/adaptivecards/LICENSE", "vendor/adaptivecards/LICENSE-swiper"]:
        assert f"bot/demo/static/{name}" in names
