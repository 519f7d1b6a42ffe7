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

    figure, axes = plt.subplots(2, 3, figsize=(15, 8))
    axes = axes.flatten()
    t, b = results["throughput"], results["baselines"]
    bars(axes[0], "Consumer throughput vs API floor", "messages/s",
         [("Shelver", *stat(t["shelver"])), ("API floor", *stat(t["floor"]))],
         target=t["target"] * t["floor"]["median"])
    bars(axes[1], f"Against the original design ({b['messages']} msgs)", "messages/s",
         [("Shelver", *stat(b["shelver"])), ("Powertools", *stat(b["powertools"])),
          ("one-at-a-time", *stat(b["listener"]))],
         target=5 * b["listener"]["median"])
    lat = results["latency"]
    bars(axes[2], "Batch latency (10 records, 10 groups)", "ms",
         [("batch", *stat(lat["batch_ms"])), ("one PutObject", *stat(lat["put_ms"])),
          ("10 PutObjects", *stat(lat["ten_puts_ms"]))],
         target=lat["target"] * lat["put_ms"]["median"])
    c = results["cold_start"]
    bars(axes[3], "Cold start to first answer", "ms",
         [("consumer", *stat(c["consumer"])), ("http", *stat(c["http"])), ("hello", *stat(c["hello"]))],
         target=c["target"] * c["hello"]["median"])
    m = results["memory"]
    target_mib = m["target_bytes"] / 1048576
    axes[4].bar(["consumer", "http"], [m["consumer_kib"] / 1024, m["http_kib"] / 1024], color="#2b6cb0")
    axes[4].axhline(target_mib, color="#c53030", linestyle="--", linewidth=1)
    axes[4].set_title(f"Peak RSS over {m['batches']} batches (target 32 MB = {target_mib:.1f} MiB)")
    axes[4].set_ylabel("MiB")
    s = results["sizes"]
    names = ["shelver-consumer", "shelver-http"]
    x = range(len(names))
    axes[5].bar([i - 0.2 for i in x], [s[n]["bootstrap"] / 1e6 for n in names], width=0.4,
                label="bootstrap", color="#a0aec0")
    axes[5].bar([i + 0.2 for i in x], [s[n]["zip"] / 1e6 for n in names], width=0.4,
                label="zip", color="#2b6cb0")
    axes[5].set_xticks(list(x), ["consumer", "http"])
    axes[5].axhline(s["target_zip"] / 1e6, color="#c53030", linestyle="--", linewidth=1)
    axes[5].set_title("arm64 release size (zip target 5 MB)")
    axes[5].set_ylabel("MB")
    axes[5].legend()
    runs = len(t["shelver"]["runs"])
    figure.suptitle(f"Shelver benchmarks: {results['machine']['cores']} cores, one LocalStack, "
                    f"medians of {runs} runs (bars: min to max); dashed red: the target")
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
