"""`taskbench dataset generate | stats | check`: regenerate, count and check the shipped cases."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from taskbench.data.capabilities import LEVELS, load_capability_config
from taskbench.data.cases import Dataset, load_tier
from taskbench.data.episodes import EPISODES_PATH, load_episodes
from taskbench.datagen.catalog import template_table
from taskbench.datagen.content import content_stats, content_table, most_repeated
from taskbench.datagen.episodes import build_episodes, check_episode_mix, write_episodes
from taskbench.datagen.tiers import DEFAULT_SEED, check_dataset, generate, load_training_split, write_dataset
from taskbench.errors import DataError
from taskbench.paths import FIXTURES, TIERS


def register(subparsers: Any) -> None:
    dataset = subparsers.add_parser("dataset", help="generate, count and check the benchmark's cases")
    commands = dataset.add_subparsers(dest="dataset_command", required=True, metavar="SUBCOMMAND")

    generate_parser = commands.add_parser("generate", help="regenerate the tiers, the training split and the episodes")
    generate_parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
    generate_parser.add_argument(
        "--out", type=Path, default=FIXTURES, help="root to write tiers/ train/ episodes/ under"
    )
    generate_parser.set_defaults(run=run_generate)

    stats_parser = commands.add_parser("stats", help="cases per capability x level of each tier")
    stats_parser.add_argument("tiers", nargs="*", metavar="TIER", help=f"any of {', '.join(TIERS)}; default: all")
    stats_parser.set_defaults(run=run_stats)

    content_parser = commands.add_parser(
        "content", help="templates per capability x level, distinct requests and clusters of each tier"
    )
    content_parser.add_argument("tiers", nargs="*", metavar="TIER", help=f"any of {', '.join(TIERS)}; default: all")
    content_parser.set_defaults(run=run_content)

    templates_parser = commands.add_parser(
        "templates", help="every template of the tiers, its level and what earns it (the table in docs/cases.md)"
    )
    templates_parser.set_defaults(run=run_templates)

    check_parser = commands.add_parser("check", help="check nesting, mix, coverage, disjointness, episodes")
    check_parser.set_defaults(run=run_check)


def run_generate(args: argparse.Namespace) -> int:
    dataset = generate(args.seed)
    for name, path in write_dataset(dataset, args.out).items():
        count = len(dataset.training) if name == "train" else len(dataset.tiers[name])
        print(f"{name:>5}: {count:5d} cases -> {path}")
    episodes = build_episodes(args.seed)
    print(f"episodes: {len(episodes)} episodes -> {write_episodes(episodes, args.out)}")
    return 0


def _chosen_tiers(names: list[str]) -> list[str]:
    unknown = [tier for tier in names if tier not in TIERS]
    if unknown:
        raise DataError(", ".join(unknown), f"no such tier (the tiers are {', '.join(TIERS)})")
    return names or list(TIERS)


def run_stats(args: argparse.Namespace) -> int:
    config = load_capability_config()
    for tier in _chosen_tiers(args.tiers):
        print(stats_table(load_tier(tier, config), config.names))
        print()
    return 0


def run_content(args: argparse.Namespace) -> int:
    config = load_capability_config()
    for tier in _chosen_tiers(args.tiers):
        data = load_tier(tier, config)
        print(content_table(content_stats(data), config.names))
        repeated = most_repeated(data.cases)
        if repeated:
            print("most repeated requests: " + "; ".join(f"{text!r} x{n}" for text, n in repeated))
        print()
    return 0


def stats_table(data: Dataset, capabilities: tuple[str, ...]) -> str:
    counts = Counter((case.capability, case.level) for case in data.cases)
    width = max(len(name) for name in (*capabilities, "total"))
    header = f"{data.path.name:<{width}} " + " ".join(f"{level:>11}" for level in LEVELS) + f" {'total':>7}"
    lines = [header, "-" * len(header)]
    for capability in capabilities:
        row = [counts[capability, level] for level in LEVELS]
        lines.append(f"{capability:<{width}} " + " ".join(f"{n:>11}" for n in row) + f" {sum(row):>7}")
    totals = [sum(counts[c, level] for c in capabilities) for level in LEVELS]
    lines.append(f"{'total':<{width}} " + " ".join(f"{n:>11}" for n in totals) + f" {sum(totals):>7}")
    return "\n".join(lines)


def run_templates(args: argparse.Namespace) -> int:
    print(template_table())
    return 0


def run_check(args: argparse.Namespace) -> int:
    config = load_capability_config()
    tiers = {tier: load_tier(tier, config) for tier in TIERS}
    training = load_training_split(config=config)
    episodes = load_episodes(EPISODES_PATH, config)
    problems = [*check_dataset(tiers, training, config), *check_episode_mix(episodes, config)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"dataset check: {len(problems)} problem(s)")
        return 1
    sizes = ", ".join(f"{tier} {len(data.cases)}" for tier, data in tiers.items())
    print(f"dataset check: ok ({sizes}, train {len(training.cases)}, episodes {len(episodes.episodes)})")
    return 0
