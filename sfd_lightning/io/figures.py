"""Figures drawn without a display and written as PNG files: the panels a plot starts from and how it is saved."""

from typing import Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def panels(rows: int, cols: int, size: Tuple[float, float]):
    """(figure, axes as a rows x cols array) with each panel ``size`` inches."""
    return plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)


def rate_axes(ax, xlabel: str, ylabel: str, legend_size: int = 8) -> None:
    """A panel of shares (0 to 1) against a budget: labels, the unit range with a margin, a grid and the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)


def save(fig, path: str, dpi: int = 110) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
