"""The funnel page's trend chart as plain geometry: the template draws it as SVG, server-side.

Why geometry in Python: the page must read at a glance with no script from elsewhere (the CSP allows
none), and scaling, ticks and labels are easier to get right — and to test — here than in Jinja.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.admin.present import duration

WIDTH, HEIGHT = 900, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 34  # room for the axis labels and the legend
STEP_ROW, STEP_LABEL_W, STEP_BAR_W = 26, 300, 480


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str


@dataclass
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class TrendChart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[float] = field(default_factory=list)  # y positions
    total_started: int = 0
    total_finished: int = 0


@dataclass
class StepTimes:
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5, 10, 20, 50, ...)."""
    top = 1
    while True:
        for m in (1, 2, 5):
            if m * top >= value:
                return m * top
        top *= 10


def daily(data: dict[str, Any]) -> TrendChart:
    """Registrations started (blue) and finished (green) per day, side by side."""
    days, started, finished = data["days"], data["started"], data["finished"]
    top = nice_max(max([*started, *finished, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bar_w = max(1.0, slot * 0.38)
    chart = TrendChart(WIDTH, HEIGHT, total_started=sum(started), total_finished=sum(finished))
    for tick in (0, top / 2, top):
        y = TOP + plot_h - tick / top * plot_h
        chart.gridlines.append(round(y, 1))
        chart.labels.append(Label(LEFT - 6, round(y + 4, 1), f"{tick:g}", "end"))
    for i, day in enumerate(days):
        x = LEFT + i * slot + slot * 0.1
        for offset, value, cls, what in ((0.0, started[i], "started", "started"),
                                         (bar_w, finished[i], "finished", "finished")):
            h = value / top * plot_h
            chart.bars.append(Bar(round(x + offset, 1), round(TOP + plot_h - h, 1), round(bar_w, 1), round(h, 1),
                                  cls, f"{day}: {value} {what}"))
        if i % 5 == 0 or i == len(days) - 1:
            chart.labels.append(Label(round(x + bar_w, 1), HEIGHT - BOTTOM + 16, day[5:]))
    return chart


def step_times(medians: dict[int, float | None], titles: dict[int, str]) -> StepTimes:
    """The median time a step took, one bar per step (over completions in the same window)."""
    known = [v for v in medians.values() if v]  # 0 s is a real median (a step done at once), None is no data
    top = max(known) if known else 1.0
    chart = StepTimes(STEP_ROW * len(medians) + 8)
    for i, (step, value) in enumerate(sorted(medians.items())):
        y = i * STEP_ROW + 4
        chart.labels.append(Label(0, y + 17, f"{step}. {titles.get(step, '')}", "start"))
        w = (value / top * STEP_BAR_W) if value else 0.0  # a 0 s median draws no bar but says "0 s"
        chart.bars.append(Bar(STEP_LABEL_W, y + 4, round(w, 1), STEP_ROW - 8, "steptime",
                              f"step {step}: median {duration(value)}"))
        said = duration(value) if value is not None else "no data"
        chart.labels.append(Label(round(STEP_LABEL_W + w + 8, 1), y + 17, said, "start"))
    return chart
