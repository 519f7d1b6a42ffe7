"""Draws BENCHMARKS.png from the benchmark results (results.json)."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def bars(axis, title, unit, entries, target=None):
    labels = [label for label, _, _, _ in entries]
    medians = [median for _, median, _, _ in entries]
    errors = [[m - low for _, m, low, _ in entries], [high - m for _, m, _, high in entries]]
    axis.bar(labels, medians, yerr=errors, capsize=4, color=["#2b6cb0", "#718096", "#a0aec0", "#cbd5e0"][: len(labels)])
    axis.set_title(title)
    axis.set_ylabel(unit)
    if target is not None:
        axis.axhline(target, color="#c53030", linestyle="--", linewidth=1)
    for index, (value, (_, _, _, high)) in enumerate(zip(medians, entries)):
        label = f"{value:.0f}" if value >= 20 else f"{value:.1f}"
        axis.annotate(label, (index, high), xytext=(0, 3), textcoords="offset points",
                      ha="center", va="bottom", fontsize=8)


def main() -> None:
    results = json.load(open(sys.argv[1]))
    stat = lambda s: (s["median"], s["min"], s["max"])  # noqa: E731

    figure, axes = plt.subplots(1, 4, figsize=(16, 4))
    t, b = results["throughput"], results["baselines"]
    bars(axes[0], "Consumer throughput vs API floor", "messages/s",
         [("Shelver", *stat(t["shelver"])), ("API floor", *stat(t["floor"]))])
    bars(axes[1], f"Against the original design ({b['messages']} msgs)", "messages/s",
         [("Shelver", *stat(b["shelver"])), ("Powertools", *stat(b["powertools"])),
          ("one-at-a-time", *stat(b["listener"]))])
    c = results["cold_start"]
    bars(axes[2], "Cold start to first answer", "ms",
         [("consumer", *stat(c["consumer"])), ("http", *stat(c["http"])), ("hello", *stat(c["hello"]))])
    m = results["memory"]
    axes[3].bar(["consumer", "http"], [m["consumer_kib"] / 1024, m["http_kib"] / 1024], color="#2b6cb0")
    axes[3].axhline(32, color="#c53030", linestyle="--", linewidth=1)
    axes[3].set_title("Peak RSS over 100 batches (target 32 MB)")
    axes[3].set_ylabel("MiB")
    figure.suptitle(f"Shelver benchmarks, {results['machine']['cores']} cores, one LocalStack, one run")
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
